"""Running and cancelling tasks: explicit state transitions, enqueued once committed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from uuid import UUID

import strawberry
from sqlmodel import Session

from timeside_gql.api.errors import Conflict, ConflictError, NotFoundError, PermissionDenied
from timeside_gql.api.mutations.base import fetch_owned, mutate
from timeside_gql.api.types.tasks import Task
from timeside_gql.db import models as m
from timeside_gql.db.visibility import Viewer
from timeside_gql.jobs import lifecycle, service

TaskRunPayload = Annotated[
    Task | NotFoundError | PermissionDenied | ConflictError, strawberry.union("TaskRunPayload")
]


def run_task(session: Session, viewer: Viewer, id: UUID) -> m.Task:
    return _transition(service.run_task, session, viewer, id)


def cancel_task(session: Session, viewer: Viewer, id: UUID) -> m.Task:
    return _transition(service.cancel_task, session, viewer, id)


def _transition(
    change: Callable[[Session, UUID], m.Task], session: Session, viewer: Viewer, id: UUID
) -> m.Task:
    fetch_owned(session, viewer, m.Task, id)
    try:
        return change(session, id)
    except lifecycle.TaskStateError as error:
        raise Conflict(str(error)) from error


@strawberry.type
class TaskRunMutations:
    @strawberry.mutation(
        description="Queue a draft, done, failed or cancelled task (it becomes pending, then "
        "running); follow it with the taskUpdates subscription. Refused while it runs."
    )
    async def run_task(self, id: UUID) -> TaskRunPayload:
        return await mutate(run_task, id)

    @strawberry.mutation(
        description="Stop a pending or running task: no further job starts, and running jobs "
        "stop at their next check (within a second); their unfinished results are failed."
    )
    async def cancel_task(self, id: UUID) -> TaskRunPayload:
        return await mutate(cancel_task, id)
