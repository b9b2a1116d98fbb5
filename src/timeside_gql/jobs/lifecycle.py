"""The task state machine, as transitions on a Session. Callers commit, then enqueue.

::

    draft | done | failed | cancelled --run--> pending --fan out--> running --last job--> done
                                                 |                     |          \\--> failed
                                                 +------cancel---------+--> cancelled

A task fans out into one Job per item (unique per task and item); each job ends done, failed or
cancelled, and the task ends when none is left pending or running: failed if any job failed.
Rows are the source of truth; every transition re-reads them under a write lock, so a message
delivered twice (Dramatiq delivers at least once) finds the work already claimed or finished.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from sqlmodel import Session, col, delete, func, select, update

from timeside_gql.db.models import Entity, Item, Job, JobStatus, Task, TaskStatus, User
from timeside_gql.db.selections import all_item_ids
from timeside_gql.db.types import utcnow
from timeside_gql.db.visibility import Viewer, visible

RUNNABLE = frozenset({TaskStatus.DRAFT, TaskStatus.DONE, TaskStatus.FAILED, TaskStatus.CANCELLED})
ACTIVE = frozenset({TaskStatus.PENDING, TaskStatus.RUNNING})
JOB_ACTIVE = frozenset({JobStatus.PENDING, JobStatus.RUNNING})
#: Seconds without a heartbeat after which a running job's worker counts as dead (the default
#: of ``Settings.job_stale_s``).
STALE_AFTER_S = 30.0

M = TypeVar("M", bound=Entity)


class TaskNotFound(LookupError):
    def __init__(self, task_id: uuid.UUID) -> None:
        super().__init__(f"no task {task_id}")
        self.task_id = task_id


class TaskStateError(Exception):
    """The task is not in a state this transition starts from."""

    def __init__(self, task: Task, action: str) -> None:
        super().__init__(f"task {task.id} is {task.status.value}: it cannot {action}")
        self.task_id = task.id
        self.status = task.status


def lock(session: Session, model: type[M], row_id: uuid.UUID) -> M | None:
    """The row, read after taking its write lock (row lock on PostgreSQL, the database write
    lock on SQLite), so what this transaction decides cannot race another writer."""
    session.exec(update(model).where(col(model.id) == row_id).values(updated_at=utcnow()))
    return session.get(model, row_id, populate_existing=True)


def _task(session: Session, task_id: uuid.UUID) -> Task:
    task = lock(session, Task, task_id)
    if task is None:
        raise TaskNotFound(task_id)
    return task


def mark_pending(session: Session, task_id: uuid.UUID) -> Task:
    """draft/done/failed/cancelled → pending, with counts and errors of the last run cleared.

    A task already pending stays so (its message may have been lost: sending another is safe).
    """
    task = _task(session, task_id)
    if task.status == TaskStatus.PENDING:
        return task
    if task.status not in RUNNABLE:
        raise TaskStateError(task, "run again before it ends")
    task.status = TaskStatus.PENDING
    task.items_total = task.items_done = task.items_failed = 0
    task.error = None
    task.started_at = task.finished_at = None
    session.add(task)
    return task


def mark_cancelled(session: Session, task_id: uuid.UUID) -> Task:
    """pending/running → cancelled; jobs not finished are cancelled (a running one stops at its
    next cancellation check)."""
    task = _task(session, task_id)
    if task.status not in ACTIVE:
        raise TaskStateError(task, "be cancelled")
    task.status = TaskStatus.CANCELLED
    task.finished_at = utcnow()
    session.add(task)
    _cancel_jobs(session, task_id)
    return task


def fail_task(session: Session, task_id: uuid.UUID, error: str) -> Task | None:
    """pending/running → failed, when the task itself (not one of its jobs) could not go on."""
    task = lock(session, Task, task_id)
    if task is None or task.status not in ACTIVE:
        return task
    task.status, task.error, task.finished_at = TaskStatus.FAILED, error, utcnow()
    session.add(task)
    _cancel_jobs(session, task_id)
    return task


def _cancel_jobs(session: Session, task_id: uuid.UUID) -> None:
    session.exec(
        update(Job)
        .where(col(Job.task_id) == task_id, col(Job.status).in_(JOB_ACTIVE))
        .values(status=JobStatus.CANCELLED, finished_at=utcnow())
    )


def target_item_ids(session: Session, task: Task) -> list[uuid.UUID]:
    """The task's item and every item of its selection (nested ones too), each once: those its
    author may see now, as ``selection.allItems`` shows them (an item made private since it was
    added, or a private sub-selection of another user, is not processed)."""
    viewer = Viewer.of(session.get(User, task.author_id) if task.author_id else None)
    ids: list[uuid.UUID] = [task.item_id] if task.item_id else []
    if task.selection_id:
        ids += all_item_ids(session, [task.selection_id], viewer=viewer)[task.selection_id]
    wanted = list(dict.fromkeys(ids))
    allowed = set(
        session.exec(select(Item.id).where(col(Item.id).in_(wanted), visible(Item, viewer)))
    )
    return [item_id for item_id in wanted if item_id in allowed]


def start_jobs(session: Session, task_id: uuid.UUID) -> list[uuid.UUID]:
    """pending → running: one pending job per target item. Returns the ids of jobs to enqueue.

    Jobs of a previous run are reset rather than recreated; a redelivered fan-out (task already
    running) returns the jobs still pending, since their messages may never have been sent.
    """
    task = _task(session, task_id)
    if task.status == TaskStatus.RUNNING:
        return list(
            session.exec(
                select(Job.id).where(Job.task_id == task_id, Job.status == JobStatus.PENDING)
            )
        )
    if task.status != TaskStatus.PENDING:
        return []
    item_ids = target_item_ids(session, task)
    session.exec(delete(Job).where(col(Job.task_id) == task_id, col(Job.item_id).not_in(item_ids)))
    jobs = {job.item_id: job for job in session.exec(select(Job).where(Job.task_id == task_id))}
    for item_id in item_ids:
        job = jobs.get(item_id) or Job(task_id=task_id, item_id=item_id)
        job.status, job.progress, job.error, job.attempts = JobStatus.PENDING, 0.0, None, 0
        job.started_at = job.finished_at = None
        session.add(job)
        jobs[item_id] = job
    task.status = TaskStatus.RUNNING
    task.started_at = utcnow()
    task.items_total = len(item_ids)
    session.add(task)
    session.flush()
    if not item_ids:
        settle_task(session, task_id)
    return [jobs[item_id].id for item_id in item_ids]


def lock_job(session: Session, job_id: uuid.UUID) -> tuple[Task | None, Job | None]:
    """The job and its task, write-locked in the one order every transition uses (task, then
    job), so two transitions never deadlock on PostgreSQL. The first statement is a write, so
    on SQLite the transaction never upgrades a stale read snapshot."""
    task_of_job = select(Job.task_id).where(Job.id == job_id).scalar_subquery()
    session.exec(update(Task).where(col(Task.id) == task_of_job).values(updated_at=utcnow()))
    job = lock(session, Job, job_id)
    task = session.get(Task, job.task_id, populate_existing=True) if job else None
    return task, job


def claim_job(
    session: Session, job_id: uuid.UUID, *, max_attempts: int, stale_after: float = STALE_AFTER_S
) -> Job | None:
    """pending (or running with no heartbeat for ``stale_after`` seconds: its worker died) →
    running.

    None when there is nothing to do: the job is finished or cancelled, a live worker runs it
    (a duplicate message, e.g. of a repeated run), its task is no longer running, or it has
    already crashed its worker ``max_attempts`` times (then it is failed).
    """
    task, job = lock_job(session, job_id)
    if job is None or job.status not in JOB_ACTIVE:
        return None
    if job.status == JobStatus.RUNNING and not _silent(job, stale_after):
        return None
    if task is None or task.status != TaskStatus.RUNNING:
        job.status, job.finished_at = JobStatus.CANCELLED, utcnow()
        session.add(job)
        return None
    if job.attempts >= max_attempts:  # its worker died every time: do not crash another one
        _end(session, job, error=f"gave up after {job.attempts} attempts")
        settle_task(session, task.id)
        return None
    job.status = JobStatus.RUNNING
    job.attempts += 1
    job.started_at = job.heartbeat_at = utcnow()
    job.progress = 0.0
    session.add(job)
    return job


def _silent(job: Job, stale_after: float) -> bool:
    beat = job.heartbeat_at or job.started_at
    return beat is None or beat < utcnow() - timedelta(seconds=stale_after)


def beat(session: Session, job_ids: Collection[uuid.UUID]) -> None:
    """The running jobs among ``job_ids`` are alive (their process says so)."""
    if job_ids:
        session.exec(
            update(Job)
            .where(col(Job.id).in_(job_ids), col(Job.status) == JobStatus.RUNNING)
            .values(heartbeat_at=utcnow())
        )


def release_silent(session: Session, *, stale_after: float) -> list[uuid.UUID]:
    """Running jobs of running tasks silent for ``stale_after`` seconds (their worker died) →
    pending again, attempts kept; their ids, to send again. ``stale_after=0`` releases every
    running job (a restarted embedded server: no other process runs them)."""
    cutoff = utcnow() - timedelta(seconds=stale_after)
    beat = func.coalesce(Job.heartbeat_at, Job.started_at)
    ids = list(
        session.exec(
            select(Job.id)
            .join(Task, col(Task.id) == Job.task_id)
            .where(
                Task.status == TaskStatus.RUNNING,
                Job.status == JobStatus.RUNNING,
                (beat.is_(None)) | (beat < cutoff),
            )
            .with_for_update(skip_locked=True, of=Job)
        )
    )
    if ids:
        session.exec(
            update(Job)
            .where(col(Job.id).in_(ids))
            .values(status=JobStatus.PENDING, heartbeat_at=None, progress=0.0)
        )
    return ids


def ended_tasks(session: Session) -> list[uuid.UUID]:
    """Running tasks none of whose jobs is pending or running: settle_task ends them."""
    active = select(Job.id).where(Job.task_id == Task.id, col(Job.status).in_(JOB_ACTIVE))
    query = select(Task.id).where(Task.status == TaskStatus.RUNNING, ~active.exists())
    return list(session.exec(query))


def pending_jobs(session: Session) -> list[uuid.UUID]:
    """Pending jobs of running tasks: each waits for a message."""
    return list(
        session.exec(
            select(Job.id)
            .join(Task, col(Task.id) == Job.task_id)
            .where(Task.status == TaskStatus.RUNNING, Job.status == JobStatus.PENDING)
        )
    )


def end_job(
    session: Session, job_id: uuid.UUID, *, error: str | None
) -> tuple[Job | None, Task | None]:
    """running → done, or failed with ``error`` (no-op once ended or cancelled); then settle."""
    _, job = lock_job(session, job_id)
    if job is None:
        return None, None
    _end(session, job, error=error)
    return job, settle_task(session, job.task_id)


def _end(session: Session, job: Job, *, error: str | None) -> None:
    if job.status in JOB_ACTIVE:
        job.status = JobStatus.FAILED if error else JobStatus.DONE
        job.error = error
        job.progress = 1.0
        job.finished_at = utcnow()
        session.add(job)


def settle_task(session: Session, task_id: uuid.UUID) -> Task | None:
    """Recount the task's jobs; end it (done, or failed if any job failed) when none is left."""
    task = lock(session, Task, task_id)
    if task is None or task.status != TaskStatus.RUNNING:
        return task
    counts = _job_counts(session, task_id)
    task.items_done = counts.get(JobStatus.DONE, 0)
    task.items_failed = counts.get(JobStatus.FAILED, 0)
    if not any(counts.get(status, 0) for status in JOB_ACTIVE):
        task.status = TaskStatus.FAILED if task.items_failed else TaskStatus.DONE
        task.error = (
            f"{task.items_failed} of {task.items_total} items failed" if task.items_failed else None
        )
        task.finished_at = utcnow()
    session.add(task)
    return task


def _job_counts(session: Session, task_id: uuid.UUID) -> dict[JobStatus, int]:
    rows: Sequence[Any] = session.exec(
        select(Job.status, func.count()).where(Job.task_id == task_id).group_by(Job.status)
    ).all()
    return {JobStatus(status): count for status, count in rows}


def pending_tasks(session: Session) -> list[uuid.UUID]:
    return list(session.exec(select(Task.id).where(Task.status == TaskStatus.PENDING)))


def unfinished(session: Session) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """(pending tasks, active jobs of running tasks): what a process that died left behind."""
    tasks = pending_tasks(session)
    jobs = session.exec(
        select(Job.id)
        .join(Task, col(Task.id) == Job.task_id)
        .where(Task.status == TaskStatus.RUNNING, col(Job.status).in_(JOB_ACTIVE))
    ).all()
    return list(tasks), list(jobs)
