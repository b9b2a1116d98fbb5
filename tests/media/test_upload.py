"""Uploads: GraphQL multipart (createItem, replaceItemSource) and the streaming route, on SQLite
and PostgreSQL; refusals (not audio, too large, not allowed) leave nothing on disk."""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

import httpx
import pytest
import soundfile
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from tests.api.conftest import Api
from tests.media.intake_world import (  # noqa: F401 - fixtures
    UPLOAD_LIMIT_MB,
    audio,
    intake_settings,
    media_files,
    upload,
)
from timeside_gql.db.models import IngestStatus, Item
from timeside_gql.settings import Settings

CREATE = """mutation Create($input: ItemInput!, $file: Upload) {
  createItem(input: $input, file: $file) {
    __typename
    ... on Item { id title sha1 mimeType audioDuration samplerate channels sourceFile
                  ingestStatus ingestError }
    ... on MediaRefusedError { message reason }
    ... on Error { message }
  }
}"""
REPLACE = """mutation Replace($id: UUID!, $file: Upload!) {
  replaceItemSource(id: $id, file: $file) {
    __typename
    ... on Item { id sha1 mimeType audioDuration channels sourceFile }
    ... on Error { message }
  }
}"""


def _create(api: Api, path: Path, *, as_: str | None = "alice", **input: object) -> dict:
    token = api.tokens[as_] if as_ else None
    response = upload(api.client, CREATE, {"input": {"title": "t", **input}}, path, token=token)
    assert response.status_code == 200, response.text
    return response.json()["data"]["createItem"]


@pytest.mark.parametrize(
    ("name", "mime", "channels", "sr"),
    [
        ("a.wav", "audio/wav", 2, 22050),
        ("b.flac", "audio/flac", 1, 44100),
        ("c.mp3", "audio/mpeg", 1, 44100),
        ("d.ogg", "audio/ogg", 2, 44100),
    ],
)
def test_create_item_with_an_uploaded_file(
    api: Api, settings: Settings, tmp_path: Path, name: str, mime: str, channels: int, sr: int
) -> None:
    path = audio(tmp_path / "in" / name, seconds=1.5, sr=sr, channels=channels)
    item = _create(api, path, title="Upload")
    assert item["__typename"] == "Item", item
    assert item["sha1"] == hashlib.sha1(path.read_bytes()).hexdigest()
    assert item["mimeType"] == mime
    assert item["audioDuration"] == pytest.approx(1.5, abs=0.06)  # mp3/ogg padding
    assert (item["samplerate"], item["channels"]) == (sr, channels)
    assert item["ingestStatus"] == "PENDING" and item["ingestError"] is None
    # Stored under a generated name with the probed format's extension, bytes intact.
    stored = settings.data_dir / item["sourceFile"]
    assert stored.parent == settings.media_dir and stored.suffix == Path(name).suffix
    assert uuid.UUID(hex=stored.stem) and stored.read_bytes() == path.read_bytes()
    assert media_files(settings) == [stored]


def test_an_upload_without_a_title_is_named_after_its_file(api: Api, tmp_path: Path) -> None:
    path = audio(tmp_path / "Boléro (live).flac")
    response = upload(api.client, CREATE, {"input": {}}, path, token=api.tokens["alice"])
    assert response.json()["data"]["createItem"]["title"] == "Boléro (live)"


def test_non_audio_is_refused_with_nothing_left(
    api: Api, settings: Settings, tmp_path: Path, engine: Engine
) -> None:
    fake = tmp_path / "song.wav"
    fake.write_bytes(b"RIFF" + b"not really audio at all" * 100)
    refused = _create(api, fake)
    assert refused["__typename"] == "MediaRefusedError"
    assert refused["reason"] == "NotAudio" and "song.wav: not an audio file" in refused["message"]
    assert media_files(settings) == []
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(Item)).one() == 0  # no item either


def test_upload_over_the_limit_is_refused(api: Api, settings: Settings, tmp_path: Path) -> None:
    big = audio(tmp_path / "big.wav", seconds=30, sr=44100, channels=1)  # 2.6 MB > 2 MiB
    assert big.stat().st_size > UPLOAD_LIMIT_MB << 20
    refused = _create(api, big)
    assert refused["__typename"] == "MediaRefusedError" and refused["reason"] == "TooLarge"
    assert media_files(settings) == []


def test_multipart_without_a_token_is_refused_before_parsing(api: Api, tmp_path: Path) -> None:
    """A cross-site form can post multipart without preflight, never with Authorization."""
    path = audio(tmp_path / "a.wav")
    response = upload(api.client, CREATE, {"input": {"title": "x"}}, path, token=None)
    assert response.status_code == 401
    assert "Authorization" in response.text


def test_chunked_multipart_over_the_limit_is_cut_off(api: Api, tmp_path: Path) -> None:
    """Without Content-Length the limit holds while the body streams: Starlette would spool
    every multipart file part to disk, whatever its size."""
    big = audio(tmp_path / "big.wav", seconds=60, sr=44100)  # 5.3 MB > 2 MiB + 1 MiB of slack
    operations = {"query": CREATE, "variables": {"input": {"title": "x"}, "file": None}}
    request = httpx.Request(
        "POST",
        "http://testserver/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("big.wav", big.read_bytes(), "audio/wav")},
    )
    body = request.read()

    def chunks():  # type: ignore[no-untyped-def]
        for start in range(0, len(body), 65536):
            yield body[start : start + 65536]

    headers = api.headers("alice") | {"Content-Type": request.headers["content-type"]}
    response = api.client.post("/graphql", content=chunks(), headers=headers)
    assert response.status_code == 413, response.text
    assert "upload limit" in response.text


