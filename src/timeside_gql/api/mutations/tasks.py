"""Task mutations: drafts, runs and cancellations, result deletion (``services.tasks``)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import strawberry

from timeside_gql.api.errors import (
    ConflictError,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from timeside_gql.api.mutations.base import DeletePayload, mutate, remove
from timeside_gql.api.types.tasks import Task
from timeside_gql.services import tasks
from timeside_gql.services.inputs import TaskFields

TaskPayload = Annotated[
    Task | ValidationError | NotFoundError | PermissionDenied | ConflictError,
    strawberry.union("TaskPayload"),
]
TaskRunPayload = Annotated[
    Task | NotFoundError | PermissionDenied | ConflictError, strawberry.union("TaskRunPayload")
]


@strawberry.input(description="What a task runs on: an item, a selection, or both.")
class TaskInput(TaskFields):
    pass


@strawberry.type
class TaskMutations:
    @strawberry.mutation(description="A draft task, or a pending one with `run: true` (runTask).")
    async def create_task(self, input: TaskInput, run: bool = False) -> TaskPayload:
        return await mutate(tasks.create_task, input, run)

    @strawberry.mutation(description="Targets change only while the task is a draft.")
    async def update_task(self, id: UUID, input: TaskInput) -> TaskPayload:
        return await mutate(tasks.update_task, id, input)

    @strawberry.mutation(description="Refused while the task is pending or running.")
    async def delete_task(self, id: UUID) -> DeletePayload:
        return await remove(tasks.delete_task, id)

    @strawberry.mutation(description="Delete a result and its files, to have it computed again.")
    async def delete_result(self, id: UUID) -> DeletePayload:
        return await remove(tasks.delete_result, id)


@strawberry.type
class TaskRunMutations:
    @strawberry.mutation(
        description="Queue a draft, done, failed or cancelled task (it becomes pending, then "
        "running); follow it with the taskUpdates subscription. Refused while it runs."
    )
    async def run_task(self, id: UUID) -> TaskRunPayload:
        return await mutate(tasks.run_task, id)

    @strawberry.mutation(
        description="Stop a pending or running task: no further job starts, and running jobs "
        "stop at their next check (within a second); their unfinished results are failed."
    )
    async def cancel_task(self, id: UUID) -> TaskRunPayload:
        return await mutate(tasks.cancel_task, id)
