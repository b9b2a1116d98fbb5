"""The reconciler: rows are the truth, and it makes the broker and the disk agree with them.

Every server and worker process runs the same periodic upkeep (:class:`Upkeep`): heartbeats
of the jobs it runs and the outbox dispatcher; one of them at a time (the leader, elected
through a Redis key with a time-to-live; an embedded server is alone) also reconciles:

- a running job or ingest whose heartbeat stopped (its worker was killed) goes back to pending
  and is sent again: picked up within ``worker_heartbeat_timeout`` of the kill;
- a pending task, job or ingest whose message the broker no longer holds (a Redis restart
  without persistence, a flush) is sent again, and so is a pending webhook delivery, due, that
  no message of the broker names (its delayed retry was lost);
- a running task none of whose jobs is active is ended (done or failed);
- the janitor removes temporary files of dead processes and fails result rows left running.

Each repair is idempotent, and a message sent twice is harmless (claims re-read the rows).
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial

import redis
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select, update

from timeside_gql.db.engine import session_scope
from timeside_gql.db.models import IngestStatus, Item, OutboxMessage, Result, ResultStatus
from timeside_gql.db.types import utcnow
from timeside_gql.jobs import heartbeat, ingest, lifecycle, outbox, webhooks
from timeside_gql.jobs.broker import get_broker
from timeside_gql.jobs.notify import publish, task_event
from timeside_gql.settings import Settings
from timeside_gql.storage import janitor

log = logging.getLogger(__name__)

ABANDONED = "abandoned: the process computing it stopped"


@dataclass
class Repairs:
    """What one reconciler pass did (for logs and tests)."""

    released: list[uuid.UUID] = field(default_factory=list)
    resent: list[uuid.UUID] = field(default_factory=list)
    settled: list[uuid.UUID] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.released or self.resent or self.settled)


def reconcile(engine: Engine, settings: Settings) -> Repairs:
    """One pass over jobs, messages and tasks (see the module's docstring)."""
    repairs = Repairs()
    with session_scope(engine) as session:
        repairs.released = lifecycle.release_silent(session, stale_after=settings.job_stale_s)
        for job_id in repairs.released:
            outbox.record(session, outbox.RUN_JOB, job_id)
        ingests = ingest.release_silent(session, stale_after=settings.job_stale_s)
        for item_id in ingests:
            outbox.record(session, outbox.INGEST_ITEM, item_id)
        repairs.released += ingests
    with session_scope(engine) as session:
        lost = lost_messages(session, grace=settings.heartbeat_interval_s)
        lost += lost_deliveries(session, grace=settings.heartbeat_interval_s)
        for actor, subject in lost:
            outbox.record(session, actor, subject)
            repairs.resent.append(subject)
    with session_scope(engine) as session:
        tasks = [lifecycle.settle_task(session, task) for task in lifecycle.ended_tasks(session)]
        events = [task_event(task) for task in tasks if task is not None]
        repairs.settled = [task.id for task in tasks if task is not None]
    for event in events:
        publish(event)
    if repairs:
        log.warning("reconciler: %s", repairs)
    return repairs


def lost_messages(session: Session, *, grace: float) -> list[tuple[str, uuid.UUID]]:
    """(actor, subject) of pending work whose last message was sent over ``grace`` seconds ago
    and is gone from the broker, or that has no message at all."""
    waiting = [(outbox.FAN_OUT_TASK, task) for task in lifecycle.pending_tasks(session)]
    waiting += [(outbox.RUN_JOB, job) for job in lifecycle.pending_jobs(session)]
    pending_items = select(Item.id).where(Item.ingest_status == IngestStatus.PENDING)
    waiting += [(outbox.INGEST_ITEM, item) for item in session.exec(pending_items)]
    if not waiting:
        return []
    latest: dict[uuid.UUID, OutboxMessage] = {}
    rows = session.exec(
        select(OutboxMessage)
        .where(col(OutboxMessage.subject_id).in_([subject for _, subject in waiting]))
        .order_by(col(OutboxMessage.created_at))
    )
    for row in rows:
        latest[row.subject_id] = row
    cutoff = utcnow() - timedelta(seconds=grace)
    lost = []
    for actor, subject in waiting:
        last = latest.get(subject)
        if last is None or (last.sent_at is not None and last.sent_at < cutoff and _gone(last)):
            lost.append((actor, subject))
    return lost


def _gone(row: OutboxMessage) -> bool:
    """The broker no longer holds the message (neither queued nor being processed).

    Only the Redis broker can lose messages while this process lives; the embedded stub
    broker's queue dies with the process, and its restart sends everything again.
    """
    broker = get_broker()
    if not isinstance(broker, RedisBroker) or not row.broker_ref:
        return False
    queue = broker.get_actor(row.actor).queue_name
    return not broker.client.hexists(f"{broker.namespace}:{queue}.msgs", row.broker_ref)


def lost_deliveries(session: Session, *, grace: float) -> list[tuple[str, uuid.UUID]]:
    """(actor, delivery) of pending webhook deliveries due for ``grace`` seconds that no message
    of the broker names: their wake-up, sent straight to the broker with a delay
    (``webhooks.send``), was lost."""
    broker = get_broker()
    if not isinstance(broker, RedisBroker):
        return []
    due = webhooks.due_deliveries(session, before=utcnow() - timedelta(seconds=grace))
    if not due:
        return []
    waiting = set(
        session.exec(
            select(OutboxMessage.subject_id).where(
                col(OutboxMessage.subject_id).in_(due), col(OutboxMessage.sent_at).is_(None)
            )
        )
    )
    queued = _queued_subjects(broker, outbox.DELIVER_WEBHOOK)
    return [
        (outbox.DELIVER_WEBHOOK, delivery)
        for delivery in due
        if delivery not in waiting and str(delivery) not in queued
    ]


def _queued_subjects(broker: RedisBroker, actor: str) -> set[str]:
    """The first argument of every message of ``actor`` Redis holds: queued, delayed (the
    queue's ``.DQ``) or being processed (kept until acknowledged)."""
    queue = broker.get_actor(actor).queue_name
    subjects = set()
    for name in (queue, f"{queue}.DQ"):
        for _, raw in broker.client.hscan_iter(f"{broker.namespace}:{name}.msgs"):
            message = json.loads(raw)
            if message.get("actor_name") == actor and message.get("args"):
                subjects.add(str(message["args"][0]))
    return subjects


def fail_abandoned_results(engine: Engine, *, older_than: float) -> int:
    """Result rows running for longer than any job may run: their process died."""
    cutoff = utcnow() - timedelta(seconds=older_than)
    with session_scope(engine) as session:
        outcome = session.exec(
            update(Result)
            .where(col(Result.status) == ResultStatus.RUNNING, col(Result.updated_at) < cutoff)
            .values(status=ResultStatus.FAILED, error=ABANDONED)
        )
        return int(outcome.rowcount or 0)


def tidy(engine: Engine, settings: Settings) -> None:
    """The janitor's pass: leftover files, then result rows left running."""
    janitor.sweep(settings.data_dir, older_than=settings.stale_file_s)
    failed = fail_abandoned_results(engine, older_than=settings.stale_file_s)
    if failed:
        log.warning("janitor: %d result rows left running were failed", failed)


# ---------------------------------------------------------------------------------------------
# Leadership and the periodic upkeep


class Leadership:
    """Whether this process is the reconciler: a Redis key holding its token, renewed each
    pass (it expires three passes after its holder stops); always true without Redis."""

    def __init__(self, settings: Settings, *, ttl: float) -> None:
        self.token = secrets.token_hex(8)
        self.ttl_ms = max(int(ttl * 1000), 1000)
        self.key = f"{settings.redis_namespace}:reconciler"
        self.client = redis.Redis.from_url(settings.redis_url) if settings.redis_url else None

    def held(self) -> bool:
        if self.client is None:
            return True
        if self.client.set(self.key, self.token, nx=True, px=self.ttl_ms):
            return True
        if self.client.get(self.key) == self.token.encode():
            self.client.pexpire(self.key, self.ttl_ms)
            return True
        return False


class Periodic(threading.Thread):
    """Calls ``action`` every ``interval`` seconds (first at once) until stopped; failures
    (the database or broker down) are logged and tried again next time."""

    def __init__(self, name: str, interval: float, action: Callable[[], object]) -> None:
        super().__init__(name=f"timeside-{name}", daemon=True)
        self.interval = interval
        self.action = action
        self.stopped = threading.Event()

    def run(self) -> None:
        while True:
            try:
                self.action()
            except Exception as exc:
                log.warning("%s failed (%s); trying again", self.name, exc)
            if self.stopped.wait(self.interval):
                return


class Upkeep:
    """The periodic work of a server or worker process (see the module's docstring)."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        interval = settings.heartbeat_interval_s
        self.leadership = Leadership(settings, ttl=3 * interval)
        self.swept = False
        self.threads = [
            Periodic("heartbeat", interval, partial(heartbeat.beat, engine)),
            Periodic("outbox", settings.outbox_interval_s, lambda: outbox.dispatch(engine)),
            Periodic("reconciler", interval, self._reconcile),
            Periodic("janitor", settings.janitor_interval_s, self._tidy),
        ]

    def start(self) -> Upkeep:
        for thread in self.threads:
            thread.start()
        return self

    def stop(self) -> None:
        for thread in self.threads:
            thread.stopped.set()

    def _reconcile(self) -> None:
        if self.leadership.held():
            reconcile(self.engine, self.settings)

    def _tidy(self) -> None:
        """Every process sweeps once at start (what a killed predecessor left is removed when
        its replacement starts, whoever leads); then the leader alone, periodically."""
        if self.swept and not self.leadership.held():
            return
        tidy(self.engine, self.settings)
        self.swept = True
