"""The reconciler, the janitor, claims and outage answers, each driven directly."""

from __future__ import annotations

import json
import os
import subprocess
import time
from datetime import timedelta

import redis
from sqlmodel import select
from starlette.testclient import TestClient

from tests.db import factories
from tests.jobs.world import build_world, snapshot
from tests.servers import RedisServer
from timeside_gql.db.engine import create_engine, session_scope
from timeside_gql.db.models import (
    Job,
    JobStatus,
    OutboxMessage,
    TaskStatus,
    Webhook,
    WebhookDelivery,
)
from timeside_gql.db.types import utcnow
from timeside_gql.db.visibility import SYSTEM
from timeside_gql.http.app import create_app
from timeside_gql.jobs import execution, lifecycle, reconciler, webhooks
from timeside_gql.services import tasks
from timeside_gql.settings import Settings
from timeside_gql.storage import janitor


def started(engine, world) -> list:
    with session_scope(engine) as session:
        tasks.run_task(session, SYSTEM, world.task_id)
    return execution.fan_out(world.task_id)


def test_a_running_job_is_claimed_again_only_once_its_heartbeat_stopped(runtime, engine, data_dir):
    world = build_world(engine, data_dir, failing=False, pids=("level",))
    job_id = started(engine, world)[0]
    with session_scope(engine) as session:
        assert lifecycle.claim_job(session, job_id, max_attempts=3, stale_after=30) is not None
    with session_scope(engine) as session:  # a duplicate message while it runs: no claim
        assert lifecycle.claim_job(session, job_id, max_attempts=3, stale_after=30) is None
    with session_scope(engine) as session:
        session.get_one(Job, job_id).heartbeat_at = utcnow() - timedelta(seconds=31)
    with session_scope(engine) as session:  # its worker went silent: claimed, attempt 2
        assert lifecycle.claim_job(session, job_id, max_attempts=3, stale_after=30).attempts == 2


def test_the_reconciler_releases_silent_jobs_and_ends_settled_tasks(
    runtime, settings, engine, data_dir
):
    world = build_world(engine, data_dir, failing=False, pids=("level",))
    job_ids = started(engine, world)
    with session_scope(engine) as session:
        lifecycle.claim_job(session, job_ids[0], max_attempts=3)
        session.get_one(Job, job_ids[0]).heartbeat_at = utcnow() - timedelta(hours=1)
    repairs = reconciler.reconcile(engine, settings)
    assert repairs.released == [job_ids[0]]
    with session_scope(engine) as session:
        assert session.get_one(Job, job_ids[0]).status == JobStatus.PENDING
        subjects = [row.subject_id for row in session.exec(select(OutboxMessage))]
    assert subjects.count(job_ids[0]) == 2  # its first message and the new one

    with session_scope(engine) as session:  # every job ended, the task was left running
        for job in session.exec(select(Job).where(Job.task_id == world.task_id)):
            job.status = JobStatus.DONE
    assert reconciler.reconcile(engine, settings).settled == [world.task_id]
    assert snapshot(engine, world.task_id)[0].status == TaskStatus.DONE


def quick(settings: Settings) -> Settings:
    """The settings with a heartbeat timeout of 1.2 s: a grace of 0.2 s for lost messages."""
    return settings.model_copy(update={"worker_heartbeat_timeout": 1.2})


def test_messages_lost_by_a_redis_restart_are_sent_again(
    redis_runtime, redis_server: RedisServer, engine, data_dir
):
    settings = quick(redis_runtime)
    world = build_world(engine, data_dir, failing=False, pids=("level",))
    job_ids = started(engine, world)  # 3 job messages in Redis, nobody consumes them
    assert reconciler.reconcile(engine, settings).resent == []  # all still queued

    redis_server.kill()
    redis_server.start()  # no persistence: every message is gone
    time.sleep(settings.heartbeat_interval_s + 0.1)
    repairs = reconciler.reconcile(engine, settings)

    assert sorted(repairs.resent) == sorted(job_ids)
    client = redis.Redis.from_url(redis_server.url)
    assert client.hlen(f"{redis_runtime.redis_namespace}:jobs.msgs") == 3


