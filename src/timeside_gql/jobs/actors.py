"""The Dramatiq actors: thin, id-only messages around ``jobs.execution``, ``jobs.ingest`` and
``jobs.webhooks``.

Importing this module declares them on this process's broker (``jobs.broker``); the worker
command points Dramatiq's CLI here; their messages are sent through ``jobs.outbox``.
"""

from __future__ import annotations

import uuid

import dramatiq

from timeside_gql.jobs import execution, ingest, webhooks
from timeside_gql.jobs.broker import JOBS_QUEUE, TASKS_QUEUE, WEBHOOKS_QUEUE, get_broker
from timeside_gql.jobs.config import job_settings

broker = get_broker()


def _task_gave_up(task_id: str, *, error: str) -> None:
    execution.fail_task(uuid.UUID(task_id), error)


def _job_gave_up(job_id: str, *, error: str) -> None:
    execution.end_job(uuid.UUID(job_id), error=error)


def _ingest_gave_up(item_id: str, *, error: str) -> None:
    ingest.give_up(uuid.UUID(item_id), error=error)


def _delivery_gave_up(delivery_id: str, *, error: str) -> None:
    webhooks.give_up(uuid.UUID(delivery_id), error=error)


@dramatiq.actor(broker=broker, queue_name=TASKS_QUEUE, on_give_up=_task_gave_up)
def fan_out_task(task_id: str) -> None:
    """pending task → one job message per item."""
    execution.fan_out(uuid.UUID(task_id))


@dramatiq.actor(broker=broker, queue_name=JOBS_QUEUE, on_give_up=_job_gave_up)
def run_job(job_id: str) -> None:
    """Every preset of the task's experience on the job's item."""
    execution.run_job(uuid.UUID(job_id), settings=job_settings())


@dramatiq.actor(broker=broker, queue_name=JOBS_QUEUE, on_give_up=_ingest_gave_up)
def ingest_item(item_id: str) -> None:
    """Download, probe and compute the waveform of one item."""
    ingest.ingest(uuid.UUID(item_id), settings=job_settings())


@dramatiq.actor(broker=broker, queue_name=WEBHOOKS_QUEUE, on_give_up=_delivery_gave_up)
def deliver_webhook(delivery_id: str) -> None:
    """One signed POST of a recorded event; a failed one sends this message again, delayed."""
    webhooks.deliver(uuid.UUID(delivery_id), settings=job_settings())
