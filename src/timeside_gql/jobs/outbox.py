"""The transactional outbox: a message is a row written in the transaction that needs it.

A message sent after the commit is lost when the broker is down at that moment (the row stays
pending for good), and one sent before it can run against a row that then rolls back. So a
write records an :class:`~timeside_gql.db.models.OutboxMessage` next to its rows; once the
transaction commits, that transaction's messages are sent at once (best effort), and a
dispatcher in every server and worker process sends whatever is left every
``outbox_interval_s`` seconds. A broker outage delays work; it never loses it nor turns the
committed write into an error. Delivery is at least once: a process killed between the send
and the stamp sends the message again, and every actor is idempotent.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from functools import partial

from dramatiq import Message
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from timeside_gql.db.engine import session_scope
from timeside_gql.db.hooks import batch_after_commit
from timeside_gql.db.models import OutboxMessage
from timeside_gql.db.types import utcnow
from timeside_gql.jobs.broker import get_broker
from timeside_gql.jobs.middleware import describe

log = logging.getLogger(__name__)

#: The actors (``jobs.actors``) messages are recorded for.
FAN_OUT_TASK, RUN_JOB, INGEST_ITEM = "fan_out_task", "run_job", "ingest_item"
DELIVER_WEBHOOK = "deliver_webhook"

#: Rows one dispatcher pass sends at most (the next pass takes the rest).
BATCH = 500


def record(session: Session, actor: str, subject_id: uuid.UUID) -> OutboxMessage:
    """Queue ``actor(str(subject_id))`` with this transaction; sent once it commits."""
    message = OutboxMessage(actor=actor, args=[str(subject_id)], subject_id=subject_id)
    session.add(message)
    bind = session.get_bind()
    engine = bind if isinstance(bind, Engine) else bind.engine
    batch_after_commit(session, "outbox", message.id, partial(_deliver_committed, engine))
    return message


def _deliver_committed(engine: Engine, ids: list[object]) -> None:
    deliver(engine, [i for i in ids if isinstance(i, uuid.UUID)])


def deliver(engine: Engine, ids: Sequence[uuid.UUID]) -> int:
    """Send the unsent rows among ``ids`` and stamp them; how many were sent.

    A broker failure is recorded on the row and ends the pass: the dispatcher tries again.
    Rows another process is sending are skipped (row locks on PostgreSQL).
    """
    if not ids:
        return 0
    sent = 0
    with session_scope(engine) as session:
        rows = session.exec(
            select(OutboxMessage)
            .where(col(OutboxMessage.id).in_(ids), col(OutboxMessage.sent_at).is_(None))
            .order_by(col(OutboxMessage.created_at))
            .with_for_update(skip_locked=True)
        ).all()
        for row in rows:
            row.attempts += 1
            session.add(row)
            try:
                row.broker_ref = send(row)
            except Exception as exc:  # the broker is down: the row waits for the next pass
                row.error = describe(exc)
                log.warning("outbox: %s(%s) not sent yet: %s", row.actor, row.args, row.error)
                break
            row.sent_at, row.error = utcnow(), None
            sent += 1
    return sent


def send(row: OutboxMessage) -> str | None:
    """Enqueue the row's message on this process's broker; the broker's key of it."""
    from timeside_gql.jobs import actors  # noqa: F401 - declares the actors on the broker

    broker = get_broker()
    actor = broker.get_actor(row.actor)
    message: Message[None] = Message(
        queue_name=actor.queue_name,
        actor_name=actor.actor_name,
        args=tuple(row.args),
        kwargs={},
        options={},
        message_id=str(row.id),
    )
    return broker.enqueue(message).options.get("redis_message_id")


def unsent(session: Session, *, limit: int = BATCH) -> list[uuid.UUID]:
    """The oldest rows not sent yet."""
    query = (
        select(OutboxMessage.id)
        .where(col(OutboxMessage.sent_at).is_(None))
        .order_by(col(OutboxMessage.created_at))
        .limit(limit)
    )
    return list(session.exec(query))


def dispatch(engine: Engine) -> int:
    """One dispatcher pass: send what is left unsent; how many were sent."""
    with session_scope(engine) as session:
        ids = unsent(session)
    return deliver(engine, ids)
