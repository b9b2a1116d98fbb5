"""The media routes over real items and results, on SQLite and PostgreSQL: Range on the source,
transcodes (cached and streamed), result files in every format, pictures, and who may fetch."""

from __future__ import annotations

import csv
import io
import json
import os
import time
import uuid
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
from PIL import Image
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from tests.api.conftest import Api
from tests.media.delivery import SECONDS, World, add_item, compute, path_of, signed
from timeside_gql.api.types.media_urls import base_url
from timeside_gql.core import serialize
from timeside_gql.core.decode import load, open_blocks
from timeside_gql.core.encoders import FORMATS, EncodeSettings, encode_chunks
from timeside_gql.db.engine import create_engine
from timeside_gql.db.models import Result, ResultStatus, User
from timeside_gql.db.presets import default_preset
from timeside_gql.db.visibility import Viewer
from timeside_gql.http.app import create_app
from timeside_gql.jobs import execution
from timeside_gql.services.signing import sign
from timeside_gql.settings import Settings


@pytest.fixture
def world(engine: Engine, settings: Settings, api: Api) -> World:
    alice = api.ids["alice"]
    return World(
        private=add_item(engine, settings, alice, public=False, title="Alice's /../ sine"),
        public=add_item(engine, settings, alice, public=True),
    )


def source_url(item_id: uuid.UUID) -> str:
    return f"/media/items/{item_id}/source"


# ---------------------------------------------------------------------------------------------
# The source, with Range


def test_source_whole_file(client, api, world, settings):
    response = client.get(source_url(world.private.id), headers=api.headers("alice"))
    body = (settings.data_dir / world.private.source_file).read_bytes()
    assert response.status_code == 200
    assert response.content == body
    assert response.headers["content-type"] == "audio/wav"
    assert response.headers["content-length"] == str(len(body))
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["etag"] == f'"{world.private.sha1}"'
    assert response.headers["cache-control"] == "private"
    assert response.headers["content-disposition"] == 'inline; filename="Alice_s_sine.wav"'


@pytest.mark.parametrize(
    ("header", "first", "last"),
    [
        ("bytes=0-0", 0, 0),  # first byte
        ("bytes=-1", -1, -1),  # last byte, as a suffix
        ("bytes=-500", -500, -1),  # suffix
        ("bytes=100-", 100, -1),  # open range
        ("bytes=100-199", 100, 199),
        ("bytes=10-99999999", 10, -1),  # end past the size: clipped
    ],
)
def test_source_single_range(client, api, world, settings, header, first, last):
    body = (settings.data_dir / world.public.source_file).read_bytes()
    size = len(body)
    start, end = first % size, last % size
    response = client.get(source_url(world.public.id), headers={"Range": header})
    assert response.status_code == 206
    assert response.headers["content-range"] == f"bytes {start}-{end}/{size}"
    assert response.headers["content-length"] == str(end - start + 1)
    assert response.content == body[start : end + 1]


@pytest.mark.parametrize("header", ["bytes=999999999-", "bytes=-0"])
def test_source_unsatisfiable_range(client, world, settings, header):
    size = (settings.data_dir / world.public.source_file).stat().st_size
    response = client.get(source_url(world.public.id), headers={"Range": header})
    assert response.status_code == 416
    assert response.headers["content-range"] == f"bytes */{size}"


def test_source_not_modified(client, world):
    url = source_url(world.public.id)
    etag = client.get(url).headers["etag"]
    for header in (etag, f'"other", W/{etag}', "*"):
        response = client.get(url, headers={"If-None-Match": header})
        assert (response.status_code, response.content) == (304, b""), header
        assert response.headers["etag"] == etag
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200


def test_source_decreasing_range_is_a_bad_request(client, world):
    response = client.get(source_url(world.public.id), headers={"Range": "bytes=9-1"})
    assert response.status_code == 400


def test_a_range_in_another_unit_is_ignored(client, world, settings):
    body = (settings.data_dir / world.public.source_file).read_bytes()
    response = client.get(source_url(world.public.id), headers={"Range": "items=0-9"})
    assert (response.status_code, response.content) == (200, body)


