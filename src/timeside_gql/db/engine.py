"""Engines and transactional sessions for SQLite (embedded) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session

from timeside_gql.settings import Settings


def normalize_url(url: str) -> sa.URL:
    """Plain ``postgresql://`` (or ``postgres://``) URLs mean psycopg 3, not psycopg2."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def create_engine(
    url: str,
    *,
    echo: bool = False,
    pool_size: int = 5,
    max_overflow: int = 10,
    pool_timeout: float = 30.0,
) -> Engine:
    """An engine with the per-connection settings each backend needs to enforce our rules."""
    parsed = normalize_url(url)
    pool = {"pool_size": pool_size, "max_overflow": max_overflow, "pool_timeout": pool_timeout}
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(parsed, echo=echo, pool_pre_ping=True, **pool)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        parsed, echo=echo, connect_args={"check_same_thread": False, "timeout": 30}, **pool
    )
    sa.event.listen(engine, "connect", _sqlite_connect)
    sa.event.listen(engine, "begin", _sqlite_begin)
    return engine


def settings_engine(settings: Settings) -> Engine:
    """The engine of a deployment's processes, its pool sized by the settings."""
    return create_engine(
        settings.db_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_s,
    )


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # pysqlite opens transactions lazily, before DML only, so a SAVEPOINT would run outside
    # any transaction and its RELEASE would commit. Take over: no implicit transactions,
    # and an explicit BEGIN whenever SQLAlchemy begins (_sqlite_begin).
    dbapi_connection.isolation_level = None
    # Foreign keys are off by default in SQLite: without this, no delete rule would hold.
    # WAL lets the server read while a worker writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(connection: sa.Connection) -> None:
    # IMMEDIATE takes the write lock up front. A deferred transaction that reads, then writes
    # after another connection committed fails at once with "database is locked" (the busy
    # timeout does not apply); immediate ones queue on the timeout instead. Readers outside
    # transactions are never blocked (WAL); keep transactions short.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back if it raises.

    Do not commit inside the block (SQLAlchemy refuses further work after it): open another
    scope instead. Objects stay usable after the block (no expiry on commit).
    """
    with Session(engine, expire_on_commit=False) as session, session.begin():
        yield session
