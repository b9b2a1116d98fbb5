"""Shared database fixtures: every test that asks for a database runs on SQLite and PostgreSQL.

- ``backend``: "sqlite" or "postgresql" (the latter skips, or fails under
  TIMESIDE_REQUIRE_SERVICES=1, without a server).
- ``empty_db_url``: a brand-new, unmigrated database.
- ``db_url``: a database migrated to head by Alembic once per run, empty at the start of each
  test (SQLite: a copy of the migrated file; PostgreSQL: the run's database, whose rows are
  deleted after each test, much faster than creating a database per test).
- ``engine`` / ``session``: on ``db_url``.

PostgreSQL databases are created through the server's ``test`` database with unique names and
dropped when the test (or the run) ends.
"""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, SQLModel

from tests.services import need_postgres
from timeside_gql.db import models  # noqa: F401  (every table on the metadata)
from timeside_gql.db.engine import create_engine
from timeside_gql.db.migrate import upgrade

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


class PostgresServer:
    """Creates and drops uniquely named databases through an admin connection."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.admin = sa.create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
        self.prefix = f"timeside_test_{os.getpid()}_{secrets.token_hex(3)}"
        self.count = 0

    def create(self) -> str:
        self.count += 1
        name = f"{self.prefix}_{self.count}"
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
        return self.url.set(database=name).render_as_string(hide_password=False)

    def empty(self, url: str) -> None:
        """Delete every row (children first); the schema and alembic_version stay."""
        engine = sa.create_engine(url, poolclass=sa.NullPool)
        try:
            with engine.begin() as connection:
                connection.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
                for table in reversed(SQLModel.metadata.sorted_tables):
                    connection.execute(table.delete())
        finally:
            engine.dispose()

    def drop(self, url: str) -> None:
        name = make_url(url).database
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def drop_all(self) -> None:
        with self.admin.connect() as connection:
            names = connection.exec_driver_sql(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{self.prefix}_%",)
            ).scalars()
            for name in list(names):
                connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer(need_postgres())
    yield server
    server.drop_all()


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    if request.param == "postgresql":
        need_postgres()
    return str(request.param)


@pytest.fixture(scope="session")
def migrated_template(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """A database migrated to head once per run: a SQLite file path or a PostgreSQL URL."""
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("template") / "head.db"
        upgrade(f"sqlite:///{path}")
        return str(path)
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create()
    upgrade(url)
    return url


@pytest.fixture
def empty_db_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    url = server.create()
    yield url
    server.drop(url)


@pytest.fixture
def db_url(
    backend: str, migrated_template: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[str]:
    if backend == "sqlite":
        path = tmp_path / "timeside.db"
        shutil.copyfile(migrated_template, path)
        yield f"sqlite:///{path}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    yield migrated_template
    server.empty(migrated_template)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


@pytest.fixture
def parameter_checks(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The raw parameters of every schema check the core makes from now on (the real check
    runs; each call is recorded), to prove each declaration is validated once."""
    from timeside_gql.core import params

    calls: list[Any] = []
    real = params._check

    def recorded(schema: Any, raw: Any) -> dict[str, Any]:
        calls.append(raw)
        return real(schema, raw)

    monkeypatch.setattr(params, "_check", recorded)
    return calls
