"""The faults of issue 14 replayed against real processes: a PostgreSQL and a Redis of the
test's own, ``timeside-gql serve`` and ``timeside-gql worker`` processes (tests/jobs/live.py),
each fault a SIGKILL by PID. Every case ends with every task and ingest ended (failed ones
with a reason), no row without its file, no temporary file left once the janitor passed, and
only typed answers on the way."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.db import factories
from tests.jobs.live import graphql, upload, wait_until
from tests.jobs.world import build_world
from tests.media.fakes import FakeWeb
from tests.reliability.faults import CANCEL, SLOW, Stack, run, wav
from tests.servers import PostgresServer, RedisServer
from timeside_gql.db.engine import session_scope
from timeside_gql.db.models import (
    IngestStatus,
    Item,
    JobStatus,
    Result,
    ResultStatus,
    Task,
    TaskStatus,
)
from timeside_gql.storage.janitor import leftovers

pytestmark = pytest.mark.slow

#: Short, so a killed worker's job comes back within seconds (1 s without a heartbeat).
FAST_UPKEEP = {
    "TIMESIDE_WORKER_HEARTBEAT_TIMEOUT": "2",
    "TIMESIDE_OUTBOX_INTERVAL_S": "0.3",
    "TIMESIDE_JANITOR_INTERVAL_S": "1",
    "TIMESIDE_ALLOW_PRIVATE_URLS": "true",
    "TIMESIDE_TRANSCODE_WAIT_S": "1",  # past it the encode goes on, the client gets a 503
}
OUTAGE = "SERVICE_UNAVAILABLE"


@pytest.fixture
def stack(postgres: PostgresServer, redis_server: RedisServer, tmp_path: Path) -> Iterator[Stack]:
    built = Stack.build(postgres, redis_server, tmp_path, FAST_UPKEEP)
    yield built
    built.close()


def assert_settled(stack: Stack) -> None:
    """Every task and ingest ended (a failure with its reason), every row's file on disk, and,
    once the janitor passed, no temporary file anywhere in the data dir."""
    for task in stack.rows(Task):
        assert task.status in {TaskStatus.DONE, TaskStatus.CANCELLED, TaskStatus.FAILED}, task
        assert task.status != TaskStatus.FAILED or task.error
    for item in stack.rows(Item):
        assert item.ingest_status in {IngestStatus.NONE, IngestStatus.DONE}, item
        assert item.source_file and (stack.data_dir / item.source_file).is_file()
    for result in stack.rows(Result):
        assert result.status in {ResultStatus.DONE, ResultStatus.FAILED}, result
        files = [path for path in (result.hdf5_path, result.file_path) if path]
        if result.status == ResultStatus.DONE:
            assert files and all((stack.data_dir / path).exists() for path in files)

    def swept() -> bool:
        return not list(leftovers(stack.data_dir, older_than=-1))

    wait_until(swept, "the janitor's pass", timeout=15)


def assert_retry_later(response: httpx.Response) -> None:
    """503 with Retry-After: worth asking again later."""
    assert response.status_code == 503, response.text
    assert int(response.headers["Retry-After"]) > 0


def assert_outage(response: httpx.Response) -> None:
    """The typed answer of an outage: 503 with Retry-After and a GraphQL errors body."""
    assert_retry_later(response)
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == OUTAGE


# ---------------------------------------------------------------------------------------------
# (a) Redis down during an upload


def test_an_upload_while_redis_is_down_is_kept_and_ingested_once_it_is_back(stack: Stack):
    url, _ = stack.start()
    token = factories.token(stack.engine)
    stack.redis.kill()

    item_id = uuid.UUID(upload(url, token, "while Redis is down", wav()))  # 201

    item = stack.get(Item, item_id)
    assert item.ingest_status == IngestStatus.PENDING
    assert (stack.data_dir / item.source_file).is_file()
    stack.redis.start()  # empty: the outbox still holds the ingest's message
    wait_until(lambda: stack.get(Item, item_id).ingest_status == IngestStatus.DONE, "ingest", 30)
    assert_settled(stack)


# ---------------------------------------------------------------------------------------------
# (b) Redis restarted without persistence while a task runs


def test_a_task_survives_a_redis_restart_that_lost_its_messages(stack: Stack):
    world = stack.world(seconds=8.0, pids=SLOW)  # 3 items, one worker thread: 2 jobs queued
    url, _ = stack.start()
    token = factories.token(stack.engine, world.owner_id)
    assert run(url, token, world.task_id)["status"] == "PENDING"
    stack.until_computing(world.task_id)

    stack.redis.kill()
    stack.redis.start()  # the queued job messages are gone

    stack.until_done(world.task_id, 60)
    assert [job.attempts for job in stack.jobs(world.task_id)] == [1, 1, 1]  # no re-run
    assert_settled(stack)


# ---------------------------------------------------------------------------------------------
# (c) a worker killed mid-job, a server killed mid-upload


def test_a_job_of_a_killed_worker_is_run_again_by_another_and_its_files_swept(stack: Stack):
    world = stack.world(seconds=90.0, pids=SLOW, amplitudes=(0.5,))
    url, workers = stack.start(workers=2)
    token = factories.token(stack.engine, world.owner_id)
    run(url, token, world.task_id)
    stack.until_computing(world.task_id)

    [work] = stack.work_folders()
    stack.live.kill(stack.writer(workers, stack.work_folders()))

    stack.until_done(world.task_id, 60)
    [job] = stack.jobs(world.task_id)
    assert job.attempts == 2
    assert_settled(stack)
    assert not work.exists()


def test_a_partial_upload_of_a_killed_server_is_removed_by_the_next_one(stack: Stack):
    url = stack.live.serve()
    [server] = stack.live.processes
    token = factories.token(stack.engine)
    killed = threading.Event()

    def body() -> Iterator[bytes]:
        yield wav(2.0)
        killed.wait(30)  # the rest never comes
        yield b"\0" * 1024

    def send() -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with contextlib.suppress(httpx.TransportError):  # the server is gone
            httpx.post(f"{url}/media/items", content=body(), headers=headers, timeout=30)

    client = threading.Thread(target=send)
    client.start()
    media = stack.data_dir / "media"
    wait_until(lambda: bool(list(media.glob(".incoming-*.part"))), "a partial upload", 15)
    [partial] = media.glob(".incoming-*.part")
    assert f".{server.pid}-" in partial.name
    stack.live.kill(server)
    killed.set()
    client.join()

    stack.live.serve()  # its janitor sweeps at start
    wait_until(lambda: not partial.exists(), "the partial upload removed", 15)
    assert stack.rows(Item) == []
    assert_settled(stack)


# ---------------------------------------------------------------------------------------------
# (d) PostgreSQL killed while the server and the workers run


def test_a_database_outage_is_answered_typed_everywhere_and_recovered_from(stack: Stack):
    world = stack.world(seconds=20.0, pids=SLOW, amplitudes=(0.5, 0.25))
    url, _ = stack.start()
    token = factories.token(stack.engine, world.owner_id)
    headers = {"Authorization": f"Bearer {token}"}
    run(url, token, world.task_id)
    stack.until_computing(world.task_id)

    stack.postgres.kill()

    assert_outage(httpx.post(f"{url}/graphql", json={"query": "{ __typename }"}, headers=headers))
    anonymous = httpx.post(f"{url}/graphql", json={"query": "{ items(first: 1) { totalCount } }"})
    assert [e["extensions"]["code"] for e in anonymous.json()["errors"]] == [OUTAGE]
    item_id = world.item_ids[0]
    assert_outage(httpx.get(f"{url}/media/items/{item_id}/source", headers=headers))
    assert_outage(httpx.post(f"{url}/media/items", content=wav(), headers=headers))
    ready = httpx.get(f"{url}/readyz")
    assert ready.status_code == 503 and ready.json()["checks"]["database"].startswith("error")
    assert httpx.get(f"{url}/healthz").status_code == 200

    stack.postgres.start()  # the same data and port: crash recovery, then it answers
    wait_until(lambda: httpx.get(f"{url}/readyz").status_code == 200, "ready again", 30)
    stack.until_done(world.task_id, 90)
    again = build_world(stack.engine, stack.data_dir, failing=False, pids=("level",))
    run(url, factories.token(stack.engine, again.owner_id), again.task_id)
    stack.until_done(again.task_id, 30)
    assert_settled(stack)


# ---------------------------------------------------------------------------------------------
# (e) cancellation, and runTask repeated while the task runs


def test_cancel_frees_the_worker_within_a_second_and_a_repeated_run_claims_nothing(
    stack: Stack,
):
    slow = stack.world(seconds=240.0, pids=SLOW, amplitudes=(0.5,))
    quick = stack.world(pids=("level",), amplitudes=(0.5,))
    url, _ = stack.start()
    token = factories.token(stack.engine, slow.owner_id)
    run(url, token, slow.task_id)
    stack.until_computing(slow.task_id)
    for _ in range(2):  # refused while it runs: no second message, no second claim
        assert run(url, token, slow.task_id)["__typename"] == "ConflictError"
    run(url, factories.token(stack.engine, quick.owner_id), quick.task_id)  # waits for the worker

    cancelled_at = time.monotonic()
    assert graphql(url, token, CANCEL, id=str(slow.task_id))["cancelTask"]["status"] == "CANCELLED"

    def quick_started() -> bool:
        return any(job.started_at for job in stack.jobs(quick.task_id))

    results = stack.data_dir / "results"
    wait_until(lambda: not list(results.glob(".work-*")), "the job stopped", 10, every=0.02)
    stopped = time.monotonic() - cancelled_at
    wait_until(quick_started, "the worker free", 10, every=0.02)
    free = time.monotonic() - cancelled_at
    print(f"cancel: stopped after {stopped:.2f} s, next job claimed after {free:.2f} s")
    assert stopped <= 1.0, stopped  # the preset checks the flag between blocks of about 3 s
    assert free <= 2.0, free  # then the next message's fetch, fan-out and claim
    [job] = stack.jobs(slow.task_id)
    assert (job.status, job.attempts) == (JobStatus.CANCELLED, 1)
    stack.until_done(quick.task_id, 30)
    assert_settled(stack)


# ---------------------------------------------------------------------------------------------
# Ingest heartbeats


def test_an_ingest_of_a_killed_worker_is_released_and_run_again(stack: Stack, tmp_path: Path):
    (tmp_path / "web").mkdir()
    with FakeWeb(tmp_path / "web").running() as web:
        source = web.url("/drip/song.wav?delay=0.02&once=1")  # 8 s the first time only
        _, workers = stack.start(workers=2)
        with session_scope(stack.engine) as session:  # once both workers are ready
            author = factories.user(session, "ada")
            item = Item(title="dripped", source_url=source, author_id=author.id)
            item.ingest_status = IngestStatus.PENDING  # no message: the reconciler sends one
            session.add(item)
        downloads = stack.data_dir / "media"

        def downloading() -> bool:  # the request arrived, the response drips
            return bool(web.requests and list(downloads.glob(".download-*")))

        wait_until(downloading, "a download", every=0.05)
        assert stack.get(Item, item.id).ingest_status == IngestStatus.RUNNING
        stack.live.kill(stack.writer(workers, downloads.glob(".download-*")))
        killed_at = time.monotonic()
        wait_until(lambda: stack.get(Item, item.id).ingest_status == IngestStatus.DONE, "ingest")
    recovered = time.monotonic() - killed_at
    assert web.requests.count("/drip/song.wav?delay=0.02&once=1") == 2  # the other worker's
    assert recovered < float(FAST_UPKEEP["TIMESIDE_WORKER_HEARTBEAT_TIMEOUT"]) + 5
    assert_settled(stack)


# ---------------------------------------------------------------------------------------------
# (f) a server killed mid-transcode


def test_a_transcode_of_a_killed_server_is_made_again_by_the_next_one(stack: Stack):
    url, workers = stack.start()
    token = factories.token(stack.engine)
    item_id = uuid.UUID(upload(url, token, "long", wav(600.0)))
    wait_until(lambda: stack.get(Item, item_id).ingest_status == IngestStatus.DONE, "ingest")
    before = {result.id for result in stack.rows(Result)}  # the ingest's waveform
    path = f"/media/items/{item_id}/audio.mp3"
    headers = {"Authorization": f"Bearer {token}"}
    assert_retry_later(httpx.get(url + path, headers=headers, timeout=30))  # it encodes on
    wait_until(lambda: bool(stack.work_folders()), "the encode's work folder", 15, every=0.05)
    [work] = stack.work_folders()
    server = stack.writer(stack.live.processes, [work])
    assert server not in workers  # the server encodes, not a worker
    [row] = [result for result in stack.rows(Result) if result.id not in before]
    assert row.status == ResultStatus.RUNNING
    stack.live.kill(server)

    url = stack.live.serve()  # its janitor sweeps at start
    assert not work.exists()
    started = time.monotonic()
    made = transcoded(url + path, headers)  # its advisory locks went with its connections
    print(f"transcode made again {time.monotonic() - started:.1f} s after the restart")
    row = stack.get(Result, row.id)
    assert row.status == ResultStatus.DONE
    assert made == (stack.data_dir / str(row.file_path)).read_bytes()
    assert_settled(stack)
    assert_no_stray_result(stack)


def transcoded(url: str, headers: dict[str, str], timeout: float = 120) -> bytes:
    """The whole-file transcode, asked again after each 503 (its encode still going on)."""
    deadline = time.monotonic() + timeout
    while True:
        response = httpx.get(url, headers=headers, timeout=30)
        if response.status_code == 200:
            return response.content
        assert_retry_later(response)
        assert time.monotonic() < deadline, "the transcode never came"
        time.sleep(0.5)


def assert_no_stray_result(stack: Stack) -> None:
    """Every file under results/ belongs to a result row."""
    owned = {
        stack.data_dir / path
        for result in stack.rows(Result)
        for path in (result.hdf5_path, result.file_path)
        if path
    }
    files = {path for path in (stack.data_dir / "results").rglob("*") if path.is_file()}
    assert files <= owned, files - owned


# ---------------------------------------------------------------------------------------------
# (g) the data dir's disk full

UPLOAD = """mutation($file: Upload!) { createItem(input: {title: "full"}, file: $file) {
  __typename } }"""


@pytest.fixture
def full_stack(stack: Stack) -> Iterator[Stack]:
    """The stack's data dir on a tmpfs of 32 MiB (its database elsewhere), unmounted after."""
    mount = ["mount", "-t", "tmpfs", "-o", "size=32m", "tmpfs", str(stack.data_dir)]
    refused = subprocess.run(mount, capture_output=True, text=True)
    if refused.returncode:  # a capability of the machine, not a service to start
        pytest.skip(f"cannot mount a tmpfs: {refused.stderr.strip()}")
    try:
        yield stack
    finally:
        stack.close()  # no process holds a file open on it
        subprocess.run(["umount", "-l", str(stack.data_dir)], check=True)


