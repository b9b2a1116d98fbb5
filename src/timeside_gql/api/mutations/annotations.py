"""Annotation mutations (``services.annotations``)."""

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
from timeside_gql.api.types.annotations import Annotation, AnnotationTrack
from timeside_gql.db import models as m
from timeside_gql.services import annotations as annotating
from timeside_gql.services.inputs import UNSET, AnnotationFields, AnnotationTrackFields
from timeside_gql.services.rows import delete_owned

AnnotationTrackPayload = Annotated[
    AnnotationTrack | ValidationError | NotFoundError | PermissionDenied | ConflictError,
    strawberry.union("AnnotationTrackPayload"),
]
AnnotationPayload = Annotated[
    Annotation | ValidationError | NotFoundError | PermissionDenied | ConflictError,
    strawberry.union("AnnotationPayload"),
]


@strawberry.input
class AnnotationTrackInput(AnnotationTrackFields):
    pass


@strawberry.input(description="A time range in seconds, 0 ≤ start ≤ stop ≤ the item's duration.")
class AnnotationInput(AnnotationFields):
    tags: list[str] | None = strawberry.field(
        default=UNSET, description="Tag names; replaces the annotation's tags."
    )
    result_ids: list[UUID] | None = strawberry.field(
        default=UNSET,
        description="Results of the track's item this annotation was made from; replaces them.",
    )


@strawberry.type
class AnnotationMutations:
    @strawberry.mutation(description="A new track of yours on an item you can see.")
    async def create_annotation_track(
        self, item_id: UUID, input: AnnotationTrackInput
    ) -> AnnotationTrackPayload:
        return await mutate(annotating.create_track, item_id, input)

    @strawberry.mutation
    async def update_annotation_track(
        self, id: UUID, input: AnnotationTrackInput
    ) -> AnnotationTrackPayload:
        return await mutate(annotating.update_track, id, input)

    @strawberry.mutation(description="Delete a track with its annotations.")
    async def delete_annotation_track(self, id: UUID) -> DeletePayload:
        return await remove(delete_owned, m.AnnotationTrack, id)

    @strawberry.mutation
    async def create_annotation(self, track_id: UUID, input: AnnotationInput) -> AnnotationPayload:
        return await mutate(annotating.create_annotation, track_id, input)

    @strawberry.mutation
    async def update_annotation(self, id: UUID, input: AnnotationInput) -> AnnotationPayload:
        return await mutate(annotating.update_annotation, id, input)

    @strawberry.mutation
    async def delete_annotation(self, id: UUID) -> DeletePayload:
        return await remove(annotating.delete_annotation, id)
