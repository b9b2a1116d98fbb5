"""Writing annotation tracks and annotations (time ranges checked against the item)."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Annotated
from uuid import UUID

import strawberry
from sqlmodel import Session, col, delete, select

from timeside_gql.api.errors import (
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
    delete_owned,
    fetch,
    fetch_many,
    fetch_owned,
    mutate,
    remove,
)
from timeside_gql.api.mutations.items import set_tags
from timeside_gql.api.permissions import require_owner, require_user
from timeside_gql.api.types.annotations import Annotation, AnnotationTrack
from timeside_gql.db import deletion
from timeside_gql.db import models as m
from timeside_gql.db.visibility import Viewer

AnnotationTrackPayload = Annotated[
    AnnotationTrack | ValidationError | NotFoundError | PermissionDenied | ConflictError,
    strawberry.union("AnnotationTrackPayload"),
]
AnnotationPayload = Annotated[
    Annotation | ValidationError | NotFoundError | PermissionDenied | ConflictError,
    strawberry.union("AnnotationPayload"),
]


@strawberry.input
class AnnotationTrackInput:
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    overlapping: bool | None = strawberry.UNSET
    is_public: bool | None = strawberry.UNSET


@strawberry.input(description="A time range in seconds, 0 ≤ start ≤ stop ≤ the item's duration.")
class AnnotationInput:
    start: float | None = strawberry.UNSET
    stop: float | None = strawberry.UNSET
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    tags: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Tag names; replaces the annotation's tags."
    )
    result_ids: list[UUID] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Results of the track's item this annotation was made from; replaces them.",
    )


def create_track(
    session: Session, viewer: Viewer, item_id: UUID, data: AnnotationTrackInput
) -> m.AnnotationTrack:
    """Anyone who sees an item may annotate it, on a track of their own."""
    item = fetch(session, viewer, m.Item, item_id)
    track = m.AnnotationTrack(author_id=require_user(viewer), item_id=item.id)
    assign(track, changes(data))
    session.add(track)
    session.flush()
    return track


def update_track(
    session: Session, viewer: Viewer, id: UUID, data: AnnotationTrackInput
) -> m.AnnotationTrack:
    track = lock_track(session, fetch_owned(session, viewer, m.AnnotationTrack, id))
    assign(track, changes(data))
    if not track.overlapping:
        _check_no_overlap(session, track, None, None)
    session.flush()
    return track


def create_annotation(
    session: Session, viewer: Viewer, track_id: UUID, data: AnnotationInput
) -> m.Annotation:
    track = fetch_owned(session, viewer, m.AnnotationTrack, track_id)
    if data.stop is strawberry.UNSET:
        raise InvalidInput("stop is required", field="stop")
    annotation = m.Annotation(track_id=track.id, stop=0.0)
    _apply(session, viewer, lock_track(session, track), annotation, data)
    return annotation


def update_annotation(
    session: Session, viewer: Viewer, id: UUID, data: AnnotationInput
) -> m.Annotation:
    annotation, track = _owned_annotation(session, viewer, id)
    _apply(session, viewer, lock_track(session, track), annotation, data)
    return annotation


def delete_annotation(session: Session, viewer: Viewer, id: UUID, data_dir: Path) -> UUID:
    annotation, _ = _owned_annotation(session, viewer, id)
    deletion.delete(session, annotation, data_dir=data_dir)
    return id


def _owned_annotation(
    session: Session, viewer: Viewer, id: UUID
) -> tuple[m.Annotation, m.AnnotationTrack]:
    """Annotations belong to their track: its author (or an admin) changes them."""
    annotation = fetch(session, viewer, m.Annotation, id)
    track = fetch(session, viewer, m.AnnotationTrack, annotation.track_id)
    require_owner(track.author_id, viewer)
    return annotation, track


def lock_track(session: Session, track: m.AnnotationTrack) -> m.AnnotationTrack:
    """Hold the track's row until commit (PostgreSQL ``FOR UPDATE``): two writers checking
    overlaps on one track take turns, so neither misses the other's annotation. SQLite needs
    nothing more: its write transactions start with ``BEGIN IMMEDIATE`` and run one at a time."""
    session.exec(
        select(m.AnnotationTrack.id).where(m.AnnotationTrack.id == track.id).with_for_update()
    ).one()
    session.refresh(track)
    return track


def _apply(
    session: Session,
    viewer: Viewer,
    track: m.AnnotationTrack,
    annotation: m.Annotation,
    data: AnnotationInput,
) -> None:
    assign(annotation, changes(data, exclude={"tags", "result_ids"}))
    _check_range(session, track, annotation)
    if not track.overlapping:
        _check_no_overlap(session, track, annotation.id, (annotation.start, annotation.stop))
    session.add(annotation)
    session.flush()
    if data.tags is not strawberry.UNSET:
        set_tags(session, m.AnnotationTag, "annotation_id", annotation.id, data.tags or [])
    if data.result_ids is not strawberry.UNSET:
        _set_results(session, viewer, track, annotation, data.result_ids or [])


def _set_results(
    session: Session,
    viewer: Viewer,
    track: m.AnnotationTrack,
    annotation: m.Annotation,
    result_ids: list[UUID],
) -> None:
    """Only results of the annotated item: an annotation documents what it was read from."""
    results = fetch_many(session, viewer, m.Result, result_ids, field="resultIds")
    if any(result.item_id != track.item_id for result in results):
        raise InvalidInput("results must belong to the track's item", field="resultIds")
    session.exec(
        delete(m.AnnotationResult).where(col(m.AnnotationResult.annotation_id) == annotation.id)
    )
    session.add_all(
        m.AnnotationResult(annotation_id=annotation.id, result_id=result.id) for result in results
    )
    session.flush()


def _check_range(session: Session, track: m.AnnotationTrack, annotation: m.Annotation) -> None:
    if annotation.start < 0:
        raise InvalidInput("start must be ≥ 0", field="start")
    if annotation.stop < annotation.start:
        raise InvalidInput("stop must be ≥ start", field="stop")
    duration = session.get(m.Item, track.item_id).audio_duration  # type: ignore[union-attr]
    if duration is not None and annotation.stop > duration:
        raise InvalidInput(f"stop must be ≤ the item's duration ({duration:g} s)", field="stop")


def _check_no_overlap(
    session: Session,
    track: m.AnnotationTrack,
    annotation_id: UUID | None,
    span: tuple[float, float] | None,
) -> None:
    """On a non-overlapping track, ranges may touch but not intersect."""
    rows = session.exec(
        select(m.Annotation)
        .where(m.Annotation.track_id == track.id)
        .order_by(col(m.Annotation.start))
    ).all()
    spans = [(a.start, a.stop) for a in rows if a.id != annotation_id]
    if span is not None:
        spans = sorted([*spans, span])
    for (_, stop), (start, _) in pairwise(spans):
        if start < stop:
            raise InvalidInput("annotations of this track may not overlap", field="start")


@strawberry.type
class AnnotationMutations:
    @strawberry.mutation(description="A new track of yours on an item you can see.")
    async def create_annotation_track(
        self, item_id: UUID, input: AnnotationTrackInput
    ) -> AnnotationTrackPayload:
        return await mutate(create_track, item_id, input)

    @strawberry.mutation
    async def update_annotation_track(
        self, id: UUID, input: AnnotationTrackInput
    ) -> AnnotationTrackPayload:
        return await mutate(update_track, id, input)

    @strawberry.mutation(description="Delete a track with its annotations.")
    async def delete_annotation_track(self, id: UUID) -> DeletePayload:
        return await remove(delete_owned, m.AnnotationTrack, id)

    @strawberry.mutation
    async def create_annotation(self, track_id: UUID, input: AnnotationInput) -> AnnotationPayload:
        return await mutate(create_annotation, track_id, input)

    @strawberry.mutation
    async def update_annotation(self, id: UUID, input: AnnotationInput) -> AnnotationPayload:
        return await mutate(update_annotation, id, input)

    @strawberry.mutation
    async def delete_annotation(self, id: UUID) -> DeletePayload:
        return await remove(delete_annotation, id)
