"""What the API calls: explicit runs and cancellations, enqueued only once committed.

A message sent before its transaction commits could reach a worker that does not see the
pending task yet; one sent for a transaction that then rolls back would run a task nobody asked
for. So each call here queues its side effects on the session, and they fire after the commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session

from timeside_gql.db.models import Task
from timeside_gql.jobs import lifecycle
from timeside_gql.jobs.notify import publish, task_event

_AFTER_COMMIT = "timeside_jobs_after_commit"


def run_task(session: Session, task_id: uuid.UUID) -> Task:
    """draft/done/failed/cancelled → pending; enqueued when the session commits.

    Raises ``lifecycle.TaskNotFound`` or ``lifecycle.TaskStateError`` (already pending/running).
    """
    # Imported here, not in the hook: a first import registers session event listeners, which
    # SQLAlchemy refuses while it runs the after-commit hooks.
    from timeside_gql.jobs.actors import fan_out_task

    task = lifecycle.mark_pending(session, task_id)
    event = task_event(task)
    after_commit(session, lambda: fan_out_task.send(str(task_id)))
    after_commit(session, lambda: publish(event))
    return task


def cancel_task(session: Session, task_id: uuid.UUID) -> Task:
    """pending/running → cancelled: no further job starts; a running job stops at its next
    cancellation check. Raises ``lifecycle.TaskStateError`` when the task is not active."""
    task = lifecycle.mark_cancelled(session, task_id)
    event = task_event(task)
    after_commit(session, lambda: publish(event))
    return task


def after_commit(session: OrmSession, callback: Callable[[], object]) -> None:
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


@event.listens_for(OrmSession, "after_commit")
def _run_queued(session: OrmSession) -> None:
    for callback in session.info.pop(_AFTER_COMMIT, ()):
        callback()


@event.listens_for(OrmSession, "after_rollback")
def _forget_queued(session: OrmSession) -> None:
    session.info.pop(_AFTER_COMMIT, None)
