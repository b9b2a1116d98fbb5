"""Fault fixtures: a Redis server and a PostgreSQL cluster of the test's own (``tests/servers.py``),
on their own ports, that the test may SIGKILL and restart (Redis without persistence: a restart
loses every message, as in production without AOF), and the jobs runtime of tests/jobs on it."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.jobs.conftest import data_dir, runtime, settings  # noqa: F401 - shared fixtures
from tests.servers import REDIS_SERVER, PostgresServer, RedisServer, init_cluster, postgres_missing
from tests.services import unavailable
from timeside_gql.db.migrate import upgrade
from timeside_gql.jobs.broker import build_broker, set_broker
from timeside_gql.jobs.config import configure
from timeside_gql.jobs.events import EventBus, set_bus
from timeside_gql.settings import Settings, get_settings


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


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[Path]:
    """A stopped cluster with the ``timeside`` database migrated to head, made once per run;
    each test's cluster is a copy of it."""
    missing = postgres_missing()
    if missing:
        unavailable(missing, "apt-get install postgresql-15, or set TIMESIDE_TEST_POSTGRES_BIN")
    root = init_cluster()
    server = PostgresServer(root)
    server.start()
    upgrade(server.create_database())
    server.shutdown()
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres(postgres_template: Path) -> Iterator[PostgresServer]:
    """A running PostgreSQL of this test's own (database ``timeside`` at head): the test may
    ``kill()`` its postmaster and ``start()`` it again on the same data and port."""
    server = PostgresServer.from_template(postgres_template)
    server.start()
    yield server
    server.stop()
