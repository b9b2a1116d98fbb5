"""Events about tasks, jobs and results, as published on the bus.

Small, flat and id-based: a subscriber re-reads the rows it needs, so an event only says what
changed. Task and job events go to the task's channel; job and result events to the item's too.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable

import redis

from timeside_gql.db.models import IngestStatus, Job, Result, Task
from timeside_gql.jobs import webhooks
from timeside_gql.jobs.events import Event, get_bus, item_channel, task_channel

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.25


def task_event(task: Task) -> Event:
    return {
        "type": "task",
        "taskId": str(task.id),
        "status": task.status.value,
        "itemsTotal": task.items_total,
        "itemsDone": task.items_done,
        "itemsFailed": task.items_failed,
    }


def job_event(job: Job) -> Event:
    return {
        "type": "job",
        "taskId": str(job.task_id),
        "jobId": str(job.id),
        "itemId": str(job.item_id),
        "status": job.status.value,
        "progress": job.progress,
    }


def result_event(result: Result, *, task_id: uuid.UUID | None, cached: bool = False) -> Event:
    """``task_id`` None: a result computed outside any task (the ingest's waveform)."""
    event: Event = {
        "type": "result",
        "itemId": str(result.item_id),
        "resultId": str(result.id),
        "presetId": str(result.preset_id),
        "status": result.status.value,
        "cached": cached,
    }
    if task_id is not None:
        event["taskId"] = str(task_id)
    return event


def item_event(item_id: uuid.UUID, status: IngestStatus, *, progress: float | None = None) -> Event:
    """The item's ingest state changed (or progressed: ``progress`` of its waveform, 0..1)."""
    event: Event = {"type": "item", "itemId": str(item_id), "ingestStatus": status.value}
    if progress is not None:
        event["progress"] = progress
    return event


def publish(event: Event) -> None:
    """Send ``event`` to its task and item channels, and to the webhooks it concerns
    (``jobs.webhooks``); a lost event never fails the work (the rows hold the state), so Redis
    errors are logged, not raised."""
    bus = get_bus()
    try:
        if "taskId" in event:
            bus.publish(task_channel(event["taskId"]), event)
        if "itemId" in event:
            bus.publish(item_channel(event["itemId"]), event)
    except redis.RedisError:
        log.warning("event %s not published", event.get("type"), exc_info=True)
    webhooks.dispatch(event)


class Throttle:
    """Calls ``send(fraction)`` at most every ``interval`` seconds, and always for 1.0."""

    def __init__(self, send: Callable[[float], None], interval: float = PROGRESS_INTERVAL_S):
        self.send = send
        self.interval = interval
        self._last = 0.0
        self._lock = threading.Lock()

    def __call__(self, fraction: float) -> None:
        now = time.monotonic()
        with self._lock:
            if fraction < 1.0 and now - self._last < self.interval:
                return
            self._last = now
        self.send(fraction)
