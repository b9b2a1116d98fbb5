"""Execution inside the server process: the event listener and, in embedded mode, the worker.

``serve`` wraps its lifespan in :func:`job_runtime`, with the process's upkeep (outbox
dispatcher, reconciler, janitor: ``jobs.reconciler``). With Redis, the server only enqueues and
listens (workers are separate processes). In
embedded mode the stub broker's queue lives in this process's memory, so work left pending or
running when the previous process stopped is enqueued again at start.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from dramatiq import Worker
from sqlalchemy.engine import Engine

from timeside_gql.db.engine import session_scope
from timeside_gql.jobs import lifecycle
from timeside_gql.jobs.broker import build_broker, get_broker, is_embedded, set_broker
from timeside_gql.jobs.config import configure, get_engine
from timeside_gql.jobs.events import build_bus, set_bus
from timeside_gql.jobs.reconciler import Upkeep
from timeside_gql.settings import Settings

log = logging.getLogger(__name__)

STOP_TIMEOUT_MS = 10_000


@asynccontextmanager
async def job_runtime(settings: Settings, engine: Engine) -> AsyncIterator[None]:
    """Jobs, broker and bus of this process follow the server's settings and engine."""
    configure(settings, engine)
    set_broker(build_broker(settings))
    bus = set_bus(build_bus(settings))
    await bus.start()
    worker = await asyncio.to_thread(_start_embedded_worker, settings)
    upkeep = Upkeep(engine, settings).start()
    try:
        yield
    finally:
        upkeep.stop()
        if worker is not None:
            await asyncio.to_thread(worker.stop, STOP_TIMEOUT_MS)
        await bus.stop()


def _start_embedded_worker(settings: Settings) -> Worker | None:
    from timeside_gql.jobs import actors  # noqa: F401 - declares the actors on the broker

    broker = get_broker()
    if not is_embedded(broker):
        return None
    broker.emit_after("process_boot")
    worker = Worker(broker, worker_threads=settings.embedded_worker_threads, worker_timeout=100)
    worker.start()
    requeue_unfinished()
    return worker


def requeue_unfinished() -> None:
    """Enqueue again the pending tasks, the active jobs and ingests a stopped process left
    behind (the running ones first go back to pending: no other process runs them), and the
    pending webhook deliveries."""
    from timeside_gql.jobs import actors, ingest, webhooks

    with session_scope(get_engine()) as session:
        lifecycle.release_silent(session, stale_after=0)
        ingest.release_silent(session, stale_after=0)
    with session_scope(get_engine()) as session:
        task_ids, job_ids = lifecycle.unfinished(session)
        item_ids = ingest.unfinished_ingests(session)
        delivery_ids = webhooks.pending_deliveries(session)
    for task_id in task_ids:
        actors.fan_out_task.send(str(task_id))
    for job_id in job_ids:
        actors.run_job.send(str(job_id))
    for item_id in item_ids:
        actors.ingest_item.send(str(item_id))
    for delivery_id in delivery_ids:
        webhooks.send(delivery_id)  # each waits, if need be, until it is due
    if task_ids or job_ids or item_ids or delivery_ids:
        log.info(
            "requeued %d tasks, %d jobs, %d ingests and %d webhook deliveries left unfinished",
            len(task_ids),
            len(job_ids),
            len(item_ids),
            len(delivery_ids),
        )
