"""Execution: tasks, their per-item jobs, and the results they produce."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import strawberry

from timeside_gql.api.types import media_urls
from timeside_gql.api.types.annotations import result_export_url
from timeside_gql.api.types.base import Entity, maps, to_many, to_one
from timeside_gql.api.types.catalog import Preset
from timeside_gql.api.types.enums import JobStatus, ResultStatus, TaskStatus
from timeside_gql.api.types.experiences import Experience
from timeside_gql.api.types.owned import Owned
from timeside_gql.api.types.series import result_outputs, result_series, result_value
from timeside_gql.db import models as m

if TYPE_CHECKING:
    from timeside_gql.api.types.items import Item, Selection

_ITEMS = strawberry.lazy("timeside_gql.api.types.items")


@maps(m.Task)
@strawberry.type(description="An experience run on an item and/or a selection.")
class Task(Owned):
    status: TaskStatus
    items_total: int
    items_done: int
    items_failed: int
    error: str | None
    started_at: datetime | None
    finished_at: datetime | None
    experience_id: strawberry.Private[UUID]
    selection_id: strawberry.Private[UUID | None]
    item_id: strawberry.Private[UUID | None]

    experience: Experience | None = to_one(m.Experience, "experience_id")

    selection: Annotated[Selection, _ITEMS] | None = to_one(m.Selection, "selection_id")

    item: Annotated[Item, _ITEMS] | None = to_one(m.Item, "item_id")

    jobs: list[Job] = to_many(
        lambda lo: lo.by_column(m.Job, "task_id"), description="One job per item of the task."
    )

    results: list[Result] = to_many(
        lambda lo: lo.task_results(),
        description="Results of the experience's presets on the task's items.",
    )


@maps(m.Job)
@strawberry.type(description="The run of a task's experience on one item.")
class Job(Entity):
    status: JobStatus
    progress: float = strawberry.field(description="Fraction done, 0 to 1.")
    error: str | None
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    task_id: strawberry.Private[UUID]
    item_id: strawberry.Private[UUID]

    task: Task | None = to_one(m.Task, "task_id")

    item: Annotated[Item, _ITEMS] | None = to_one(m.Item, "item_id")


@maps(m.Result)
@strawberry.type(description="The output of one preset on one item.")
class Result(Entity):
    status: ResultStatus
    hdf5_path: str | None = strawberry.field(description="Path relative to the data dir.")
    file_path: str | None = strawberry.field(description="Path relative to the data dir.")
    mime_type: str | None
    run_time: float | None = strawberry.field(description="Seconds.")
    processor_version: str | None
    error: str | None
    item_id: strawberry.Private[UUID]
    preset_id: strawberry.Private[UUID]
    outputs = strawberry.field(
        resolver=result_outputs,
        description="The outputs in the result's file, with global values; null until done.",
    )
    value = strawberry.field(
        resolver=result_value,
        description="The value of a global output (default: the main one); null until done.",
    )
    series = strawberry.field(
        resolver=result_series,
        description="An output (default: the main one) over [start, stop) seconds, decimated "
        "to at most maxPoints points (TIMESIDE_MAX_SERIES_POINTS); null until done.",
    )
    file_url = media_urls.field(media_urls.file_url)
    visual_url = media_urls.field(media_urls.visual_url)
    export_url = media_urls.field(result_export_url)  # http/exports.py

    item: Annotated[Item, _ITEMS] = to_one(m.Item, "item_id")

    preset: Preset = to_one(m.Preset, "preset_id")
