"""Alembic environment: the target URL comes from the Config (db.migrate) or the settings."""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa
from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

from timeside_gql.db import models  # noqa: F401  (registers the tables on the metadata)
from timeside_gql.db.engine import create_engine, normalize_url
from timeside_gql.settings import get_settings

config = context.config
target_metadata = SQLModel.metadata


def database_url() -> str:
    return config.get_main_option("sqlalchemy.url") or get_settings().db_url


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write our TypeDecorators as the plain SQLAlchemy type underneath, so migrations stay
    frozen even when the Python-side type changes."""
    if type_ == "type" and isinstance(obj, sa.types.TypeDecorator):
        return f"sa.{obj.impl!r}"
    return False


def configure(**kwargs: Any) -> None:
    context.configure(
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
        render_item=render_item,
        **kwargs,
    )


def run_migrations(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # Batch mode drops and recreates tables: with foreign keys on, dropping a table would
        # fire ON DELETE CASCADE on its dependants. Check the keys once at the end instead.
        # The pragma is a no-op inside a transaction, hence the raw, autocommit connection.
        _sqlite_pragma(connection, "foreign_keys=OFF")
    configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()
    if sqlite:
        broken = _sqlite_pragma(connection, "foreign_key_check")
        _sqlite_pragma(connection, "foreign_keys=ON")
        if broken:
            raise RuntimeError(f"migration left rows with dangling foreign keys: {broken[:5]}")


def _sqlite_pragma(connection: Connection, pragma: str) -> list[Any]:
    cursor = connection.connection.driver_connection.execute(f"PRAGMA {pragma}")  # type: ignore[union-attr]
    return list(cursor.fetchall())


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    engine = create_engine(database_url())
    try:
        with engine.connect() as connection:
            run_migrations(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    configure(url=normalize_url(database_url()), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run_online()
