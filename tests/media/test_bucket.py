"""Media and results in an S3 bucket: a real S3 API (moto's standalone server on a loopback
port) behind real ``timeside-gql serve`` and ``worker`` processes.

* embedded: one server whose data dir is only a cache; every route and field (upload, ingest,
  waveform, task, series, value, result file, transcode, Range) still answers after that cache
  is wiped, and deleting the item deletes its objects;
* production, the multi-host proof: one server and two workers, each with its own empty data
  dir, sharing only PostgreSQL, Redis and the bucket, run a task over a selection.
"""

from __future__ import annotations

import io
import math
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import soundfile as sf

from tests.db import factories
from tests.jobs.live import (
    Deployment,
    free_port,
    graphql,
    instance_env,
    run_presets,
    upload,
    wait_until,
)
from tests.services import need_redis, unavailable
from timeside_gql.db.engine import create_engine
from timeside_gql.db.migrate import upgrade

pytestmark = pytest.mark.slow

MOTO = Path(sys.executable).parent / "moto_server"
BUCKET = "timeside-test"
RATE, SECONDS, FREQUENCY, AMPLITUDE = 22050, 3.0, 440.0, 0.5
#: RMS of a sine of amplitude 0.5, in dBFS.
RMS_DB = 20 * math.log10(AMPLITUDE / math.sqrt(2))

ITEM = """query($id: UUID!) { item(id: $id) { ingestStatus
  waveform(pixels: 50) { max }
  results { id status preset { processor { pid } } } } }"""
LEVELS = """query($id: UUID!) { result(id: $id) {
  value(output: "level.rms") series(output: "level.rms", maxPoints: 10) { output } } }"""


