"""Analysis catalogue and analysis track mutations (``services.analyses``)."""

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
from timeside_gql.api.mutations.tasks import TaskPayload
from timeside_gql.api.types.analyses import Analysis, AnalysisTrack
from timeside_gql.db import models as m
from timeside_gql.services import analyses
from timeside_gql.services.inputs import UNSET, AnalysisFields, AnalysisTrackFields
from timeside_gql.services.rows import delete_owned

AnalysisPayload = Annotated[
    Analysis | ValidationError | NotFoundError | PermissionDenied | ConflictError,
    strawberry.union("AnalysisPayload"),
]
AnalysisTrackPayload = Annotated[
    AnalysisTrack | ValidationError | NotFoundError | PermissionDenied | ConflictError,
    strawberry.union("AnalysisTrackPayload"),
]


@strawberry.input
class AnalysisInput(AnalysisFields):
    output_id: str | None = strawberry.field(
        default=UNSET,
        description="An output id of the preset's analyzer; null for a grapher's picture.",
    )


@strawberry.input
class AnalysisTrackInput(AnalysisTrackFields):
    color: str | None = strawberry.field(default=UNSET, description='"#rrggbb" or "".')


@strawberry.type
class AnalysisMutations:
    @strawberry.mutation(description="A new analysis of yours over a preset's output.")
    async def create_analysis(self, input: AnalysisInput) -> AnalysisPayload:
        return await mutate(analyses.create_analysis, input)

    @strawberry.mutation
    async def update_analysis(self, id: UUID, input: AnalysisInput) -> AnalysisPayload:
        return await mutate(analyses.update_analysis, id, input)

    @strawberry.mutation(description="Refused while an analysis track shows it.")
    async def delete_analysis(self, id: UUID) -> DeletePayload:
        return await remove(delete_owned, m.Analysis, id)

    @strawberry.mutation(
        description="Show an analysis on an item you can see, on a track of yours."
    )
    async def create_analysis_track(
        self, item_id: UUID, input: AnalysisTrackInput
    ) -> AnalysisTrackPayload:
        return await mutate(analyses.create_track, item_id, input)

    @strawberry.mutation
    async def update_analysis_track(
        self, id: UUID, input: AnalysisTrackInput
    ) -> AnalysisTrackPayload:
        return await mutate(analyses.update_track, id, input)

    @strawberry.mutation
    async def delete_analysis_track(self, id: UUID) -> DeletePayload:
        return await remove(delete_owned, m.AnalysisTrack, id)

    @strawberry.mutation(
        description="Compute the results the item's analysis tracks (all you see, or those "
        "named) still lack, as one task on the item; follow it with taskUpdates. A "
        "ConflictError when every result is done or under way."
    )
    async def compute_analysis_tracks(
        self, item_id: UUID, track_ids: list[UUID] | None = None
    ) -> TaskPayload:
        return await mutate(analyses.compute_tracks, item_id, track_ids)
