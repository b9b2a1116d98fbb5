"""Ingest with real processes: an upload streamed to ``timeside-gql serve`` is ingested by
``timeside-gql worker`` processes on Redis and PostgreSQL (production), or by the server's own
worker on SQLite (embedded)."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from tests.db import factories
from tests.jobs.live import Deployment, graphql
from tests.jobs.test_live import deployment, mode, start
from tests.media.intake_world import audio

pytestmark = pytest.mark.slow
__all__ = ["deployment", "mode"]  # fixtures

ITEM = """query($id: UUID!) { item(id: $id) { ingestStatus ingestError sha1 audioDuration
  results { status preset { processor { pid } } } } }"""


def _ingested(url: str, token: str, item_id: str, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        item = graphql(url, token, ITEM, id=item_id)["item"]
        if item["ingestStatus"] in {"DONE", "FAILED"}:
            return item
        assert time.monotonic() < deadline, item
        time.sleep(0.2)


def test_streamed_upload_is_ingested_by_the_workers(
    mode: str, deployment: tuple[Deployment, Engine, Path], tmp_path: Path
) -> None:
    live, engine, _ = deployment
    token = factories.token(engine)
    url = start(live, mode)
    path = audio(tmp_path / "in" / "tone.wav", seconds=3.0, sr=44100, channels=2)
    response = httpx.post(
        f"{url}/media/items?title=Live",
        content=path.read_bytes(),
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text

    item = _ingested(url, token, response.json()["id"])
    assert item["ingestStatus"] == "DONE", item["ingestError"]
    assert item["sha1"] == hashlib.sha1(path.read_bytes()).hexdigest()
    assert item["audioDuration"] == pytest.approx(3.0, abs=1e-3)
    assert item["results"] == [
        {"status": "DONE", "preset": {"processor": {"pid": "waveform_analyzer"}}}
    ]
