"""Which jobs this process runs, so a periodic heartbeat can tell the database they are alive.

A job whose heartbeat stops (its process was killed) is released by the reconciler and may be
claimed again; a job with a fresh heartbeat is never claimed twice (``lifecycle.claim_job``).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine

from timeside_gql.db.engine import session_scope
from timeside_gql.jobs import lifecycle

_running: set[uuid.UUID] = set()
_lock = threading.Lock()


@contextmanager
def running(job_id: uuid.UUID) -> Iterator[None]:
    """The job runs in this process while the block runs."""
    with _lock:
        _running.add(job_id)
    try:
        yield
    finally:
        with _lock:
            _running.discard(job_id)


def beat(engine: Engine) -> None:
    """Stamp every job this process runs as alive now."""
    with _lock:
        job_ids = set(_running)
    if job_ids:
        with session_scope(engine) as session:
            lifecycle.beat(session, job_ids)
