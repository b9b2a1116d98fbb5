"""Engines enforce our rules on each backend; sessions are transactional."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import func, select

from tests.db import factories
from timeside_gql.db.engine import create_engine, normalize_url, session_scope
from timeside_gql.db.models import User


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("postgresql://u@h/db", "postgresql+psycopg"),
        ("postgres://u@h/db", "postgresql+psycopg"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg"),
        ("sqlite:///var/x.db", "sqlite"),
    ],
)
def test_plain_postgres_urls_mean_psycopg3(url: str, driver: str) -> None:
    assert normalize_url(url).drivername == driver


def test_sqlite_enforces_foreign_keys_and_uses_wal(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'new' / 'timeside.db'}")  # dir created
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def test_session_scope_commits_or_rolls_back(engine: Engine) -> None:
    with session_scope(engine) as session:
        factories.user(session, "kept")
    with pytest.raises(RuntimeError), session_scope(engine) as session:
        factories.user(session, "dropped")
        raise RuntimeError("boom")
    with session_scope(engine) as session:
        assert list(session.exec(select(User.username))) == ["kept"]


def test_timestamps_are_utc_aware(engine: Engine) -> None:
    with session_scope(engine) as session:
        user_id = factories.user(session).id
    with session_scope(engine) as session:
        user = session.get(User, user_id)
        assert user is not None
        assert user.created_at.utcoffset() is not None
        assert user.created_at.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
        created = user.created_at
        user.is_admin = True
    with session_scope(engine) as session:
        user = session.get(User, user_id)
        assert user is not None and user.updated_at > created


def test_naive_datetimes_are_refused(engine: Engine) -> None:
    with pytest.raises(sa.exc.StatementError, match="naive"), session_scope(engine) as session:
        user = factories.user(session)
        user.created_at = user.created_at.replace(tzinfo=None)
        session.flush()


def test_concurrent_read_then_write_transactions_queue_instead_of_failing(
    engine: Engine,
) -> None:
    """SQLite's classic trap: a deferred read-then-write loses to a concurrent commit."""
    barrier = threading.Barrier(2, timeout=10)

    def bump(name: str) -> None:
        with session_scope(engine) as session:
            session.exec(select(func.count()).select_from(User)).one()
            with contextlib.suppress(threading.BrokenBarrierError):
                barrier.wait(timeout=0.5)  # both have read (unless the first holds a lock)
            factories.user(session, name)

    with ThreadPoolExecutor(2) as pool:
        for done in [pool.submit(bump, "a"), pool.submit(bump, "b")]:
            done.result()
    with session_scope(engine) as session:
        assert sorted(session.exec(select(User.username))) == ["a", "b"]
