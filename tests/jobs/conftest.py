"""Execution fixtures: settings on a per-test database and data dir, and the embedded runtime
(stub broker, in-process Dramatiq worker, in-process event bus) wired the way ``serve`` does."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from dramatiq import Worker
from sqlalchemy.engine import Engine

from timeside_gql.jobs.broker import build_broker, get_broker, set_broker
from timeside_gql.jobs.config import configure
from timeside_gql.jobs.events import EventBus, set_bus, task_channel
from timeside_gql.settings import Settings, get_settings


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def settings(db_url: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    monkeypatch.setenv("TIMESIDE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("TIMESIDE_DATABASE_URL", db_url)
    monkeypatch.delenv("TIMESIDE_REDIS_URL", raising=False)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture
def runtime(settings: Settings, engine: Engine) -> Iterator[EventBus]:
    """This process's jobs side on the test database: engine, in-process bus, a fresh stub
    broker (nothing consumes it: tests drive ``jobs.execution`` step by step)."""
    configure(settings, engine)
    bus = set_bus(EventBus())
    set_broker(build_broker(settings))
    from timeside_gql.jobs import actors  # noqa: F401 - declares the actors (once per process)

    yield bus


@pytest.fixture
def embedded(runtime: EventBus) -> Iterator[EventBus]:
    """Jobs run by a two-thread worker in this process, as ``serve`` runs them."""
    worker = Worker(get_broker(), worker_threads=2, worker_timeout=50)
    worker.start()
    yield runtime
    worker.stop()


async def events_until_end(bus: EventBus, task_id: object, *, timeout: float = 60.0) -> list[dict]:
    """Every event of the task's channel until the task ends (subscribe before running it)."""
    received: list[dict] = []
    async with bus.subscribe(task_channel(task_id)) as events:
        async with asyncio.timeout(timeout):
            async for event in events:
                received.append(event)
                if event["type"] == "task" and event["status"] in {"done", "failed", "cancelled"}:
                    return received
    return received