def fill(folder: Path) -> Path:
    """A file taking every free byte of the folder's file system (written unbuffered, in
    halving blocks down to one byte)."""
    filler = folder / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        block = 1 << 20
        while block:
            try:
                os.write(descriptor, bytes(block))
            except OSError as error:
                assert error.errno == errno.ENOSPC, error
                block //= 2
    finally:
        os.close(descriptor)
    return filler


def test_a_full_disk_is_answered_typed_and_leaves_nothing_behind(full_stack: Stack):
    stack = full_stack
    world = stack.world(pids=("level", "waveform_simple"), amplitudes=(0.5,))
    url, _ = stack.start()
    token = factories.token(stack.engine, world.owner_id)
    headers = {"Authorization": f"Bearer {token}"}
    items = {item.id for item in stack.rows(Item)}
    media = set((stack.data_dir / "media").iterdir())
    filler = fill(stack.data_dir)

    response = httpx.post(f"{url}/media/items", content=wav(2.0), headers=headers, timeout=30)
    assert_outage(response)
    assert response.json()["reason"] == "ServiceUnavailable"
    operations = {"query": UPLOAD, "variables": {"file": None}}
    form = {"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})}
    files = {"0": ("full.wav", wav(2.0))}
    answer = httpx.post(f"{url}/graphql", data=form, files=files, headers=headers, timeout=30)
    codes = [error["extensions"]["code"] for error in answer.json().get("errors", [])]
    assert codes == [OUTAGE], answer.text
    assert {item.id for item in stack.rows(Item)} == items  # no row, no file, no partial one
    assert set((stack.data_dir / "media").iterdir()) == media

    run(url, token, world.task_id)  # its results cannot be written: it fails, with why
    wait_until(lambda: stack.task_status(world.task_id) == TaskStatus.FAILED, "task failed", 30)
    [job] = stack.jobs(world.task_id)
    assert "the server's disk is full" in str(job.error), job.error
    assert str(stack.data_dir) not in str(job.error)  # its owner reads no server path

    filler.unlink()
    upload(url, token, "room again", wav(2.0))
    run(url, token, world.task_id)
    stack.until_done(world.task_id, 60)
    assert_settled(stack)
    assert_no_stray_result(stack)
