"""Ingest of uploads by the embedded worker, on SQLite and PostgreSQL: fields from the probe, the
waveform result, events on the item's channel, stale results gone when the source is replaced,
failures recorded failed with a readable error."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from pathlib import Path
from typing import Any

import h5py
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from starlette.testclient import TestClient

from tests.api.conftest import Api
from tests.media.intake_world import (
    audio,
    embedded_runtime,
    intake_settings,
    upload,
    wait_ingested,
)
from timeside_gql.db.models import IngestStatus, Item, Result, ResultStatus
from timeside_gql.http.app import create_app
from timeside_gql.jobs.events import EventBus, item_channel
from timeside_gql.services import items
from timeside_gql.settings import Settings
from timeside_gql.storage import intake
from timeside_gql.storage.providers import Metadata

__all__ = ["embedded_runtime", "intake_settings"]  # the fixtures `embedded` and `settings`

CREATE = """mutation($input: ItemInput!) { createItem(input: $input) {
  ... on Item { id ingestStatus } ... on Error { message } } }"""
REPLACE = """mutation($id: UUID!, $file: Upload!) { replaceItemSource(id: $id, file: $file) {
  __typename ... on Item { id sha1 } ... on Error { message } } }"""
ITEM = """query($id: UUID!) { item(id: $id) { ingestStatus ingestError sha1 audioDuration
  results { status preset { processor { pid } } } } }"""


def _results(engine: Engine, item_id: str) -> list[Result]:
    with Session(engine) as session:
        return list(session.exec(select(Result).where(Result.item_id == uuid.UUID(item_id))))


def _replace(api: Api, item_id: str, path: Path) -> dict[str, Any]:
    response = upload(api.client, REPLACE, {"id": item_id}, path, token=api.tokens["alice"])
    payload = response.json()["data"]["replaceItemSource"]
    assert payload["__typename"] == "Item", payload
    return payload


async def _events_while(bus: EventBus, item_id: str, action: Any) -> list[dict[str, Any]]:
    """The item's events from before ``action`` (run in a thread) until its ingest ended."""
    received: list[dict[str, Any]] = []
    async with bus.subscribe(item_channel(item_id)) as events, asyncio.timeout(60):
        await asyncio.to_thread(action)
        async for event in events:
            received.append(event)
            if event["type"] == "item" and event["ingestStatus"] in {"done", "failed"}:
                return received
    return received


def test_an_upload_is_ingested_with_its_waveform(
    api: Api, engine: Engine, embedded: EventBus, settings: Settings, tmp_path: Path
) -> None:
    item_id = api(CREATE, {"input": {"title": "later"}}, as_="alice")["createItem"]["id"]
    path = audio(tmp_path / "tone.flac", seconds=2.5, sr=22050, channels=2)
    events = asyncio.run(_events_while(embedded, item_id, lambda: _replace(api, item_id, path)))

    item = wait_ingested(engine, item_id)
    assert item.ingest_status == IngestStatus.DONE and item.ingest_error is None
    assert item.sha1 == hashlib.sha1(path.read_bytes()).hexdigest()
    assert item.audio_duration == pytest.approx(2.5, abs=1e-3)
    assert (item.samplerate, item.channels, item.mime_type) == (22050, 2, "audio/flac")
    [waveform] = _results(engine, item_id)
    assert waveform.status == ResultStatus.DONE and waveform.hdf5_path
    with h5py.File(settings.data_dir / waveform.hdf5_path) as h5:
        peaks = h5["waveform_analyzer/data_object/value"][()]
    assert peaks.shape[1] == 2 and peaks.max() == pytest.approx(0.5, abs=0.01)  # the sine's peak

    states = [e["ingestStatus"] for e in events if e["type"] == "item" and "progress" not in e]
    assert states == ["pending", "running", "done"]
    assert [e["status"] for e in events if e["type"] == "result"][-1] == "done"

    read = api(ITEM, {"id": item_id}, as_="alice")["item"]
    assert read["ingestStatus"] == "DONE" and read["sha1"] == item.sha1
    assert read["results"] == [
        {"status": "DONE", "preset": {"processor": {"pid": "waveform_analyzer"}}}
    ]


def test_a_replaced_source_invalidates_its_results(
    api: Api, engine: Engine, embedded: EventBus, settings: Settings, tmp_path: Path
) -> None:
    item_id = api(CREATE, {"input": {"title": "t"}}, as_="alice")["createItem"]["id"]
    first = audio(tmp_path / "first.wav", seconds=1.0)
    _replace(api, item_id, first)
    wait_ingested(engine, item_id)
    [old] = _results(engine, item_id)
    old_file = settings.data_dir / str(old.hdf5_path)
    assert old.status == ResultStatus.DONE and old_file.is_file()

    second = audio(tmp_path / "second.wav", seconds=3.0, channels=2)
    _replace(api, item_id, second)
    assert not old_file.exists()  # removed with the commit of the replacement
    assert old.id not in {r.id for r in _results(engine, item_id)}

    item = wait_ingested(engine, item_id)
    assert item.ingest_status == IngestStatus.DONE
    assert item.sha1 == hashlib.sha1(second.read_bytes()).hexdigest()
    [new] = _results(engine, item_id)
    assert new.status == ResultStatus.DONE and new.cache_key != old.cache_key
    with h5py.File(settings.data_dir / str(new.hdf5_path)) as h5:
        assert h5["waveform_analyzer/audio_metadata"].attrs["sha1"] == item.sha1


