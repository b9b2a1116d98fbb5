"""Which jobs and ingests this process runs, so a periodic heartbeat can tell the database
they are alive.

A job or ingest whose heartbeat stops (its process was killed) is released by the reconciler
and may be claimed again; one with a fresh heartbeat is never claimed twice
(``lifecycle.claim_job``, ``ingest``'s claim).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine
from sqlmodel import col, update

from timeside_gql.db.engine import session_scope
from timeside_gql.db.models import IngestStatus, Item
from timeside_gql.db.types import utcnow
from timeside_gql.jobs import lifecycle


class Running:
    """The ids of one kind of work running in this process."""

    def __init__(self) -> None:
        self._ids: set[uuid.UUID] = set()
        self._lock = threading.Lock()

    @contextmanager
    def during(self, row_id: uuid.UUID) -> Iterator[None]:
        """The work runs in this process while the block runs."""
        with self._lock:
            self._ids.add(row_id)
        try:
            yield
        finally:
            with self._lock:
                self._ids.discard(row_id)

    def ids(self) -> set[uuid.UUID]:
        with self._lock:
            return set(self._ids)


JOBS, INGESTS = Running(), Running()


def beat(engine: Engine) -> None:
    """Stamp every job and ingest this process runs as alive now."""
    job_ids, item_ids = JOBS.ids(), INGESTS.ids()
    if not (job_ids or item_ids):
        return
    with session_scope(engine) as session:
        lifecycle.beat(session, job_ids)
        if item_ids:
            session.exec(
                update(Item)
                .where(col(Item.id).in_(item_ids), col(Item.ingest_status) == IngestStatus.RUNNING)
                # A heartbeat is no change of the item: its updated_at stays.
                .values(ingest_heartbeat_at=utcnow(), updated_at=col(Item.updated_at))
            )