def test_source_multiple_ranges_are_multipart(client, world, settings):
    body = (settings.data_dir / world.public.source_file).read_bytes()
    response = client.get(source_url(world.public.id), headers={"Range": "bytes=0-9,-10"})
    assert response.status_code == 206
    assert response.headers["content-type"].startswith("multipart/byteranges; boundary=")
    assert f"Content-Range: bytes 0-9/{len(body)}".encode() in response.content
    assert body[:10] in response.content and body[-10:] in response.content
    assert response.headers["content-length"] == str(len(response.content))


def test_source_head_and_if_range(client, world, settings):
    size = (settings.data_dir / world.public.source_file).stat().st_size
    head = client.head(source_url(world.public.id), headers={"Range": "bytes=0-99"})
    assert head.status_code == 206 and head.content == b""
    assert head.headers["content-range"] == f"bytes 0-99/{size}"
    assert head.headers["content-length"] == "100"
    etag = head.headers["etag"]
    fresh = client.get(
        source_url(world.public.id), headers={"Range": "bytes=0-9", "If-Range": etag}
    )
    assert fresh.status_code == 206
    stale = client.get(
        source_url(world.public.id), headers={"Range": "bytes=0-9", "If-Range": '"x"'}
    )
    assert stale.status_code == 200 and len(stale.content) == size


# ---------------------------------------------------------------------------------------------
# Who may fetch: every media route


def media_paths(world: World, result_id: uuid.UUID) -> list[str]:
    item = world.private.id
    return [
        source_url(item),
        f"/media/items/{item}/audio.wav?start=0.5&stop=1",
        f"/media/results/{result_id}.json",
        f"/media/results/{result_id}/visual.png?width=50&height=20",
    ]


@pytest.fixture
def private_result(engine, settings, world) -> Result:
    return compute(engine, settings, world.private, "level")


def with_sig(path: str, query: str) -> str:
    return f"{path}{'&' if '?' in path else '?'}{query}"


def route_of(path: str) -> str:
    return path.split("?")[0]


def test_owner_fetches_every_route_with_bearer_or_signature(client, api, world, private_result):
    alice = api.ids["alice"]
    for path in media_paths(world, private_result.id):
        response = client.get(path, headers=api.headers("alice"))
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "private"
        query = sign(client.app.state.settings, route_of(path), Viewer(user_id=alice))
        assert client.get(with_sig(path, query)).status_code == 200, path


def test_others_get_404_on_every_route(client, api, world, private_result):
    unknown = media_paths(world, uuid.uuid4())[0].replace(str(world.private.id), str(uuid.uuid4()))
    assert client.get(unknown).status_code == 404
    bob = api.ids["bob"]
    settings = client.app.state.settings
    for path in media_paths(world, private_result.id):
        anonymous = client.get(path)
        assert anonymous.status_code == 404, path
        assert "no item" in anonymous.text or "no result" in anonymous.text
        assert client.get(path, headers=api.headers("bob")).status_code == 404, path
        as_bob = sign(settings, route_of(path), Viewer(user_id=bob))
        assert client.get(with_sig(path, as_bob)).status_code == 404, path
        # an admin sees it
        assert client.get(path, headers=api.headers("admin")).status_code == 200, path


def test_bad_signatures_get_403_on_every_route(client, api, world, private_result):
    settings = client.app.state.settings
    alice = Viewer(user_id=api.ids["alice"])
    for path in media_paths(world, private_result.id):
        route = route_of(path)
        expired = sign(settings, route, alice, ttl=-120)
        response = client.get(with_sig(path, expired))
        assert (response.status_code, response.text) == (403, "expired signature"), path
        good = sign(settings, route, alice)
        tampered = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
        assert client.get(with_sig(path, tampered)).status_code == 403, path
        elsewhere = sign(settings, source_url(world.public.id), alice)
        assert client.get(with_sig(path, elsewhere)).status_code == 403, path
        forged_user = good.replace(alice.user_id.hex, api.ids["bob"].hex)
        assert client.get(with_sig(path, forged_user)).status_code == 403, path


