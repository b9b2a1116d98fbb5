"""The transactional outbox against a real Redis that the test kills: a broker outage delays
work, never loses it, and never turns a committed write into an error."""

from __future__ import annotations

import redis
from sqlmodel import col, select

from tests.jobs.world import build_world
from tests.servers import RedisServer
from timeside_gql.db.engine import session_scope
from timeside_gql.db.models import OutboxMessage, TaskStatus
from timeside_gql.db.visibility import SYSTEM
from timeside_gql.jobs import outbox
from timeside_gql.jobs.broker import get_broker
from timeside_gql.services import tasks


def messages(engine) -> list[OutboxMessage]:
    with session_scope(engine) as session:
        return list(session.exec(select(OutboxMessage).order_by(col(OutboxMessage.created_at))))


def queued(settings, queue: str) -> list[bytes]:
    client = redis.Redis.from_url(settings.redis_url)
    return list(client.hkeys(f"{settings.redis_namespace}:{queue}.msgs"))


def test_run_task_while_redis_is_down_commits_and_sends_once_it_is_back(
    redis_runtime, redis_server: RedisServer, engine, data_dir
):
    world = build_world(engine, data_dir, failing=False, pids=("level",))
    redis_server.kill()

    with session_scope(engine) as session:  # commits although the broker is down
        task = tasks.run_task(session, SYSTEM, world.task_id)
    assert task.status == TaskStatus.PENDING
    [row] = messages(engine)
    assert (row.actor, row.args, row.sent_at) == ("fan_out_task", [str(world.task_id)], None)
    assert row.attempts == 1 and row.error == "the message broker is unavailable"

    assert outbox.dispatch(engine) == 0  # still down: nothing sent, nothing lost
    redis_server.start()  # empty: it kept nothing
    assert outbox.dispatch(engine) == 1

    [row] = messages(engine)
    assert row.sent_at is not None and row.attempts == 3 and row.error is None
    assert queued(redis_runtime, "tasks") == [row.broker_ref.encode()]
    assert outbox.dispatch(engine) == 0  # sent once


def test_messages_go_at_commit_when_the_broker_is_up(redis_runtime, engine, data_dir):
    world = build_world(engine, data_dir, failing=False, pids=("level",))
    with session_scope(engine) as session:
        tasks.run_task(session, SYSTEM, world.task_id)
    [row] = messages(engine)
    assert row.sent_at is not None and row.attempts == 1
    assert queued(redis_runtime, "tasks") == [row.broker_ref.encode()]
    assert get_broker().get_declared_queues() >= {"tasks"}


def test_a_rolled_back_transaction_sends_nothing(redis_runtime, engine, data_dir):
    world = build_world(engine, data_dir, failing=False, pids=("level",))
    try:
        with session_scope(engine) as session:
            tasks.run_task(session, SYSTEM, world.task_id)
            raise RuntimeError("the write fails after recording its message")
    except RuntimeError:
        pass
    assert messages(engine) == []
    assert queued(redis_runtime, "tasks") == []