def test_an_upload_variable_that_is_not_a_file_is_a_validation_error(api: Api) -> None:
    """A JSON request can put anything in an Upload variable: a typed error, not a crash."""
    for query, variables in (
        (CREATE, {"input": {"title": "x"}}),
        (REPLACE, {"id": str(uuid.uuid4())}),
    ):
        body = api.raw(query, {**variables, "file": "not a file"}, as_="alice")
        [payload] = body["data"].values()
        assert payload["__typename"] == "ValidationError", body
        assert "multipart" in payload["message"]


def test_replace_source_by_author_only(
    api: Api, settings: Settings, tmp_path: Path, engine: Engine
) -> None:
    first = audio(tmp_path / "one.wav", seconds=1.0)
    second = audio(tmp_path / "two.flac", seconds=2.0, channels=2)
    item = _create(api, first)
    old_file = settings.data_dir / item["sourceFile"]

    variables = {"id": item["id"]}
    denied = upload(api.client, REPLACE, variables, second, token=api.tokens["bob"]).json()
    assert denied["data"]["replaceItemSource"]["__typename"] == "PermissionDenied"
    assert media_files(settings) == [old_file]  # bob's upload was removed again

    done = upload(api.client, REPLACE, variables, second, token=api.tokens["alice"]).json()
    replaced = done["data"]["replaceItemSource"]
    assert replaced["sha1"] == hashlib.sha1(second.read_bytes()).hexdigest()
    assert replaced["mimeType"] == "audio/flac" and replaced["channels"] == 2
    assert replaced["audioDuration"] == pytest.approx(2.0, abs=1e-3)
    assert not old_file.exists()  # the old source went with the commit
    assert media_files(settings) == [settings.data_dir / replaced["sourceFile"]]

    by_admin = upload(api.client, REPLACE, variables, first, token=api.tokens["admin"]).json()
    assert (
        by_admin["data"]["replaceItemSource"]["sha1"]
        == hashlib.sha1(first.read_bytes()).hexdigest()
    )


def test_a_source_outside_the_media_dir_is_never_served(
    api: Api, settings: Settings, tmp_path: Path, engine: Engine
) -> None:
    """Sources live in media/: a row naming another file of the data dir (the database, the
    secret key) answers 404, not that file."""
    item = _create(api, audio(tmp_path / "a.wav"))
    stray = settings.data_dir / "stray.wav"
    stray.write_bytes((settings.data_dir / item["sourceFile"]).read_bytes())
    with Session(engine) as session:
        row = session.get_one(Item, uuid.UUID(item["id"]))
        row.source_file = "stray.wav"
        session.add(row)
        session.commit()
    headers = api.headers("alice")
    response = api.client.get(f"/media/items/{item['id']}/source", headers=headers)
    assert response.status_code == 404, response.status_code


# ---------------------------------------------------------------------------------------------
# The streaming route


def _chunks(path: Path, size: int = 65536):  # type: ignore[no-untyped-def]
    """A generator body: the client sends it chunked, with no Content-Length."""
    with open(path, "rb") as handle:
        while chunk := handle.read(size):
            yield chunk


def test_streaming_route_creates_and_replaces(
    api: Api, settings: Settings, tmp_path: Path, engine: Engine
) -> None:
    path = audio(tmp_path / "long.flac", seconds=4.0, sr=44100, channels=2)
    headers = api.headers("alice")
    created = api.client.post(
        "/media/items?title=Streamed&artist=Ravel&filename=long.flac",
        content=_chunks(path),
        headers=headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["sha1"] == hashlib.sha1(path.read_bytes()).hexdigest()
    assert (body["title"], body["artist"], body["mime_type"]) == ("Streamed", "Ravel", "audio/flac")
    assert body["audio_duration"] == pytest.approx(4.0, abs=1e-3)
    assert body["ingest_status"] == "pending"
    with Session(engine) as session:
        item = session.get(Item, uuid.UUID(body["id"]))
        assert item is not None and item.ingest_status == IngestStatus.PENDING
        assert soundfile.info(settings.data_dir / item.source_file).frames == 4 * 44100

    other = audio(tmp_path / "other.wav", seconds=1.0)
    url = f"/media/items/{body['id']}/source"
    bob = api.headers("bob")
    assert api.client.put(url, content=other.read_bytes(), headers=bob).status_code == 403
    replaced = api.client.put(url, content=_chunks(other), headers=headers)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["sha1"] == hashlib.sha1(other.read_bytes()).hexdigest()
    assert len(media_files(settings)) == 1


def test_streaming_route_refusals_leave_nothing(
    api: Api, settings: Settings, tmp_path: Path
) -> None:
    headers = api.headers("alice")
    assert api.client.post("/media/items", content=b"x").status_code == 401
    bad_token = {"Authorization": "Bearer tsg_nope"}
    assert api.client.post("/media/items", content=b"x", headers=bad_token).status_code == 401

    not_audio = api.client.post("/media/items", content=b"\0" * 50_000, headers=headers)
    assert not_audio.status_code == 415 and not_audio.json()["reason"] == "NotAudio"

    big = audio(tmp_path / "big.wav", seconds=30, sr=44100)
    declared = api.client.post("/media/items", content=big.read_bytes(), headers=headers)
    assert declared.status_code == 413  # refused from Content-Length, body unread
    streamed = api.client.post("/media/items", content=_chunks(big), headers=headers)
    assert streamed.status_code == 413 and streamed.json()["reason"] == "TooLarge"

    missing = api.client.put(f"/media/items/{uuid.uuid4()}/source", content=b"x", headers=headers)
    assert missing.status_code == 404
    assert media_files(settings) == []