def test_bad_bearer_token_gets_401(client, world):
    response = client.get(source_url(world.public.id), headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"


def test_public_item_needs_no_credentials_unless_login_is_required(engine, api, world, settings):
    assert (
        TestClient(create_app(settings, engine=engine)).get(source_url(world.public.id)).is_success
    )
    strict = TestClient(
        create_app(settings.model_copy(update={"require_login": True}), engine=engine)
    )
    assert strict.get(source_url(world.public.id)).status_code == 401
    assert strict.get(source_url(world.public.id), headers=api.headers("bob")).status_code == 200


def test_signature_of_a_deleted_user_is_refused(client, engine, world, settings):
    with Session(engine) as session:
        ghost = User(username="ghost", password_hash="x")
        session.add(ghost)
        session.commit()
        ghost_id = ghost.id
    query = sign(settings, source_url(world.public.id), Viewer(user_id=ghost_id))
    assert client.get(f"{source_url(world.public.id)}?{query}").status_code == 200
    with Session(engine) as session:
        session.delete(session.get(User, ghost_id))
        session.commit()
    response = client.get(f"{source_url(world.public.id)}?{query}")
    assert (response.status_code, response.text) == (403, "signature of a deleted user")


# ---------------------------------------------------------------------------------------------
# Transcoding


def result_count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(Result)).one()


def decoded_seconds(tmp_path: Path, content: bytes, extension: str) -> float:
    path = tmp_path / f"decoded-{uuid.uuid4().hex}.{extension}"
    path.write_bytes(content)
    samples, rate = load(path)
    return samples.shape[-1] / rate


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_whole_transcode_is_cached_as_an_encoder_result(
    client, engine, api, world, settings, tmp_path, fmt
):
    url = f"/media/items/{world.public.id}/audio.{fmt}"
    first = client.get(url)
    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == FORMATS[fmt].mime_type
    assert decoded_seconds(tmp_path, first.content, FORMATS[fmt].extension) == pytest.approx(
        SECONDS, abs=0.06
    )
    with Session(engine) as session:
        [result] = session.exec(select(Result).where(Result.item_id == world.public.id)).all()
    assert result.status == ResultStatus.DONE
    assert result.file_path == f"results/{world.public.id}/{result.id}.{FORMATS[fmt].extension}"
    stored = settings.data_dir / result.file_path
    assert stored.read_bytes() == first.content
    mtime = stored.stat().st_mtime_ns
    time.sleep(0.01)

    ranged = client.get(url, headers={"Range": "bytes=-100"})
    assert ranged.status_code == 206 and ranged.content == first.content[-100:]
    assert result_count(engine) == 1
    assert stored.stat().st_mtime_ns == mtime  # served from the cache, not encoded again
    assert not list(settings.results_dir.glob("**/.*.tmp")) and not list(
        settings.results_dir.glob(".work-*")
    )


def test_concurrent_requests_encode_once(client, engine, world, monkeypatch):
    runs = []
    real_run = execution.pipeline.run

    def counting_run(*args, **kwargs):
        runs.append(args[1])
        return real_run(*args, **kwargs)

    monkeypatch.setattr(execution.pipeline, "run", counting_run)
    url = f"/media/items/{world.public.id}/audio.opus"
    with ThreadPoolExecutor(4) as pool:
        bodies = [r.content for r in pool.map(client.get, [url] * 4)]
    assert len(runs) == 1 and runs[0][0][0] == "opus_encoder"
    assert len(set(bodies)) == 1 and len(bodies[0]) > 1000
    assert result_count(engine) == 1


def test_twenty_requests_for_one_transcode_leave_the_api_answering(api, engine, settings, world):
    """Waiting requests hold no pooled connection: they blocked in the result lock holding one
    each (pg_advisory_lock), and 20 exhausted the pool for 30 s. Here the pool has 2."""
    url = engine.url.render_as_string(hide_password=False)
    small = create_engine(url, pool_size=2, max_overflow=0, pool_timeout=20)
    served = Api(TestClient(create_app(settings, engine=small)), api.tokens, api.ids)
    query = "{ items(first: 5) { edges { node { title } } } }"

    def timed_query() -> float:
        started = time.perf_counter()
        assert len(served(query, as_="alice")["items"]["edges"]) == 2
        return time.perf_counter() - started

    try:
        with ThreadPoolExecutor(30) as pool:
            get = partial(served.client.get, f"/media/items/{world.public.id}/audio.flac")
            transcodes = [pool.submit(get) for _ in range(20)]
            queries = [pool.submit(timed_query) for _ in range(10)]
            responses = [future.result() for future in transcodes]
            durations = [future.result() for future in queries]
    finally:
        small.dispose()
    assert [r.status_code for r in responses] == [200] * 20
    assert len({r.content for r in responses}) == 1
    assert result_count(engine) == 1
    assert max(durations) < 10, durations


