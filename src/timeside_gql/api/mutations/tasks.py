"""Writing tasks (drafts: running them is the job layer's business) and deleting results."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated
from uuid import UUID

import strawberry
from sqlmodel import Session

from timeside_gql.api.errors import (
    Conflict,
    ConflictError,
    InvalidInput,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from timeside_gql.api.mutations.base import (
    DeletePayload,
    assign,
    changes,
    fetch,
    fetch_owned,
    mutate,
    remove,
)
from timeside_gql.api.permissions import require_owner, require_user
from timeside_gql.api.types.tasks import Task
from timeside_gql.db import deletion
from timeside_gql.db import models as m
from timeside_gql.db.visibility import Viewer
from timeside_gql.jobs import service as jobs

TaskPayload = Annotated[
    Task | ValidationError | NotFoundError | PermissionDenied | ConflictError,
    strawberry.union("TaskPayload"),
]

# A task whose jobs may be running keeps its targets and stays until cancelled.
ACTIVE = {m.TaskStatus.PENDING, m.TaskStatus.RUNNING}


@strawberry.input(description="What a task runs on: an item, a selection, or both.")
class TaskInput:
    experience_id: UUID | None = strawberry.UNSET
    item_id: UUID | None = strawberry.UNSET
    selection_id: UUID | None = strawberry.UNSET
    is_public: bool | None = strawberry.UNSET


def create_task(session: Session, viewer: Viewer, data: TaskInput, run: bool = False) -> m.Task:
    if not data.experience_id:
        raise InvalidInput("experienceId is required", field="experienceId")
    task = m.Task(author_id=require_user(viewer), experience_id=data.experience_id)
    _apply(session, viewer, task, data)
    return jobs.run_task(session, task.id) if run else task


def update_task(session: Session, viewer: Viewer, id: UUID, data: TaskInput) -> m.Task:
    task = fetch_owned(session, viewer, m.Task, id)
    retargets = changes(data, exclude={"is_public"})
    if retargets and task.status is not m.TaskStatus.DRAFT:
        raise Conflict(f"task {id} is {task.status.value}: only a draft changes its targets")
    _apply(session, viewer, task, data)
    return task


def delete_task(session: Session, viewer: Viewer, id: UUID, data_dir: Path) -> UUID:
    task = fetch_owned(session, viewer, m.Task, id)
    if task.status in ACTIVE:
        raise Conflict(f"task {id} is {task.status.value}: cancel it first")
    deletion.delete(session, task, data_dir=data_dir)
    return id


def delete_result(session: Session, viewer: Viewer, id: UUID, data_dir: Path) -> UUID:
    """A result goes with its files; its item's author (or an admin) may delete it."""
    result = fetch(session, viewer, m.Result, id)
    require_owner(fetch(session, viewer, m.Item, result.item_id).author_id, viewer)
    deletion.delete(session, result, data_dir=data_dir)
    return id


def _apply(session: Session, viewer: Viewer, task: m.Task, data: TaskInput) -> None:
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


@strawberry.type
class TaskMutations:
    @strawberry.mutation(description="A draft task, or a pending one with `run: true` (runTask).")
    async def create_task(self, input: TaskInput, run: bool = False) -> TaskPayload:
        return await mutate(create_task, input, run)

    @strawberry.mutation(description="Targets change only while the task is a draft.")
    async def update_task(self, id: UUID, input: TaskInput) -> TaskPayload:
        return await mutate(update_task, id, input)

    @strawberry.mutation(description="Refused while the task is pending or running.")
    async def delete_task(self, id: UUID) -> DeletePayload:
        return await remove(delete_task, id)

    @strawberry.mutation(description="Delete a result and its files, to have it computed again.")
    async def delete_result(self, id: UUID) -> DeletePayload:
        return await remove(delete_result, id)
