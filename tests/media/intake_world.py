"""Fixtures and helpers of the intake tests: settings on the test database with a small upload
limit, the embedded job runtime (worker threads in this process), audio files synthesized on the
spot, GraphQL multipart uploads and waiting for an ingest to end.

Test modules import the fixtures they use from here (``intake_settings`` is the fixture
``settings``, overriding the API conftest's; ``embedded_runtime`` is ``embedded``).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dramatiq import Worker
from sqlalchemy.engine import Engine
from sqlmodel import Session

from timeside_gql.core import samples
from timeside_gql.db.models import IngestStatus, Item
from timeside_gql.jobs.broker import build_broker, get_broker, set_broker
from timeside_gql.jobs.config import configure
from timeside_gql.jobs.events import EventBus, set_bus
from timeside_gql.settings import Settings, get_settings

UPLOAD_LIMIT_MB = 2
ENDED = {IngestStatus.DONE, IngestStatus.FAILED}


@pytest.fixture(name="settings")
def intake_settings(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    monkeypatch.setenv("TIMESIDE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("TIMESIDE_DATABASE_URL", db_url)
    monkeypatch.setenv("TIMESIDE_MAX_UPLOAD_MB", str(UPLOAD_LIMIT_MB))
    monkeypatch.delenv("TIMESIDE_REDIS_URL", raising=False)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture(name="embedded")
def embedded_runtime(settings: Settings, engine: Engine) -> Iterator[EventBus]:
    """Jobs (ingests too) run by a worker thread of this process, as ``serve`` runs them."""
    configure(settings, engine)
    bus = set_bus(EventBus())
    set_broker(build_broker(settings))
    from timeside_gql.jobs import actors  # noqa: F401 - declares the actors

    worker = Worker(get_broker(), worker_threads=1, worker_timeout=50)
    worker.start()
    yield bus
    worker.stop()


def audio(path: Path, *, seconds: float = 1.0, sr: int = 22050, channels: int = 1) -> Path:
    """A sine of ``seconds`` at ``sr`` Hz, encoded after the extension of ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    y = samples.sine(440.0, seconds, sr, amp=0.5)
    return samples.write(path, y.repeat(channels, axis=0), sr)


def media_files(settings: Settings) -> list[Path]:
    """Every file under the media dir, hidden temporaries included."""
    root = settings.media_dir
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def upload(
    client: Any,
    query: str,
    variables: dict[str, Any],
    path: Path,
    *,
    token: str | None,
    content: bytes | None = None,
) -> Any:
    """A GraphQL multipart request (the spec's operations/map/file parts) with ``path``'s bytes
    (or ``content``) as ``variables.file``."""
    operations = {"query": query, "variables": {**variables, "file": None}}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = content if content is not None else path.read_bytes()
    return client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": (path.name, data, "application/octet-stream")},
        headers=headers,
    )


def wait_ingested(engine: Engine, item_id: uuid.UUID | str, *, timeout: float = 60.0) -> Item:
    """The item once its ingest ended (done or failed)."""
    deadline = time.monotonic() + timeout
    while True:
        with Session(engine) as session:
            item = session.get(Item, uuid.UUID(str(item_id)))
            assert item is not None
            if item.ingest_status in ENDED:
                return item
        assert time.monotonic() < deadline, f"ingest still {item.ingest_status}"
        time.sleep(0.05)