def test_a_transcode_longer_than_the_wait_answers_503_then_the_file(engine, settings, world):
    impatient = settings.model_copy(update={"transcode_wait_s": 0.001})
    client = TestClient(create_app(impatient, engine=engine))
    url = f"/media/items/{world.public.id}/audio.ogg"
    first = client.get(url)
    assert first.status_code == 503, first.text
    assert first.headers["Retry-After"] == "5"
    deadline = time.monotonic() + 60
    while (retry := client.get(url)).status_code == 503 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert retry.status_code == 200 and retry.headers["content-type"] == "audio/ogg"
    assert result_count(engine) == 1


def test_cached_transcode_is_redone_for_a_new_source(client, engine, world, settings):
    url = f"/media/items/{world.public.id}/audio.flac"

    def stored() -> tuple[str | None, str | None]:
        with Session(engine) as session:
            [row] = session.exec(select(Result).where(Result.item_id == world.public.id)).all()
            assert row.status == ResultStatus.DONE
            return row.cache_key, row.file_path

    first = client.get(url)
    key, file_path = stored()
    path = settings.data_dir / str(file_path)
    os.utime(path, ns=(0, 0))  # so a rewrite shows
    with Session(engine) as session:
        item = session.get_one(type(world.public), world.public.id)
        item.sha1 = "0" * 40  # as ingest records a replaced source
        session.add(item)
        session.commit()
    again = client.get(url)
    new_key, new_path = stored()
    assert new_key != key and new_path == file_path
    assert path.stat().st_mtime_ns > 0  # encoded again (same audio: same bytes)
    assert again.content == first.content
    assert again.headers["etag"] == f'"{new_key}"' != first.headers["etag"]


@pytest.mark.parametrize("fmt", ["mp3", "ogg", "m4a", "webm", "opus", "flac", "wav"])
def test_encoders_stream_before_the_end(settings, world, fmt):
    """More than one chunk for 3 s: bytes leave before the encoder finishes (fragmented MP4
    once wrote everything at the end)."""
    stream, blocks = open_blocks(settings.data_dir / world.public.source_file, block_size=4096)
    spec = EncodeSettings(samplerate=stream.samplerate, channels=stream.channels)
    assert len(list(encode_chunks(blocks, fmt, spec, chunk_size=4096))) >= 2


@pytest.mark.parametrize("fmt", ["mp3", "ogg", "m4a", "webm"])
def test_segment_streams_while_it_encodes(client, engine, world, tmp_path, fmt):
    with client.stream("GET", f"/media/items/{world.public.id}/audio.{fmt}?start=1&stop=2") as r:
        assert r.status_code == 200
        assert "content-length" not in r.headers  # chunked: sent while encoding
        assert r.headers["content-type"] == FORMATS[fmt].mime_type
        content = b"".join(r.iter_bytes())
    assert decoded_seconds(tmp_path, content, FORMATS[fmt].extension) == pytest.approx(
        1.0, abs=0.06
    )
    assert result_count(engine) == 0  # segments are not cached


def test_unicode_titles_give_rfc6266_names(client, engine, settings, api, tmp_path):
    item = add_item(engine, settings, api.ids["alice"], public=True, title="Сюита № 1")
    expected = "inline; filename*=utf-8''%D0%A1%D1%8E%D0%B8%D1%82%D0%B0_1.ogg"
    with client.stream("GET", f"/media/items/{item.id}/audio.ogg?start=0&stop=0.5") as r:
        assert r.status_code == 200 and r.headers["content-disposition"] == expected
        assert decoded_seconds(tmp_path, r.read(), "ogg") == pytest.approx(0.5, abs=0.06)
    level = compute(engine, settings, item, "level")
    as_json = client.get(f"/media/results/{level.id}.json")
    assert as_json.headers["content-disposition"].startswith("attachment; filename*=utf-8''")


