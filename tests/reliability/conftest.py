"""Fault fixtures: a Redis server of the test's own, on its own port, that the test may kill
and restart (without persistence: a restart loses every message, as in production without
AOF), and the jobs runtime of tests/jobs on it."""

from __future__ import annotations

import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy.engine import Engine

from tests.jobs.conftest import data_dir, runtime, settings  # noqa: F401 - shared fixtures
from tests.jobs.live import free_port
from tests.services import unavailable
from timeside_gql.jobs.broker import build_broker, set_broker
from timeside_gql.jobs.config import configure
from timeside_gql.jobs.events import EventBus, set_bus
from timeside_gql.settings import Settings, get_settings

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


class RedisServer:
    """``redis-server`` as a child process: started, SIGKILLed and restarted by the test."""

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
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    if not Path(REDIS_SERVER).exists():
        unavailable("redis-server is not installed", "apt-get install redis-server")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.kill()


@pytest.fixture
def redis_settings(
    settings: Settings,  # noqa: F811
    redis_server: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Settings]:
    monkeypatch.setenv("TIMESIDE_REDIS_URL", redis_server.url)
    monkeypatch.setenv("TIMESIDE_REDIS_NAMESPACE", f"test-{secrets.token_hex(4)}")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture
def redis_runtime(redis_settings: Settings, engine: Engine) -> Iterator[Settings]:
    """Jobs of this process on the test's Redis broker; nothing consumes the queues."""
    configure(redis_settings, engine)
    set_bus(EventBus())
    broker = set_broker(build_broker(redis_settings))
    from timeside_gql.jobs import actors  # noqa: F401 - declares the actors

    yield redis_settings
    broker.close()
    set_broker(build_broker(redis_settings.model_copy(update={"redis_url": None})))