def test_undecodable_source_is_recorded_failed(
    engine: Engine, embedded: EventBus, settings: Settings
) -> None:
    """A source stored without a probe (e.g. loaded from elsewhere) that turns out broken."""
    broken = settings.media_dir / "broken.wav"
    broken.parent.mkdir(parents=True)
    broken.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" * 64)
    with Session(engine, expire_on_commit=False) as session:
        item = Item(title="broken", source_file="media/broken.wav")
        nothing = Item(title="no source")
        session.add_all([item, nothing])
        items.request_ingest(session, item)
        items.request_ingest(session, nothing)
        session.commit()
    failed = wait_ingested(engine, item.id)
    assert failed.ingest_status == IngestStatus.FAILED
    assert failed.ingest_error and "broken.wav" in failed.ingest_error and failed.sha1 is None
    empty = wait_ingested(engine, nothing.id)
    assert empty.ingest_status == IngestStatus.FAILED and "no source" in str(empty.ingest_error)
    assert _results(engine, str(item.id)) == []


def test_provider_metadata_fills_only_empty_fields() -> None:
    item = Item(title="My title", artist="", album="", description="mine")
    metadata = Metadata(
        title="Their title",
        artist="Their artist",
        album="Their album",
        description="theirs",
        duration=3.0,
        picture_url="https://example.org/p.jpg",
        external_uri="https://example.org/t/1",
    )
    filled = intake.fill_metadata(item, metadata)
    assert (item.title, item.description) == ("My title", "mine")
    assert (item.artist, item.album) == ("Their artist", "Their album")
    assert filled == ["artist", "album", "picture_url", "external_uri"]


ITEM_UPDATES = """subscription($id: UUID!) { itemUpdates(itemId: $id) {
  kind item { ingestStatus sha1 } result { status } } }"""


def test_item_updates_follow_the_ingest_over_graphql(
    engine: Engine, settings: Settings, users: Any, tmp_path: Path
) -> None:
    """The app with its lifespan (embedded worker, bus): a subscriber sees the ingest end."""
    tokens, ids = users
    path = audio(tmp_path / "tone.wav", seconds=1.0)
    with TestClient(create_app(settings, engine=engine)) as client:
        api = Api(client, tokens, ids)
        item_id = api(CREATE, {"input": {"title": "later"}}, as_="alice")["createItem"]["id"]
        with client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
            auth = {"authorization": f"Bearer {tokens['alice']}"}
            ws.send_json({"type": "connection_init", "payload": auth})
            assert ws.receive_json()["type"] == "connection_ack"
            payload = {"query": ITEM_UPDATES, "variables": {"id": item_id}}
            ws.send_json({"id": "1", "type": "subscribe", "payload": payload})
            first = ws.receive_json()["payload"]["data"]["itemUpdates"]
            assert first["kind"] == "SNAPSHOT" and first["item"]["ingestStatus"] == "NONE"

            _replace(api, item_id, path)
            # Each update re-reads the item, so an ITEM event handled late may already say DONE
            # before the waveform's RESULT event arrives: wait for both.
            updates: list[dict[str, Any]] = []
            while not (
                updates
                and updates[-1]["item"]["ingestStatus"] == "DONE"
                and any(u["kind"] == "RESULT" and u["result"]["status"] == "DONE" for u in updates)
            ):
                updates.append(ws.receive_json()["payload"]["data"]["itemUpdates"])
            ws.send_json({"id": "1", "type": "complete"})
    assert {u["kind"] for u in updates} >= {"ITEM", "RESULT"}
    assert updates[-1]["item"]["sha1"] == hashlib.sha1(path.read_bytes()).hexdigest()
    assert [u["result"]["status"] for u in updates if u["kind"] == "RESULT"][-1] == "DONE"


def test_serve_resumes_ingests_a_stopped_process_left_pending(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """Embedded mode: the queue died with the process; the next start enqueues them again."""
    path = audio(tmp_path / "left.wav", seconds=1.0)
    stored = intake.store_file(settings, path)
    with Session(engine, expire_on_commit=False) as session:
        item = Item(title="left behind")
        session.add(item)
        items.attach_source(session, item, stored, settings=settings, send=False)
        session.commit()
    with Session(engine) as session:
        assert session.get(Item, item.id).ingest_status == IngestStatus.PENDING  # type: ignore[union-attr]

    with TestClient(create_app(settings, engine=engine)):
        resumed = wait_ingested(engine, item.id)
    assert resumed.ingest_status == IngestStatus.DONE
    assert [r.status for r in _results(engine, str(item.id))] == [ResultStatus.DONE]