def test_head_of_a_segment_encodes_nothing(client, world):
    head = client.head(f"/media/items/{world.public.id}/audio.mp3?start=1&stop=2")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == "audio/mpeg"
    assert "content-length" not in head.headers
    assert (
        client.head(f"/media/items/{world.public.id}/audio.mp3?start=2&stop=1").status_code == 400
    )


def test_head_of_a_whole_transcode_never_starts_the_encode(client, engine, world):
    url = f"/media/items/{world.public.id}/audio.ogg"
    before = client.head(url)
    assert before.status_code == 200 and "content-length" not in before.headers
    assert result_count(engine) == 0  # nothing encoded, nothing stored
    made = client.get(url)
    after = client.head(url)
    assert after.headers["content-length"] == str(len(made.content))
    assert after.headers["etag"] == made.headers["etag"]


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("start=abc", 400, "start must be a number"),
        ("start=-1", 400, "start must be a finite number >= 0"),
        ("start=nan", 400, "finite"),
        ("start=2&stop=1", 400, "must be after start"),
        ("start=99", 400, "past the end"),
    ],
)
def test_bad_segment(client, world, query, status, message):
    response = client.get(f"/media/items/{world.public.id}/audio.mp3?{query}")
    assert response.status_code == status and message in response.text


def test_unknown_format_lists_the_formats(client, world):
    response = client.get(f"/media/items/{world.public.id}/audio.aiff")
    assert response.status_code == 404
    assert "mp3" in response.text and "webm" in response.text


def test_item_without_audio(client, engine, api, world):
    with Session(engine) as session:
        item = type(world.public)(title="no audio yet", is_public=True)
        session.add(item)
        session.commit()
        item_id = item.id
    response = client.get(source_url(item_id))
    assert response.status_code == 404 and "no audio yet" in response.text


def test_missing_files_are_404_not_500(client, engine, settings, world):
    level = compute(engine, settings, world.public, "level")
    image = compute(engine, settings, world.public, "waveform_simple")
    (settings.data_dir / level.hdf5_path).unlink()
    (settings.data_dir / image.file_path).unlink()
    (settings.data_dir / world.public.source_file).unlink()
    for path in (
        f"/media/results/{level.id}.hdf5",
        f"/media/results/{level.id}.json",
        f"/media/results/{level.id}/visual.png",
        f"/media/results/{image.id}.png",
        f"/media/results/{image.id}/visual.png",
        source_url(world.public.id),
        f"/media/items/{world.public.id}/audio.wav?start=1",
    ):
        response = client.get(path)
        assert response.status_code == 404 and "missing" in response.text, path


def test_result_paths_outside_the_results_dir_are_never_read(client, engine, settings, world):
    """Defence in depth behind the load checks: a row naming the database or the signing key
    is refused by every reader (files, pictures, series, exports)."""
    level = compute(engine, settings, world.public, "level")
    image = compute(engine, settings, world.public, "waveform_simple")
    (settings.data_dir / "secret_key").write_text("not for anyone")
    with Session(engine) as session:
        for row, column in ((level, "hdf5_path"), (image, "file_path")):
            stored = session.get_one(Result, row.id)
            setattr(stored, column, "secret_key" if column == "file_path" else "../x.h5")
        session.commit()
    for path in (
        f"/media/results/{level.id}.json",
        f"/media/results/{level.id}/visual.png",
        f"/media/results/{image.id}.png",
        f"/exports/results/{level.id}.csv",
    ):
        response = client.get(path)
        assert response.status_code == 404 and "not for anyone" not in response.text, path
    query = "query($id: UUID!) { result(id: $id) { series { times } } }"
    body = client.post("/graphql", json={"query": query, "variables": {"id": str(level.id)}})
    assert body.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


# ---------------------------------------------------------------------------------------------
# Result files


@pytest.fixture
def level(engine, settings, world) -> Result:
    return compute(engine, settings, world.public, "level")