@pytest.fixture(scope="module")
def s3() -> Iterator[dict[str, str]]:
    """moto's S3 server on a free loopback port, with an empty bucket."""
    if not MOTO.exists():
        unavailable("moto_server is not installed", "pip install '.[test]'")
    port = free_port()
    process = subprocess.Popen(
        [str(MOTO), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _answers(endpoint), "moto_server")
        env = {
            "TIMESIDE_S3_BUCKET": BUCKET,
            "TIMESIDE_S3_ENDPOINT_URL": endpoint,
            "TIMESIDE_S3_REGION": "us-east-1",
            "TIMESIDE_S3_ACCESS_KEY_ID": "test",
            "TIMESIDE_S3_SECRET_ACCESS_KEY": "test",
        }
        bucket_client(env).create_bucket(Bucket=BUCKET)
        yield env
    finally:
        process.terminate()
        process.wait(timeout=10)


def bucket_client(env: dict[str, str]) -> Any:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=env["TIMESIDE_S3_ENDPOINT_URL"],
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def keys(env: dict[str, str], prefix: str) -> list[str]:
    listing = bucket_client(env).list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return sorted(entry["Key"] for entry in listing.get("Contents", []))


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code < 500
    except httpx.TransportError:
        return False


def sine_wav(frequency: float = FREQUENCY) -> bytes:
    t = np.arange(int(RATE * SECONDS)) / RATE
    buffer = io.BytesIO()
    sf.write(buffer, AMPLITUDE * np.sin(2 * np.pi * frequency * t), RATE, format="WAV")
    return buffer.getvalue()


def item_state(url: str, token: str, item_id: str) -> dict[str, Any]:
    return graphql(url, token, ITEM, id=item_id)["item"]


def wait_ingested(url: str, token: str, item_id: str) -> None:
    wait_until(lambda: item_state(url, token, item_id)["ingestStatus"] == "DONE", "ingest", 120)


def check_results(url: str, token: str, item_id: str) -> dict[str, Any]:
    """The item's waveform peaks at the sine's amplitude and its level at the sine's RMS."""
    state = item_state(url, token, item_id)
    assert max(state["waveform"]["max"]) == pytest.approx(AMPLITUDE, abs=0.01)
    levels = [r for r in state["results"] if r["preset"]["processor"]["pid"] == "level"]
    assert levels and levels[0]["status"] == "DONE"
    level = graphql(url, token, LEVELS, id=levels[0]["id"])["result"]
    assert level["value"] == pytest.approx(RMS_DB, abs=0.05)
    return levels[0]


@pytest.fixture
def embedded(tmp_path: Path, s3: dict[str, str]) -> Iterator[tuple[Deployment, str, Path]]:
    data_dir = tmp_path / "cache"
    db_url = f"sqlite:///{tmp_path / 'timeside.db'}"
    upgrade(db_url)
    prefix = f"embedded-{secrets.token_hex(4)}"
    env = instance_env(data_dir, db_url) | s3 | {"TIMESIDE_S3_PREFIX": prefix}
    engine = create_engine(db_url)
    token = factories.token(engine)
    engine.dispose()
    live = Deployment(env=env, logs=tmp_path)
    yield live, token, data_dir
    live.stop()


def test_every_route_serves_from_the_bucket_once_the_local_cache_is_gone(embedded, s3):
    live, token, data_dir = embedded
    prefix = live.env["TIMESIDE_S3_PREFIX"]
    url = live.serve()
    headers = {"Authorization": f"Bearer {token}"}
    item_id = upload(url, token, "sine", sine_wav())
    wait_ingested(url, token, item_id)
    run_presets(url, token, ("level",), [item_id])
    stored = keys(s3, prefix)
    assert any(key.startswith(f"{prefix}/media/") for key in stored)
    assert sum(key.startswith(f"{prefix}/results/{item_id}/") for key in stored) >= 2

    for folder in ("media", "results"):  # the server now holds nothing but the bucket does
        shutil.rmtree(data_dir / folder)
    level = check_results(url, token, item_id)
    source = httpx.get(
        f"{url}/media/items/{item_id}/source", headers=headers | {"Range": "bytes=0-3"}
    )
    assert source.status_code == 206 and source.content == b"RIFF"
    hdf5 = httpx.get(f"{url}/media/results/{level['id']}.hdf5", headers=headers)
    assert hdf5.status_code == 200 and hdf5.content[:8] == b"\x89HDF\r\n\x1a\n"
    mp3 = httpx.get(f"{url}/media/items/{item_id}/audio.mp3", headers=headers, timeout=60)
    assert mp3.status_code == 200 and len(mp3.content) > 1000
    shutil.rmtree(data_dir / "results")  # the cached transcode comes back from the bucket
    again = httpx.get(f"{url}/media/items/{item_id}/audio.mp3", headers=headers, timeout=60)
    assert again.content == mp3.content and again.headers["etag"] == mp3.headers["etag"]

    deleted = graphql(
        url, token, "mutation($id: UUID!) { deleteItem(id: $id) { __typename } }", id=item_id
    )
    assert deleted["deleteItem"]["__typename"] == "Deleted"
    assert keys(s3, f"{prefix}/media/") == [] and keys(s3, f"{prefix}/results/{item_id}") == []


def test_a_server_and_two_workers_sharing_no_disk_run_a_task(tmp_path, s3, postgres_server):
    """Multi-host proof: three processes, three empty data dirs; only PostgreSQL, Redis and
    the bucket are shared."""
    db_url = postgres_server.create()
    upgrade(db_url)
    shared = s3 | {
        "TIMESIDE_REDIS_URL": need_redis(),
        "TIMESIDE_REDIS_NAMESPACE": f"test-{secrets.token_hex(4)}",
        "TIMESIDE_S3_PREFIX": f"hosts-{secrets.token_hex(4)}",
        "TIMESIDE_SECRET_KEY": secrets.token_urlsafe(32),  # no shared disk for a key file
        "TIMESIDE_WORKER_HEARTBEAT_TIMEOUT": "5",
    }
    hosts = {}
    for name in ("server", "worker-a", "worker-b"):
        (tmp_path / name).mkdir()
        env = instance_env(tmp_path / name / "data", db_url) | shared
        hosts[name] = Deployment(env=env, logs=tmp_path / name)
    engine = create_engine(db_url)
    try:
        token = factories.token(engine)
        url = hosts["server"].serve()
        hosts["worker-a"].worker()
        hosts["worker-b"].worker()
        item_ids = [upload(url, token, f"sine {n}", sine_wav()) for n in range(4)]
        for item_id in item_ids:
            wait_ingested(url, token, item_id)
        run_presets(url, token, ("level",), item_ids)
        for item_id in item_ids:
            check_results(url, token, item_id)
        computed = {
            name: list((tmp_path / name / "data" / "results").rglob("*.hdf5"))
            for name in ("worker-a", "worker-b")
        }
        assert sum(len(files) for files in computed.values()) >= 2 * len(item_ids)
        sources = list((tmp_path / "worker-a" / "data" / "media").glob("*.wav"))
        sources += list((tmp_path / "worker-b" / "data" / "media").glob("*.wav"))
        assert sources, "the workers decoded sources fetched from the bucket"
    finally:
        for host in hosts.values():
            host.stop()
        engine.dispose()
        postgres_server.drop(db_url)
