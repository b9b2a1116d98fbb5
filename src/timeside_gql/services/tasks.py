"""Writing tasks, running and cancelling them, and deleting results.

A run or a cancellation is a state transition in the database; the message to the workers is
an outbox row of the same transaction (``jobs.outbox``), sent with the event to subscribers once
it commits (``db.hooks``).
"""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from sqlmodel import Session

from timeside_gql.db import deletion
from timeside_gql.db import models as m
from timeside_gql.db.hooks import after_commit
from timeside_gql.db.visibility import Viewer
from timeside_gql.jobs import lifecycle, outbox
from timeside_gql.jobs.notify import publish, task_event
from timeside_gql.services.errors import Conflict, InvalidInput
from timeside_gql.services.inputs import TaskFields
from timeside_gql.services.permissions import author_of, require_owner
from timeside_gql.services.rows import assign, changes, fetch, fetch_owned

# A task whose jobs may be running keeps its targets and stays until cancelled.
ACTIVE = {m.TaskStatus.PENDING, m.TaskStatus.RUNNING}


def create_task(session: Session, viewer: Viewer, data: TaskFields, run: bool = False) -> m.Task:
    if not data.experience_id:
        raise InvalidInput("experienceId is required", field="experienceId")
    task = m.Task(author_id=author_of(viewer), experience_id=data.experience_id)
    _apply(session, viewer, task, data)
    return start(session, task.id) if run else task


def update_task(session: Session, viewer: Viewer, id: UUID, data: TaskFields) -> m.Task:
    task = fetch_owned(session, viewer, m.Task, id)
    retargets = changes(data, exclude={"is_public"})
    if retargets and task.status is not m.TaskStatus.DRAFT:
        raise Conflict(f"task {id} is {task.status.value}: only a draft changes its targets")
    _apply(session, viewer, task, data)
    return task


def delete_task(session: Session, viewer: Viewer, data_dir: Path, id: UUID) -> UUID:
    task = fetch_owned(session, viewer, m.Task, id)
    if task.status in ACTIVE:
        raise Conflict(f"task {id} is {task.status.value}: cancel it first")
    deletion.delete(session, task, data_dir=data_dir)
    return id


def delete_result(session: Session, viewer: Viewer, data_dir: Path, id: UUID) -> UUID:
    """A result goes with its files; its item's author (or an admin) may delete it."""
    result = fetch(session, viewer, m.Result, id)
    require_owner(fetch(session, viewer, m.Item, result.item_id).author_id, viewer)
    deletion.delete(session, result, data_dir=data_dir)
    return id


def run_task(session: Session, viewer: Viewer, id: UUID) -> m.Task:
    """draft/done/failed/cancelled → pending (author or admin); refused while it runs."""
    fetch_owned(session, viewer, m.Task, id)
    return start(session, id)


def cancel_task(session: Session, viewer: Viewer, id: UUID) -> m.Task:
    """pending/running → cancelled: no further job starts; a running job stops at its next
    cancellation check."""
    fetch_owned(session, viewer, m.Task, id)
    try:
        task = lifecycle.mark_cancelled(session, id)
    except lifecycle.TaskStateError as error:
        raise Conflict(str(error)) from error
    event = task_event(task)
    after_commit(session, lambda: publish(event))
    return task


def start(session: Session, task_id: UUID) -> m.Task:
    """Mark a task the caller may run pending; its fan-out message is recorded with it and sent
    once the session commits (a broker outage delays it: the task stays pending meanwhile)."""
    try:
        task = lifecycle.mark_pending(session, task_id)
    except lifecycle.TaskStateError as error:
        raise Conflict(str(error)) from error
    event = task_event(task)
    outbox.record(session, outbox.FAN_OUT_TASK, task_id)
    after_commit(session, lambda: publish(event))
    return task


def _apply(session: Session, viewer: Viewer, task: m.Task, data: TaskFields) -> None:
    values = changes(data)
    for field, model in (
        ("experience_id", m.Experience),
        ("item_id", m.Item),
        ("selection_id", m.Selection),
    ):
        if values.get(field) is not None:
            fetch(session, viewer, model, values[field])
    assign(task, values)
    if task.item_id is None and task.selection_id is None:
        raise InvalidInput("a task needs an itemId or a selectionId", field="itemId")
    session.add(task)
    session.flush()
