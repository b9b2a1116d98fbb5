"""Webhooks: the end of a task, an ingest or a result, POSTed signed to its author's endpoints.

``notify.publish`` hands every event here once the transaction behind it has committed. An event
that ends something (:func:`event_name`) about an object a user authored becomes one
``WebhookDelivery`` per active webhook of that user listening to it, with its
``deliver_webhook`` message in the outbox of the same transaction (docs/webhooks.md).

The delivery row is the state; messages only wake it up. An attempt claims the row (one more
attempt, and a lease: ``next_attempt_at`` moves past the longest a POST may take), POSTs outside
any transaction, then records the answer: delivered on a 2xx, otherwise tried again after an
exponential backoff (the message is sent again with a delay) until the attempts run out. A
message that arrives before its row is due (a duplicate, one redelivered after a worker died,
the one sent at start for every pending delivery) is sent again for when it is due, so two
messages never make two POSTs of one attempt.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any
from uuid import UUID

from sqlmodel import Session, col, select

from timeside_gql.db.engine import session_scope
from timeside_gql.db.models import (
    DeliveryStatus,
    Item,
    Preset,
    Processor,
    Result,
    Task,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
)
from timeside_gql.db.types import utcnow
from timeside_gql.jobs import outbox
from timeside_gql.jobs.config import get_engine
from timeside_gql.jobs.events import Event
from timeside_gql.jobs.lifecycle import lock
from timeside_gql.settings import Settings
from timeside_gql.storage.errors import MediaError
from timeside_gql.storage.fetch import Fetcher

log = logging.getLogger(__name__)

#: The event of ``sendTestWebhook``: sent whatever the webhook listens to.
TEST_EVENT = "webhook.test"
#: Seconds a claimed attempt keeps its delivery beyond the POST's time limit (see ``_lease``).
LEASE_MARGIN_S = 30


@dataclass(frozen=True)
class Subject:
    """What an event is about: who authored it, which state change it is, what to tell."""

    user_id: UUID | None
    key: str
    data: Callable[[], dict[str, Any]]


@dataclass(frozen=True)
class Attempt:
    delivery_id: UUID
    event: str
    url: str
    secret: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Wait:
    """The delivery is not due for ``ms`` milliseconds."""

    ms: int


# ---------------------------------------------------------------------------------------------
# Recording


def event_name(event: Event) -> WebhookEvent | None:
    """The webhook event a bus event stands for; None for the others (progress, starts)."""
    match event:
        case {"type": "task", "status": "done"}:
            return WebhookEvent.TASK_DONE
        case {"type": "task", "status": "failed"}:
            return WebhookEvent.TASK_FAILED
        case {"type": "item", "ingestStatus": "done"}:
            return WebhookEvent.ITEM_INGESTED
        case {"type": "item", "ingestStatus": "failed"}:
            return WebhookEvent.ITEM_FAILED
        case {"type": "result", "status": "done", "cached": False}:
            return WebhookEvent.RESULT_DONE  # a reused result was told when it was computed
    return None


def dispatch(event: Event) -> None:
    """Record the deliveries ``event`` calls for (sent once recorded). A failure is logged,
    never raised: the work the event reports is committed, and must not be undone by a webhook."""
    if event_name(event) is None:
        return
    try:
        with session_scope(get_engine()) as session:
            record(session, event)
    except Exception:
        log.exception("webhook deliveries of a %s event were not recorded", event.get("type"))


def record(session: Session, event: Event) -> None:
    """New deliveries of ``event`` to the webhooks of its subject's author that listen to it,
    sent once the session commits; none for a state change already recorded (the same event
    published twice)."""
    name = event_name(event)
    subject = _subject(session, name, event) if name else None
    if name is None or subject is None or subject.user_id is None:
        return
    webhooks = session.exec(
        select(Webhook).where(Webhook.user_id == subject.user_id, col(Webhook.is_active))
    )
    listening = [webhook.id for webhook in webhooks if name.value in webhook.events]
    if not listening:
        return
    recorded = set(
        session.exec(
            select(WebhookDelivery.webhook_id).where(
                col(WebhookDelivery.webhook_id).in_(listening),
                WebhookDelivery.event_key == subject.key,
            )
        )
    )
    data = subject.data()
    for webhook_id in listening:
        if webhook_id not in recorded:
            add_delivery(session, webhook_id, name.value, data, key=subject.key)


def add_delivery(
    session: Session, webhook_id: UUID, event: str, data: dict[str, Any], *, key: str | None
) -> WebhookDelivery:
    """A pending delivery, whose payload is the body every attempt sends, and its message in
    the outbox (sent once the session commits)."""
    delivery = WebhookDelivery(webhook_id=webhook_id, event=event, event_key=key)
    delivery.payload = {
        "id": str(delivery.id),
        "event": event,
        "createdAt": delivery.created_at.isoformat(),
        "data": data,
    }
    session.add(delivery)
    outbox.record(session, outbox.DELIVER_WEBHOOK, delivery.id)
    return delivery


def _subject(session: Session, name: WebhookEvent, event: Event) -> Subject | None:
    """The row the event is about, as of now; its key names the state change (a task's end, the
    item's or result's last write) so that publishing it again records nothing new."""
    kind = name.value.partition(".")[0]
    if kind == "task":
        task = session.get(Task, UUID(event["taskId"]))
        if task is None:
            return None
        key = _key(name, task.id, task.finished_at)
        return Subject(task.author_id, key, partial(_task_data, task, event))
    if kind == "item":
        item = session.get(Item, UUID(event["itemId"]))
        if item is None:
            return None
        key = _key(name, item.id, item.updated_at)
        return Subject(item.author_id, key, partial(_item_data, item, event))
    result = session.get(Result, UUID(event["resultId"]))
    item = session.get(Item, result.item_id) if result else None
    if result is None or item is None:
        return None
    key = _key(name, result.id, result.updated_at)
    return Subject(item.author_id, key, partial(_result_data, session, result, event))


def _key(name: WebhookEvent, row_id: UUID, when: datetime | None) -> str:
    return f"{name.value}:{row_id}@{_iso(when)}"


def _task_data(task: Task, event: Event) -> dict[str, Any]:
    return {
        "task": {
            "id": str(task.id),
            "status": event["status"],
            "error": task.error,
            "itemsTotal": event["itemsTotal"],
            "itemsDone": event["itemsDone"],
            "itemsFailed": event["itemsFailed"],
            "experienceId": str(task.experience_id),
            "itemId": _str(task.item_id),
            "selectionId": _str(task.selection_id),
            "startedAt": _iso(task.started_at),
            "finishedAt": _iso(task.finished_at),
        }
    }


def _item_data(item: Item, event: Event) -> dict[str, Any]:
    return {
        "item": {
            "id": str(item.id),
            "title": item.title,
            "ingestStatus": event["ingestStatus"],
            "ingestError": item.ingest_error,
            "sha1": item.sha1,
            "mimeType": item.mime_type,
            "audioDuration": item.audio_duration,
        }
    }


def _result_data(session: Session, result: Result, event: Event) -> dict[str, Any]:
    preset = session.get(Preset, result.preset_id)
    processor = session.get(Processor, preset.processor_id) if preset else None
    return {
        "result": {
            "id": str(result.id),
            "status": event["status"],
            "itemId": str(result.item_id),
            "presetId": str(result.preset_id),
            "processor": processor.pid if processor else None,
            "processorVersion": result.processor_version,
            "runTime": result.run_time,
            "taskId": event.get("taskId"),
        }
    }


def _str(value: UUID | None) -> str | None:
    return None if value is None else str(value)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


# ---------------------------------------------------------------------------------------------
# Delivering


def send(delivery_id: UUID, *, delay_ms: int | None = None) -> None:
    """Wake the delivery up now, or in ``delay_ms`` milliseconds (straight to the broker: the
    row is recorded already, and a wake-up lost with a broker outage is sent again by the
    reconciler once the delivery is due, or at an embedded start)."""
    from timeside_gql.jobs.actors import deliver_webhook  # the actors import this module's users

    deliver_webhook.send_with_options(args=(str(delivery_id),), delay=delay_ms)


def deliver(delivery_id: UUID, *, settings: Settings) -> None:
    """One attempt at the delivery if it is pending and due; the next one scheduled if it fails."""
    engine = get_engine()
    with session_scope(engine) as session:
        claim = _claim(session, delivery_id, settings)
    match claim:
        case Wait(ms=ms):
            send(delivery_id, delay_ms=ms)
        case Attempt():
            status, error = post(claim, fetcher=webhook_fetcher(settings))
            with session_scope(engine) as session:
                retry_ms = _settle(session, delivery_id, status, error, settings)
            if retry_ms is not None:
                send(delivery_id, delay_ms=retry_ms)


def give_up(delivery_id: UUID, *, error: str) -> None:
    """The attempt crashed (not a failed POST: those are retried): the delivery fails with why."""
    with session_scope(get_engine()) as session:
        delivery = lock(session, WebhookDelivery, delivery_id)
        if delivery is not None and delivery.status == DeliveryStatus.PENDING:
            _end(delivery, DeliveryStatus.FAILED, error=error)
            session.add(delivery)


def _claim(session: Session, delivery_id: UUID, settings: Settings) -> Attempt | Wait | None:
    delivery = lock(session, WebhookDelivery, delivery_id)
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return None
    webhook = session.get_one(Webhook, delivery.webhook_id)  # deleted: the delivery went too
    if not webhook.is_active:
        _end(delivery, DeliveryStatus.FAILED, error="the webhook was disabled")
        session.add(delivery)
        return None
    now = utcnow()
    if delivery.next_attempt_at is not None and delivery.next_attempt_at > now:
        return Wait(ms=math.ceil((delivery.next_attempt_at - now).total_seconds() * 1000))
    delivery.attempts += 1
    delivery.next_attempt_at = now + timedelta(seconds=_lease(settings))
    session.add(delivery)
    return Attempt(delivery.id, delivery.event, webhook.url, webhook.secret, delivery.payload)


def _lease(settings: Settings) -> float:
    """Seconds an attempt may hold its delivery: the POST's connect, send and read may each take
    the time limit, plus a margin for the database."""
    return 3 * settings.webhook_timeout_s + LEASE_MARGIN_S


def _settle(
    session: Session, delivery_id: UUID, status: int | None, error: str | None, settings: Settings
) -> int | None:
    """Record an attempt's answer; the milliseconds until the next attempt, if there is one."""
    delivery = lock(session, WebhookDelivery, delivery_id)
    if delivery is None or delivery.status != DeliveryStatus.PENDING:
        return None
    delivery.response_status = status
    session.add(delivery)
    if error is None:
        _end(delivery, DeliveryStatus.DELIVERED, error=None)
        return None
    if delivery.attempts >= settings.webhook_max_attempts:
        _end(delivery, DeliveryStatus.FAILED, error=error)
        return None
    wait_ms = backoff_ms(
        delivery.attempts,
        min_ms=settings.webhook_min_backoff_ms,
        max_ms=settings.webhook_max_backoff_ms,
    )
    delivery.error = error
    delivery.next_attempt_at = utcnow() + timedelta(milliseconds=wait_ms)
    return wait_ms


