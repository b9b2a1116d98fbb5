"""The engine jobs run against: the server's own in embedded mode, one from settings in a worker."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from timeside_gql.db.engine import create_engine
from timeside_gql.settings import get_settings

_engine: Engine | None = None


def get_engine() -> Engine:
    return _engine or set_engine(create_engine(get_settings().db_url))


def set_engine(engine: Engine) -> Engine:
    global _engine
    _engine = engine
    return engine