def test_a_webhook_retry_lost_by_a_redis_restart_is_sent_again_once_due(
    redis_runtime, redis_server: RedisServer, engine
):
    settings = quick(redis_runtime)
    with session_scope(engine) as session:
        alice = factories.user(session, "alice")
        hook = Webhook(
            user_id=alice.id, url="http://127.0.0.1:9/", events=["task.done"], secret="s" * 20
        )
        session.add(hook)
        session.flush()
        later, due = (
            webhooks.add_delivery(session, hook.id, "task.done", {}, key=None).id for _ in range(2)
        )
    for delivery_id, wait_ms in ((later, 60_000), (due, 100)):  # each failed once: a retry waits
        with session_scope(engine) as session:
            row = session.get_one(WebhookDelivery, delivery_id)
            row.attempts, row.next_attempt_at = 1, utcnow() + timedelta(milliseconds=wait_ms)
        webhooks.send(delivery_id, delay_ms=wait_ms)
    time.sleep(0.4)
    assert reconciler.reconcile(engine, settings).resent == []  # its delayed message waits

    redis_server.kill()
    redis_server.start()  # the delayed retries went with it
    assert reconciler.reconcile(engine, settings).resent == [due]  # `later` is not due yet
    assert reconciler.reconcile(engine, settings).resent == []  # its new message is queued
    client = redis.Redis.from_url(redis_server.url)
    [raw] = client.hvals(f"{settings.redis_namespace}:webhooks.msgs")
    assert json.loads(raw)["args"] == [str(due)]


def test_the_janitor_removes_what_dead_processes_left_and_keeps_live_files(tmp_path):
    results, media = tmp_path / "results", tmp_path / "media"
    (results / "item").mkdir(parents=True)
    media.mkdir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    host = janitor.owner_tag().rpartition(".")[0]
    dead_work = results / f".work-{host}.{dead.pid}-abc"
    dead_work.mkdir()
    (dead_work / "part.ogg").write_bytes(b"x")
    live_work = results / f".work-{janitor.owner_tag()}-def"
    live_work.mkdir()
    dead_upload = media / f".incoming-{host}.{dead.pid}-x.part"
    dead_upload.write_bytes(b"x")
    dead_tmp = results / "item" / f".r.hdf5.{host}.{dead.pid}.1.tmp"
    dead_tmp.write_bytes(b"x")
    old_untagged = media / ".incoming-abc.part"
    old_untagged.write_bytes(b"x")
    os.utime(old_untagged, (time.time() - 7200, time.time() - 7200))
    fresh_untagged = results / "item" / "y.tmp"
    fresh_untagged.write_bytes(b"x")
    kept_result = results / "item" / "r.hdf5"
    kept_result.write_bytes(b"x")

    removed = janitor.sweep(tmp_path, older_than=3600)

    assert sorted(removed) == sorted([dead_work, dead_upload, dead_tmp, old_untagged])
    assert live_work.exists() and fresh_untagged.exists() and kept_result.exists()


def test_a_database_outage_is_answered_503_with_a_typed_error(settings):
    from tests.jobs.live import free_port

    down = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none")
    client = TestClient(create_app(settings, engine=down))  # no lifespan: it needs the database

    token_check = client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Authorization": "Bearer x"}
    )
    assert token_check.status_code == 503 and token_check.headers["Retry-After"] == "5"
    [error] = token_check.json()["errors"]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert error["message"].startswith("the database is unavailable")

    anonymous = client.post("/graphql", json={"query": "{ items(first: 1) { totalCount } }"})
    [error] = anonymous.json()["errors"]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"

    upload = client.post("/media/items", content=b"RIFF", headers={"Authorization": "Bearer x"})
    assert upload.status_code == 503 and upload.json()["reason"] == "ServiceUnavailable"

    assert client.get("/healthz").status_code == 200
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"].startswith("error: OperationalError")
    down.dispose()


def test_readyz_is_ready_when_the_database_answers(settings, engine):
    client = TestClient(create_app(settings, engine=engine))
    assert client.get("/readyz").json() == {"status": "ok", "checks": {"database": "ok"}}