def _end(delivery: WebhookDelivery, status: DeliveryStatus, *, error: str | None) -> None:
    delivery.status, delivery.error, delivery.next_attempt_at = status, error, None
    if status == DeliveryStatus.DELIVERED:
        delivery.delivered_at = utcnow()


def backoff_ms(attempts: int, *, min_ms: int, max_ms: int) -> int:
    """The wait after ``attempts`` failed attempts: ``min_ms`` doubled each time, at most
    ``max_ms``."""
    return min(min_ms * 2 ** (attempts - 1), max_ms)


def post(attempt: Attempt, *, fetcher: Fetcher) -> tuple[int | None, str | None]:
    """POST the payload, signed now; (HTTP status or None, error or None if delivered)."""
    body = json.dumps(attempt.payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Timeside-Event": attempt.event,
        "X-Timeside-Delivery": str(attempt.delivery_id),
        "X-Timeside-Signature": signature(attempt.secret, body, timestamp=int(time.time())),
    }
    try:
        status = fetcher.post(attempt.url, body=body, headers=headers)
    except MediaError as error:  # refused address, no connection, time limit
        return None, str(error)
    return status, None if 200 <= status < 300 else f"HTTP {status}"


def signature(secret: str, body: bytes, *, timestamp: int) -> str:
    """``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">``: the timestamp is signed too,
    so a receiver that refuses old ones cannot be sent a captured delivery again later."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def webhook_fetcher(settings: Settings) -> Fetcher:
    """The downloads' fetcher (same SSRF guard) under the webhooks' time limit."""
    fetcher = Fetcher.from_settings(settings)
    return dataclasses.replace(fetcher, timeout_s=settings.webhook_timeout_s)


def due_deliveries(session: Session, *, before: datetime) -> list[UUID]:
    """Pending deliveries due since ``before`` (or new since then, never attempted): each
    should have a message waking it up (``reconciler.lost_deliveries`` checks)."""
    never_tried = col(WebhookDelivery.next_attempt_at).is_(None) & (
        col(WebhookDelivery.created_at) < before
    )
    query = select(WebhookDelivery.id).where(
        WebhookDelivery.status == DeliveryStatus.PENDING,
        never_tried | (col(WebhookDelivery.next_attempt_at) < before),
    )
    return list(session.exec(query))


def pending_deliveries(session: Session) -> list[UUID]:
    """Deliveries not yet delivered nor failed: what a stopped process may have left unsent."""
    query = select(WebhookDelivery.id).where(WebhookDelivery.status == DeliveryStatus.PENDING)
    return list(session.exec(query))