def test_result_as_hdf5(client, level, tmp_path):
    response = client.get(f"/media/results/{level.id}.hdf5")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/x-hdf5"
    path = tmp_path / "level.hdf5"
    path.write_bytes(response.content)
    with h5py.File(path) as h5:
        assert {"level.max", "level.rms"} <= set(h5)
        peak = float(h5["level.max/data_object/value"][()][0])
    assert peak == pytest.approx(20 * np.log10(0.5), abs=0.05)
    one = client.get(f"/media/results/{level.id}.hdf5?output=level.rms")
    path.write_bytes(one.content)
    with h5py.File(path) as h5:
        assert list(h5) == ["level.rms"]


def test_result_as_json_yaml_xml_npz(client, level, tmp_path):
    peak = pytest.approx(20 * np.log10(0.5), abs=0.05)
    as_json = client.get(f"/media/results/{level.id}.json")
    assert as_json.headers["content-type"] == "application/json"
    assert {r["id_metadata"]["id"] for r in json.loads(as_json.text)} >= {"level.max"}
    assert serialize.from_json(as_json.text)[0].data.item() == peak

    as_yaml = client.get(f"/media/results/{level.id}.yaml?output=level.max")
    assert as_yaml.headers["content-type"] == "application/yaml"
    [result] = serialize.from_yaml(as_yaml.text)
    assert (result.id, result.data.item()) == ("level.max", peak)

    as_xml = client.get(f"/media/results/{level.id}.xml")
    assert as_xml.headers["content-type"] == "application/xml"
    assert ET.fromstring(as_xml.content).tag == "timeside"

    as_npz = client.get(f"/media/results/{level.id}.npz")
    assert as_npz.headers["content-type"] == "application/zip"
    with np.load(io.BytesIO(as_npz.content), allow_pickle=False) as npz:
        assert float(npz["level.max/value"][0]) == peak


def test_result_as_csv(client, engine, settings, world):
    centroid = compute(engine, settings, world.public, "spectral_descriptors")
    many = client.get(f"/media/results/{centroid.id}.csv")
    assert many.status_code == 400 and "output=" in many.text
    outputs = [name for name in many.text.split("(")[1].rstrip(")").split(", ")]
    response = client.get(f"/media/results/{centroid.id}.csv?output={outputs[0]}")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0][:3] == ["time", "duration", "value"]
    times = [float(row[0]) for row in rows[1:]]
    assert len(times) > 10 and times == sorted(times) and times[-1] <= SECONDS + 0.1


def test_grapher_and_encoder_products(client, engine, settings, world):
    png = compute(engine, settings, world.public, "waveform_simple")
    response = client.get(f"/media/results/{png.id}.png")
    assert response.headers["content-type"] == "image/png"
    assert Image.open(io.BytesIO(response.content)).size[0] > 0
    missing = client.get(f"/media/results/{png.id}.json")
    assert missing.status_code == 404 and "formats: png" in missing.text

    mp3 = compute(engine, settings, world.public, "mp3_encoder")
    audio = client.get(f"/media/results/{mp3.id}.mp3", headers={"Range": "bytes=0-3"})
    assert audio.status_code == 206 and audio.headers["content-type"] == "audio/mpeg"


def test_result_not_done_is_404(client, engine, world):
    with Session(engine) as session:
        preset = default_preset(session, "level")
        pending = Result(item_id=world.public.id, preset_id=preset.id)
        session.add(pending)
        session.commit()
        result_id = pending.id
    response = client.get(f"/media/results/{result_id}.json")
    assert response.status_code == 404 and "pending, not done" in response.text


def test_unknown_output_is_404_with_the_outputs(client, level):
    response = client.get(f"/media/results/{level.id}.json?output=nope")
    assert response.status_code == 404 and "level.max" in response.text


# ---------------------------------------------------------------------------------------------
# Pictures


def png_size(content: bytes) -> tuple[int, int]:
    image = Image.open(io.BytesIO(content))
    assert image.format == "PNG"
    return image.size


