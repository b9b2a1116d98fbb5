"""Webhooks delivered by the embedded runtime to a real local receiver: signed, retried with
backoff, given up, checked against private addresses at delivery, recorded once per state
change, and sent again after a restart."""

from __future__ import annotations

import re
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from dramatiq import Worker
from sqlmodel import Session, select
from starlette.testclient import TestClient

from tests.db import factories
from tests.jobs.receiver import Receiver, verify
from tests.jobs.world import build_world
from timeside_gql.db.engine import session_scope
from timeside_gql.db.models import (
    DeliveryStatus,
    IngestStatus,
    Result,
    ResultStatus,
    Task,
    TaskStatus,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
)
from timeside_gql.db.types import utcnow
from timeside_gql.db.visibility import Viewer
from timeside_gql.http.app import create_app
from timeside_gql.jobs import webhooks
from timeside_gql.jobs.broker import WEBHOOKS_QUEUE, build_broker, get_broker, set_broker
from timeside_gql.jobs.notify import item_event, publish, result_event, task_event
from timeside_gql.jobs.runtime import requeue_unfinished
from timeside_gql.services import webhooks as service
from timeside_gql.services.inputs import WebhookFields
from timeside_gql.settings import get_settings

MIN_BACKOFF_S = 0.2
MAX_ATTEMPTS = 4
#: Scheduling latency allowed on top of a backoff (worker polling, a loaded machine).
SLACK_S = 3.0

CREATE = """mutation($input: WebhookInput!) { createWebhook(input: $input) { __typename
  ... on WebhookSecret { secret webhook { id } } ... on Error { message } } }"""
SEND_TEST = """mutation($id: UUID!) { sendTestWebhook(id: $id) { __typename
  ... on WebhookDelivery { id status event } ... on Error { message } } }"""
RUN = "mutation($id: UUID!) { runTask(id: $id) { ... on Task { status } } }"
LOG = """query($first: Int, $after: String) { webhooks { nodes { deliveries(first: $first,
  after: $after) { totalCount pageInfo { hasNextPage endCursor } nodes { id event status
  attempts responseStatus error deliveredAt nextAttemptAt payload } } } } }"""


@pytest.fixture
def settings(settings, monkeypatch):
    """Loopback receivers allowed, and retries in fractions of a second."""
    monkeypatch.setenv("TIMESIDE_ALLOW_PRIVATE_URLS", "1")
    monkeypatch.setenv("TIMESIDE_WEBHOOK_MIN_BACKOFF_MS", str(int(MIN_BACKOFF_S * 1000)))
    monkeypatch.setenv("TIMESIDE_WEBHOOK_MAX_ATTEMPTS", str(MAX_ATTEMPTS))
    monkeypatch.setenv("TIMESIDE_WEBHOOK_TIMEOUT_S", "5")
    monkeypatch.setenv("TIMESIDE_EMBEDDED_WORKER_THREADS", "2")
    get_settings.cache_clear()
    return get_settings()


@pytest.fixture
def client(settings, engine):
    with TestClient(create_app(settings, engine=engine)) as client:
        yield client


def post(client: TestClient, query: str, token: str, **variables: Any) -> dict:
    body = {"query": query, "variables": variables}
    response = client.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}"})
    assert "errors" not in response.json(), response.json()
    return response.json()["data"]


def create(client: TestClient, token: str, url: str, events: list[str]) -> tuple[str, str]:
    """(webhook id, secret)"""
    created = post(client, CREATE, token, input={"url": url, "events": events})["createWebhook"]
    assert created["__typename"] == "WebhookSecret", created
    return created["webhook"]["id"], created["secret"]


def delivery_log(client: TestClient, token: str, **page: Any) -> dict:
    """The deliveries connection of the caller's only webhook."""
    [webhook] = post(client, LOG, token, **page)["webhooks"]["nodes"]
    return webhook["deliveries"]


