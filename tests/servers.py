"""PostgreSQL and Redis servers of a test's (or a benchmark's) own: child processes on free
ports that the caller may SIGKILL by PID and start again on the same data and port, to inject
the faults of docs/operations.md ("Faults: what survives what").

Plain classes, no pytest: ``tests/reliability/conftest.py`` wraps them in fixtures (with the
skip of ``tests.services`` when a binary is missing) and ``bench/bench_faults.py`` uses them.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import redis

from tests.jobs.live import free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
POSTGRES_BIN = Path(os.environ.get("TIMESIDE_TEST_POSTGRES_BIN", "/usr/lib/postgresql/15/bin"))
#: PostgreSQL refuses to run as root; its files and process belong to this user.
POSTGRES_USER = "postgres"
DATABASE = "timeside"
START_TIMEOUT_S = 30.0
#: A test cluster needs no durability: a SIGKILL of the postmaster still exercises the crash
#: recovery of the WAL, only the OS is trusted not to lose written pages.
FAST = ("fsync=off", "synchronous_commit=off", "full_page_writes=off", "max_connections=200")


class RedisServer:
    """``redis-server`` as a child process, without persistence (a restart loses every message,
    as in production without AOF)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = [REDIS_SERVER, "--port", str(self.port), "--save", "", "--appendonly", "no"]
        args += ["--daemonize", "no", "--dir", str(self.workdir)]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)
        _poll(client.ping, redis.ConnectionError, "redis-server")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def postgres_missing() -> str | None:
    """Why a PostgreSQL of one's own cannot run here, or None."""
    for binary in ("initdb", "postgres"):
        if not os.access(POSTGRES_BIN / binary, os.X_OK):
            return f"{POSTGRES_BIN / binary} is not installed"
    try:
        import pwd

        pwd.getpwnam(POSTGRES_USER)
    except KeyError:
        return f"there is no {POSTGRES_USER!r} user to run PostgreSQL as"
    return None


def _as_postgres() -> dict[str, object]:
    """Popen arguments running the child as the postgres user when we are root."""
    if os.geteuid() != 0:
        return {}
    return {"user": POSTGRES_USER, "group": POSTGRES_USER, "extra_groups": []}


def _owned_dir(prefix: str) -> Path:
    """A fresh directory under the system's temp dir that the postgres user owns (a pytest
    tmp_path sits under root's private directory, which postgres cannot enter)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    if os.geteuid() == 0:
        shutil.chown(path, POSTGRES_USER, POSTGRES_USER)
    return path


def init_cluster(prefix: str = "timeside-pgtemplate-") -> Path:
    """``initdb`` into a new directory (trust auth, user postgres); its path. Copy it with
    :meth:`PostgresServer.from_template` rather than running initdb again (about 1 s each)."""
    root = _owned_dir(prefix)
    data = root / "data"
    args = [str(POSTGRES_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]
    subprocess.run(
        [*args, "--no-sync", "-E", "UTF8", "--locale", "C.UTF-8"],
        check=True,
        stdout=subprocess.DEVNULL,
        **_as_postgres(),  # type: ignore[arg-type]
    )
    return root


class PostgresServer:
    """A PostgreSQL cluster in a directory of its own, on its own port (TCP on 127.0.0.1, its
    unix socket in that directory): started, SIGKILLed by the postmaster's PID and started
    again on the same data and port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def from_template(cls, template: Path) -> PostgresServer:
        """A copy of a stopped cluster (ownership kept): a cluster in milliseconds."""
        root = _owned_dir("timeside-pg-")
        subprocess.run(["cp", "-a", str(template / "data"), str(root / "data")], check=True)
        return cls(root)

    @property
    def pid(self) -> int:
        """The postmaster's PID."""
        assert self.process is not None
        return self.process.pid

    def url(self, database: str = DATABASE) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        """Start the postmaster; returns once it accepts connections. After a SIGKILL its old
        backends may still hold the shared memory for a moment: it is tried until they left."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            self.process = self._spawn()
            try:
                self._wait_ready(deadline)
                return
            except ChildProcessError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def _spawn(self) -> subprocess.Popen[bytes]:
        args = [str(POSTGRES_BIN / "postgres"), "-D", str(self.root / "data")]
        args += ["-p", str(self.port), "-k", str(self.root), "-c", "listen_addresses=127.0.0.1"]
        for setting in FAST:
            args += ["-c", setting]
        with open(self.root / "postgres.log", "ab") as log:
            return subprocess.Popen(
                args,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                **_as_postgres(),  # type: ignore[arg-type]
            )

    def _wait_ready(self, deadline: float) -> None:
        assert self.process is not None
        while True:
            if self.process.poll() is not None:
                raise ChildProcessError(f"postgres exited with {self.process.returncode}")
            try:
                psycopg.connect(self._dsn("postgres"), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _dsn(self, database: str) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres dbname={database}"

    def create_database(self, name: str = DATABASE) -> str:
        with psycopg.connect(self._dsn("postgres"), autocommit=True) as connection:
            connection.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def kill(self) -> None:
        """SIGKILL the postmaster alone (its backends notice and exit on their own)."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def shutdown(self) -> None:
        """Fast shutdown (SIGINT): a clean stop, the directory kept."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def stop(self) -> None:
        """Shut down, and the directory goes."""
        self.shutdown()
        shutil.rmtree(self.root, ignore_errors=True)


def _poll(check: Callable[[], object], error: type[Exception], what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            check()
            return
        except error:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what} not ready after {START_TIMEOUT_S} s") from None
            time.sleep(0.05)
