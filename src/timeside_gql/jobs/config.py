"""What jobs run against in this process: its settings and database engine.

A worker process builds both from the environment on first use; the server hands over its own
(``jobs.runtime``), so jobs it runs in embedded mode share its engine and its settings.
"""

from __future__ import annotations

from sqlalchemy.engine import Engine

from timeside_gql.db.engine import settings_engine
from timeside_gql.settings import Settings, get_settings
from timeside_gql.storage import store

_settings: Settings | None = None
_engine: Engine | None = None


def job_settings() -> Settings:
    return _settings or get_settings()


def get_engine() -> Engine:
    global _engine
    if _engine is None:
        _engine = settings_engine(job_settings())
    return _engine


def configure(settings: Settings, engine: Engine) -> None:
    global _settings, _engine
    _settings, _engine = settings, engine
    store.register(settings)
