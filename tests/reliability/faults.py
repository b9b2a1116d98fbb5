"""A deployment under faults: own PostgreSQL and Redis (``tests/servers.py``), real ``serve``
and ``worker`` processes (``tests/jobs/live.py``), and what the fault tests and
``bench/bench_faults.py`` read of its rows while they kill its processes. No pytest here."""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import select

from tests.jobs.live import Deployment, graphql, instance_env, wait_until
from tests.jobs.world import World, build_world
from tests.servers import PostgresServer, RedisServer
from timeside_gql.core import samples
from timeside_gql.db.engine import create_engine, session_scope
from timeside_gql.db.models import Job, JobStatus, Task, TaskStatus

RUN = "mutation($id: UUID!) { runTask(id: $id) { __typename ... on Task { status } } }"
CANCEL = "mutation($id: UUID!) { cancelTask(id: $id) { __typename ... on Task { status } } }"
#: A preset computing about 0.1 s per second of audio here: 60 s of audio, a job killed or
#: cancelled mid-way.
SLOW = ("essentia_dissonance",)
_OWNER = re.compile(r"^\.[a-z]+-[^-]+\.(\d+)-")


@dataclass
class Stack:
    live: Deployment
    postgres: PostgresServer
    redis: RedisServer
    engine: Engine
    data_dir: Path

    @classmethod
    def build(
        cls, postgres: PostgresServer, redis: RedisServer, folder: Path, env: dict[str, str]
    ) -> Stack:
        """Processes to start on these servers, with ``env`` added to their environment; logs
        and the data dir in ``folder``."""
        data_dir = folder / "data"
        data_dir.mkdir()
        base = instance_env(data_dir, postgres.url()) | {"TIMESIDE_REDIS_URL": redis.url}
        live = Deployment(env=base | env, logs=folder)
        return cls(live, postgres, redis, create_engine(postgres.url()), data_dir)

    def start(self, workers: int = 1) -> tuple[str, list[subprocess.Popen[bytes]]]:
        """The server and ``workers`` workers, started together; (the server's URL, workers)."""
        starting = self.live.spawn_workers(workers)
        url = self.live.serve()
        return url, self.live.ready(starting)

    def close(self) -> None:
        """SIGKILL every process (what they leave is thrown away with the data dir)."""
        for process in self.live.processes:
            if process.poll() is None:
                self.live.kill(process)
        self.engine.dispose()

    def world(self, **kwargs: Any) -> World:
        return build_world(self.engine, self.data_dir, failing=False, **kwargs)

    def rows(self, model: type[Any]) -> list[Any]:
        with session_scope(self.engine) as session:
            return list(session.exec(select(model)))

    def get(self, model: type[Any], row_id: uuid.UUID) -> Any:
        with session_scope(self.engine) as session:
            return session.get(model, row_id)

    def task_status(self, task_id: uuid.UUID) -> TaskStatus:
        return TaskStatus(self.get(Task, task_id).status)

    def jobs(self, task_id: uuid.UUID) -> list[Job]:
        with session_scope(self.engine) as session:
            return list(session.exec(select(Job).where(Job.task_id == task_id)))

    def work_folders(self) -> list[Path]:
        return list((self.data_dir / "results").glob(".work-*"))

    def computing(self, task_id: uuid.UUID) -> bool:
        """A job of the task is claimed and its worker computes (its work folder exists)."""
        running = any(job.status == JobStatus.RUNNING for job in self.jobs(task_id))
        return running and bool(self.work_folders())

    def until_computing(self, task_id: uuid.UUID) -> None:
        try:
            wait_until(lambda: self.computing(task_id), "a job computing", every=0.05)
        except TimeoutError as error:
            jobs = [(job.status.value, job.attempts) for job in self.jobs(task_id)]
            state = f"task {self.task_status(task_id).value}, jobs {jobs}"
            raise TimeoutError(f"{error}: {state}, work {self.work_folders()}") from None

    def until_done(self, task_id: uuid.UUID, timeout: float = 60) -> None:
        wait_until(lambda: self.task_status(task_id) == TaskStatus.DONE, "task", timeout)

    @staticmethod
    def writer(
        workers: list[subprocess.Popen[bytes]], folders: Iterable[Path]
    ) -> subprocess.Popen[bytes]:
        """The worker (leader process) whose process writes the one temporary folder (named
        ``.<kind>-<host>.<pid>-…``)."""
        [folder] = folders
        match = _OWNER.match(folder.name)
        assert match, folder
        owner = int(match.group(1))
        [worker] = [w for w in workers if w.pid in {owner, _group(owner)}]
        return worker


def _group(pid: int) -> int:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return -1


def run(url: str, token: str, task_id: uuid.UUID) -> dict[str, Any]:
    return dict(graphql(url, token, RUN, id=str(task_id))["runTask"])


def wav(seconds: float = 1.0) -> bytes:
    """A WAV file of a sine, as bytes to upload."""
    with tempfile.TemporaryDirectory() as folder:
        signal = samples.sine(440.0, seconds, 22050, 0.5)
        return Path(samples.write(Path(folder) / "sine.wav", signal, 22050)).read_bytes()
