"""Items created through GraphQL from a provider id or a URL are ingested (embedded worker)
from the local fake web: provider metadata fills only what the user left empty."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.api.conftest import Api
from tests.media.fakes import TRACK, FakeWeb
from tests.media.intake_world import embedded_runtime, intake_settings, wait_ingested
from timeside_gql.db.models import IngestStatus, Item, Provider, Result, ResultStatus
from timeside_gql.db.providers import sync_providers
from timeside_gql.settings import Settings
from timeside_gql.storage.providers import all_providers

CREATE = """mutation($input: ItemInput!) { createItem(input: $input) {
  __typename ... on Item { id title } ... on Error { message } } }"""

# the intake tests' fixtures `settings` (from the environment) and `embedded` (jobs run by a
# worker thread of this process)
__all__ = ["embedded_runtime", "intake_settings"]


@pytest.fixture(autouse=True)
def provider_env(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, web: FakeWeb
) -> None:
    """Before ``settings`` reads the environment (autouse fixtures come first): the Deezer API
    is the fake one, and 127.0.0.1 is allowed unless a test parametrizes this with "0"."""
    monkeypatch.setenv("TIMESIDE_DEEZER_API_URL", web.base)
    monkeypatch.setenv("TIMESIDE_ALLOW_PRIVATE_URLS", getattr(request, "param", "1"))


@pytest.fixture
def providers(engine: Engine) -> dict[str, str]:
    """Provider row ids by pid (the app's lifespan syncs them; these clients skip it)."""
    with Session(engine) as session:
        ids = {row.pid: str(row.id) for row in sync_providers(session, all_providers())}
        session.commit()
    return ids


def create(api: Api, **fields: Any) -> str:
    payload = api(CREATE, {"input": fields}, as_="alice")["createItem"]
    assert payload["__typename"] == "Item", payload
    return str(payload["id"])


def ingested(engine: Engine, item_id: str) -> Item:
    item = wait_ingested(engine, item_id)
    assert item.provider_id is not None or item.source_url
    return item


def waveform_done(engine: Engine, item: Item) -> bool:
    with Session(engine) as session:
        query = select(Result.status).where(Result.item_id == item.id)
        return list(session.exec(query)) == [ResultStatus.DONE]


def pid_of(engine: Engine, item: Item) -> str | None:
    with Session(engine) as session:
        return session.exec(select(Provider.pid).where(Provider.id == item.provider_id)).first()


def test_deezer_preview_by_provider_and_id(
    api: Api, engine: Engine, embedded: Any, web: FakeWeb, settings: Settings, providers: Any
) -> None:
    item = ingested(engine, create(api, providerId=providers["deezer_preview"], externalId=TRACK))
    assert item.ingest_status == IngestStatus.DONE, item.ingest_error
    assert (item.title, item.artist, item.album) == (
        "Harder, Better, Faster, Stronger",
        "Daft Punk",
        "Discovery",
    )
    assert item.picture_url == web.url("/cover.jpg")
    assert item.external_uri == f"https://www.deezer.com/track/{TRACK}"
    preview = web.files["preview.mp3"].read_bytes()
    assert (settings.data_dir / item.source_file).read_bytes() == preview
    assert item.sha1 == hashlib.sha1(preview).hexdigest()
    assert (item.mime_type, item.samplerate, item.channels) == ("audio/mpeg", 44100, 1)
    assert item.audio_duration == pytest.approx(3.0, abs=0.1)
    assert waveform_done(engine, item)


def test_a_user_title_is_kept_over_the_provider_one(
    api: Api, engine: Engine, embedded: Any, providers: Any
) -> None:
    url = f"https://www.deezer.com/fr/track/{TRACK}"
    item = ingested(engine, create(api, title="Mine", sourceUrl=url))
    assert item.ingest_status == IngestStatus.DONE, item.ingest_error
    assert (item.title, item.artist) == ("Mine", "Daft Punk")
    assert (pid_of(engine, item), item.external_id) == ("deezer_preview", TRACK)


def test_a_direct_url(
    api: Api, engine: Engine, embedded: Any, web: FakeWeb, providers: Any
) -> None:
    item = ingested(engine, create(api, sourceUrl=web.url("/plain/song.wav")))
    assert item.ingest_status == IngestStatus.DONE, item.ingest_error
    assert (item.title, pid_of(engine, item)) == ("song", "url")
    assert item.audio_duration == pytest.approx(9.4, abs=0.01)
    assert waveform_done(engine, item)


def test_deezer_complete_gives_metadata_and_no_source(
    api: Api, engine: Engine, embedded: Any, providers: Any
) -> None:
    item = ingested(engine, create(api, providerId=providers["deezer_complete"], externalId=TRACK))
    assert item.ingest_status == IngestStatus.FAILED
    assert "metadata only" in (item.ingest_error or "")
    assert (item.title, item.artist, item.source_file, item.sha1) == (
        "Harder, Better, Faster, Stronger",
        "Daft Punk",
        None,
        None,
    )
    # the app goes on: the item reads back, with its state
    query = "query($id: UUID!) { item(id: $id) { title } }"
    assert api(query, {"id": str(item.id)}, as_="alice")["item"]["title"].startswith("Harder")


def test_an_unknown_track_fails_the_ingest_readably(
    api: Api, engine: Engine, embedded: Any, providers: Any
) -> None:
    item = ingested(engine, create(api, providerId=providers["deezer_preview"], externalId="999"))
    assert item.ingest_status == IngestStatus.FAILED
    assert item.ingest_error == "Deezer has no track 999 (no data)"


@pytest.mark.parametrize("provider_env", ["0"], indirect=True)
def test_without_the_setting_a_private_url_is_refused(
    api: Api, engine: Engine, embedded: Any, web: FakeWeb, settings: Settings, providers: Any
) -> None:
    assert settings.allow_private_urls is False
    before = len(web.requests)
    item = ingested(engine, create(api, sourceUrl=web.url("/media/song.wav")))
    assert item.ingest_status == IngestStatus.FAILED
    assert "private or reserved address (127.0.0.1)" in (item.ingest_error or "")
    assert (item.source_file, len(web.requests)) == (None, before)