def settled(client: TestClient, token: str, count: int, *, timeout: float = 60) -> list[dict]:
    """The caller's deliveries once ``count`` of them are delivered or failed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        nodes = delivery_log(client, token)["nodes"]
        if sum(node["status"] != "PENDING" for node in nodes) >= count:
            return nodes
        time.sleep(0.05)
    raise AssertionError(f"fewer than {count} deliveries settled in {timeout} s: {nodes}")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_finished_task_and_its_results_reach_their_authors_webhook_signed(
    client, engine, data_dir
):
    world = build_world(engine, data_dir, failing=False, pids=("level",))
    owner = factories.token(engine, world.owner_id)
    stranger = factories.token(engine, username="stranger")
    with Receiver().running() as receiver:
        _, secret = create(
            client, owner, receiver.url("/owner"), ["TASK_DONE", "TASK_FAILED", "RESULT_DONE"]
        )
        create(client, stranger, receiver.url("/stranger"), ["TASK_DONE", "RESULT_DONE"])
        assert post(client, RUN, owner, id=str(world.task_id))["runTask"]["status"] == "PENDING"
        requests = receiver.wait_for(4)  # 3 items by 1 preset, and the task
        deliveries = settled(client, owner, 4)
        assert len(receiver.received) == 4

    events = [verify(secret, request.headers, request.body) for request in requests]
    assert {request.path for request in requests} == {"/owner"}
    assert Counter(event["event"] for event in events) == {"result.done": 3, "task.done": 1}
    [task] = [event["data"]["task"] for event in events if event["event"] == "task.done"]
    assert (task["id"], task["status"], task["error"]) == (str(world.task_id), "done", None)
    assert (task["itemsTotal"], task["itemsDone"], task["itemsFailed"]) == (3, 3, 0)
    results = [event["data"]["result"] for event in events if event["event"] == "result.done"]
    assert sorted(result["itemId"] for result in results) == sorted(map(str, world.item_ids))
    assert {(r["processor"], r["status"], r["taskId"]) for r in results} == {
        ("level", "done", str(world.task_id))
    }

    assert len(deliveries) == 4
    assert {d["payload"]["id"] for d in deliveries} == {event["id"] for event in events}
    for delivery in deliveries:
        assert (delivery["status"], delivery["attempts"], delivery["responseStatus"]) == (
            "DELIVERED",
            1,
            200,
        )
        assert delivery["error"] is None and delivery["nextAttemptAt"] is None
        assert delivery["deliveredAt"] is not None
    assert delivery_log(client, stranger)["totalCount"] == 0  # not their task

    first = delivery_log(client, owner, first=3)
    rest = delivery_log(client, owner, first=3, after=first["pageInfo"]["endCursor"])
    assert first["pageInfo"]["hasNextPage"] and not rest["pageInfo"]["hasNextPage"]
    assert [d["id"] for d in first["nodes"] + rest["nodes"]] == [d["id"] for d in deliveries]


def test_the_signature_covers_the_body_and_the_timestamp(client, engine):
    token = factories.token(engine, username="ada")
    with Receiver().running() as receiver:
        webhook_id, secret = create(client, token, receiver.url(), ["TASK_DONE"])
        sent = post(client, SEND_TEST, token, id=webhook_id)["sendTestWebhook"]
        [request] = receiver.wait_for(1)

    event = verify(secret, request.headers, request.body)
    assert (event["id"], event["event"]) == (sent["id"], "webhook.test")
    assert event["data"]["webhook"] == {
        "id": webhook_id,
        "url": receiver.url(),
        "events": ["task.done"],
    }
    tampered = request.body.replace(b"webhook.test", b"webhook.tesT")
    with pytest.raises(AssertionError, match="bad signature"):
        verify(secret, request.headers, tampered)
    with pytest.raises(AssertionError, match="bad signature"):
        verify(secret + "x", request.headers, request.body)
    t, v1 = request.headers["X-Timeside-Signature"].split(",")
    replayed = f"t={int(t[2:]) + 60},{v1}"  # a fresh timestamp on a captured signature
    with pytest.raises(AssertionError, match="bad signature"):
        verify(secret, {**request.headers, "X-Timeside-Signature": replayed}, request.body)
    old = f"t={int(t[2:]) - 301},{v1}"
    with pytest.raises(AssertionError, match="stale timestamp"):
        verify(secret, {**request.headers, "X-Timeside-Signature": old}, request.body)


def documented_verify() -> Callable[[str, str, bytes], dict]:
    """The ``verify`` of docs/webhooks.md, as a receiver would paste it."""
    page = (Path(__file__).parents[2] / "docs" / "webhooks.md").read_text(encoding="utf-8")
    [snippet] = re.findall(r"```python\n(.*?)```", page, flags=re.DOTALL)
    namespace: dict[str, Any] = {}
    exec(snippet, namespace)
    return namespace["verify"]


def test_the_documented_verifier_accepts_a_delivery_and_nothing_else(client, engine):
    token = factories.token(engine, username="ada")
    with Receiver().running() as receiver:
        webhook_id, secret = create(client, token, receiver.url(), ["TASK_DONE"])
        sent = post(client, SEND_TEST, token, id=webhook_id)["sendTestWebhook"]
        [request] = receiver.wait_for(1)

    verify_documented = documented_verify()
    header = request.headers["X-Timeside-Signature"]
    assert verify_documented(secret, header, request.body)["id"] == sent["id"]
    with pytest.raises(ValueError, match="bad signature"):
        verify_documented(secret, header, request.body + b" ")
    with pytest.raises(ValueError, match="bad signature"):
        verify_documented("another secret", header, request.body)
    t, v1 = header.split(",")
    with pytest.raises(ValueError, match="tolerance"):
        verify_documented(secret, f"t={int(t[2:]) - 600},{v1}", request.body)


def test_failed_attempts_are_retried_with_exponential_backoff(client, engine):
    token = factories.token(engine, username="ada")
    with Receiver(statuses=[500, 503]).running() as receiver:
        webhook_id, secret = create(client, token, receiver.url(), ["TASK_DONE"])
        sent = post(client, SEND_TEST, token, id=webhook_id)["sendTestWebhook"]
        assert (sent["__typename"], sent["status"]) == ("WebhookDelivery", "PENDING")
        attempts = receiver.wait_for(3)
        [delivery] = settled(client, token, 1)

    assert {verify(secret, a.headers, a.body)["id"] for a in attempts} == {sent["id"]}
    assert attempts[0].body == attempts[1].body == attempts[2].body
    first_gap, second_gap = (attempts[1].at - attempts[0].at, attempts[2].at - attempts[1].at)
    assert MIN_BACKOFF_S <= first_gap < MIN_BACKOFF_S + SLACK_S
    assert 2 * MIN_BACKOFF_S <= second_gap < 2 * MIN_BACKOFF_S + SLACK_S
    assert (delivery["status"], delivery["attempts"], delivery["responseStatus"]) == (
        "DELIVERED",
        3,
        200,
    )
    assert delivery["error"] is None


@pytest.mark.parametrize("endpoint", ["answers 500", "refuses connections"])
def test_a_delivery_fails_for_good_after_its_last_attempt(client, engine, endpoint):
    token = factories.token(engine, username="ada")
    with Receiver(statuses=[500] * (MAX_ATTEMPTS + 1)).running() as receiver:
        closed = f"http://127.0.0.1:{closed_port()}/hook"
        url = receiver.url() if endpoint == "answers 500" else closed
        webhook_id, _ = create(client, token, url, ["TASK_DONE"])
        post(client, SEND_TEST, token, id=webhook_id)
        [delivery] = settled(client, token, 1)

    assert (delivery["status"], delivery["attempts"]) == ("FAILED", MAX_ATTEMPTS)
    if endpoint == "answers 500":
        assert len(receiver.received) == MAX_ATTEMPTS
        assert (delivery["responseStatus"], delivery["error"]) == (500, "HTTP 500")
    else:
        assert delivery["responseStatus"] is None
        assert delivery["error"].startswith(closed) and "refused" in delivery["error"].lower()


def test_the_address_is_checked_again_at_each_delivery(runtime, engine, settings):
    """A name may resolve elsewhere after the webhook was registered: each POST checks it."""
    with Receiver().running() as receiver:
        with session_scope(engine) as session:
            viewer = Viewer.of(factories.user(session, "ada"))
            fields = WebhookFields(url=receiver.url(), events=[WebhookEvent.TASK_DONE])
            created = service.create_webhook(session, viewer, fields, settings)
            delivery_id = service.send_test_event(session, viewer, created.webhook.id).id
        strict = settings.model_copy(update={"allow_private_urls": False})
        before = utcnow()
        webhooks.deliver(delivery_id, settings=strict)
        after = utcnow()
        assert receiver.received == []

    with Session(engine) as session:
        row = session.get_one(WebhookDelivery, delivery_id)
    assert (row.status, row.attempts, row.response_status) == (DeliveryStatus.PENDING, 1, None)
    assert "127.0.0.1 is a private or reserved address" in (row.error or "")
    backoff = timedelta(seconds=MIN_BACKOFF_S)  # then retried, like any failed attempt
    assert row.next_attempt_at is not None
    assert before + backoff <= row.next_attempt_at <= after + backoff


def test_each_state_change_is_recorded_once_for_the_webhooks_listening(runtime, engine):
    with session_scope(engine) as session:
        alice = factories.user(session, "alice")
        item = factories.item(
            session, author_id=alice.id, ingest_status=IngestStatus.DONE, sha1="a" * 40
        )
        ownerless = factories.item(session, ingest_status=IngestStatus.DONE)
        hooks = [
            Webhook(user_id=alice.id, url="http://127.0.0.1:9/", events=events, secret="s" * 20)
            for events in (["item.ingested", "item.failed"], ["task.done"])
        ]
        session.add_all(hooks)
    for _ in range(2):  # a redelivered message publishes its event again
        publish(item_event(item.id, IngestStatus.DONE))
    publish(item_event(item.id, IngestStatus.RUNNING, progress=0.5))
    publish(item_event(ownerless.id, IngestStatus.DONE))

    with Session(engine) as session:
        deliveries = list(session.exec(select(WebhookDelivery)))
    [delivery] = deliveries
    assert (delivery.webhook_id, delivery.event) == (hooks[0].id, "item.ingested")
    assert delivery.payload["data"]["item"] == {
        "id": str(item.id),
        "title": "item",
        "ingestStatus": "done",
        "ingestError": None,
        "sha1": "a" * 40,
        "mimeType": None,
        "audioDuration": None,
    }
    assert get_broker().queues[WEBHOOKS_QUEUE].qsize() == 1

    with session_scope(engine) as session:  # ingested again: a new state change
        session.get_one(type(item), item.id).title = "again"
    publish(item_event(item.id, IngestStatus.DONE))
    with Session(engine) as session:
        assert len(session.exec(select(WebhookDelivery)).all()) == 2


@pytest.mark.parametrize(
    ("event", "name"),
    [
        ({"type": "task", "status": "done"}, WebhookEvent.TASK_DONE),
        ({"type": "task", "status": "failed"}, WebhookEvent.TASK_FAILED),
        ({"type": "task", "status": "cancelled"}, None),
        ({"type": "task", "status": "running"}, None),
        ({"type": "job", "status": "done"}, None),
        ({"type": "item", "ingestStatus": "done"}, WebhookEvent.ITEM_INGESTED),
        ({"type": "item", "ingestStatus": "failed"}, WebhookEvent.ITEM_FAILED),
        ({"type": "item", "ingestStatus": "running", "progress": 0.5}, None),
        ({"type": "result", "status": "done", "cached": False}, WebhookEvent.RESULT_DONE),
        ({"type": "result", "status": "done", "cached": True}, None),
        ({"type": "result", "status": "failed", "cached": False}, None),
    ],
)
def test_which_bus_events_are_webhook_events(event, name):
    assert webhooks.event_name(event) == name


def test_the_events_of_notify_are_those_event_name_reads():
    """The shapes matched above are the ones jobs.notify builds."""
    task = Task(status=TaskStatus.DONE, experience_id=uuid.uuid4())
    result = Result(status=ResultStatus.DONE, item_id=uuid.uuid4(), preset_id=uuid.uuid4())
    assert webhooks.event_name(task_event(task)) == WebhookEvent.TASK_DONE
    assert webhooks.event_name(result_event(result, task_id=None)) == WebhookEvent.RESULT_DONE
    failed = item_event(result.item_id, IngestStatus.FAILED)
    assert webhooks.event_name(failed) == WebhookEvent.ITEM_FAILED


def test_pending_deliveries_are_sent_again_at_start_and_once(runtime, engine, settings):
    with Receiver().running() as receiver:
        with session_scope(engine) as session:
            viewer = Viewer.of(factories.user(session, "ada"))
            fields = WebhookFields(url=receiver.url(), events=[WebhookEvent.TASK_DONE])
            created = service.create_webhook(session, viewer, fields, settings)
            delivery_id = service.send_test_event(session, viewer, created.webhook.id).id
        set_broker(build_broker(settings))  # a restart: the embedded queue is gone
        worker = Worker(get_broker(), worker_threads=2, worker_timeout=50)
        worker.start()
        try:
            requeue_unfinished()
            requeue_unfinished()  # two wake-ups of one delivery: still one POST
            [request] = receiver.wait_for(1)
            row = stored_when(engine, delivery_id, lambda row: row.status != DeliveryStatus.PENDING)
            time.sleep(0.5)  # time for the other wake-up to be handled
        finally:
            worker.stop()

    assert verify(created.secret, request.headers, request.body)["id"] == str(delivery_id)
    assert len(receiver.received) == 1
    assert (row.status, row.attempts) == (DeliveryStatus.DELIVERED, 1)


def stored_when(
    engine, delivery_id, done: Callable[[WebhookDelivery], bool], *, timeout: float = 30
) -> WebhookDelivery:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with Session(engine) as session:
            row = session.get_one(WebhookDelivery, delivery_id)
        if done(row):
            return row
        time.sleep(0.05)
    raise AssertionError(f"delivery {delivery_id} still {row.status} after {timeout} s")