def test_visual_renders_an_analysis_at_the_requested_size(client, engine, settings, api):
    faded = add_item(engine, settings, api.ids["alice"], public=True, fade_in=True)
    waveform = compute(engine, settings, faded, "waveform_analyzer")
    base = f"/media/results/{waveform.id}/visual.png"
    whole = client.get(f"{base}?width=320&height=90")
    assert whole.headers["content-type"] == "image/png"
    assert png_size(whole.content) == (320, 90)
    zoom = client.get(f"{base}?width=200&height=50&start=1&stop=1.5&output=waveform_analyzer")
    assert png_size(zoom.content) == (200, 50)
    assert zoom.content != client.get(f"{base}?width=200&height=50").content


def test_visual_crops_an_image_result(client, engine, settings, api):
    faded = add_item(engine, settings, api.ids["alice"], public=True, fade_in=True)
    image = compute(engine, settings, faded, "waveform_simple")
    base = f"/media/results/{image.id}/visual.png?width=100&height=40"
    quiet = client.get(f"{base}&start=0&stop=1").content
    loud = client.get(f"{base}&start=2&stop=3").content
    assert png_size(quiet) == png_size(loud) == (100, 40)
    # the fade-in: the later second draws a taller waveform than the first
    assert drawn_pixels(loud) > 1.5 * drawn_pixels(quiet)


def drawn_pixels(content: bytes) -> int:
    pixels = np.asarray(Image.open(io.BytesIO(content)).convert("RGBA"))
    return int((pixels != pixels[0, 0]).any(axis=-1).sum())


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("width=100000", "image size"),
        ("width=0", "image size"),
        ("height=abc", "height must be an integer"),
        ("start=2&stop=1", "after start"),
    ],
)
def test_visual_bounds(client, level, query, message):
    response = client.get(f"/media/results/{level.id}/visual.png?{query}")
    assert response.status_code == 400 and message in response.text


# ---------------------------------------------------------------------------------------------
# GraphQL URL fields


URLS = """
query ($id: UUID!) {
  item(id: $id) {
    streamUrl
    audioUrl(format: OGG, start: 0.5, stop: 1.5)
    results { fileUrl visualUrl(width: 64, height: 32) json: fileUrl(format: JSON) }
  }
}
"""


def fetch_urls(api: Api, item_id: uuid.UUID, as_: str | None) -> dict[str, Any]:
    return api(URLS, {"id": str(item_id)}, as_=as_)["item"]


def test_graphql_urls_are_signed_for_the_viewer(client, api, engine, settings, world):
    compute(engine, settings, world.private, "waveform_simple")
    urls = fetch_urls(api, world.private.id, "alice")
    [result] = urls["results"]
    assert result["json"] is None  # a grapher result has no analysis data
    for url in (urls["streamUrl"], urls["audioUrl"], result["fileUrl"], result["visualUrl"]):
        assert url.startswith("http://testserver/media/") and "sig=" in url
        response = client.get(path_of(url))  # no header: the signature is the credential
        assert response.status_code == 200, (url, response.text)
    assert "start=0.5&stop=1.5" in urls["audioUrl"]
    assert png_size(client.get(path_of(result["visualUrl"])).content) == (64, 32)
    # alice's signature does not open another item
    other = path_of(urls["streamUrl"]).replace(str(world.private.id), str(world.public.id))
    assert client.get(other).status_code == 403


def test_graphql_urls_for_anonymous_viewers_of_public_items(client, api, world):
    urls = fetch_urls(api, world.public.id, None)
    assert urls["results"] == []
    assert client.get(path_of(urls["streamUrl"])).status_code == 200
    assert signed(client.app.state.settings, "/x", None).startswith("/x?sig=-.")


@pytest.mark.parametrize(
    ("scheme", "port", "expected"),
    [("wss", 443, "https://example.org"), ("ws", 8000, "http://example.org:8000")],
)
def test_urls_asked_over_a_websocket_are_http(scheme, port, expected):
    host = "example.org" if port == 443 else f"example.org:{port}"
    scope = {
        "type": "websocket",
        "scheme": scheme,
        "server": ("example.org", port),
        "path": "/graphql",
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", host.encode())],
    }
    assert base_url(WebSocket(scope, receive=None, send=None)) == expected
