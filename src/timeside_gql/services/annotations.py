"""Writing annotation tracks and annotations (time ranges checked against the item)."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from uuid import UUID

from sqlmodel import Session, col, delete, select

from timeside_gql.db import deletion
from timeside_gql.db import models as m
from timeside_gql.db.visibility import Viewer
from timeside_gql.services.errors import InvalidInput
from timeside_gql.services.inputs import UNSET, AnnotationFields, AnnotationTrackFields
from timeside_gql.services.items import set_tags
from timeside_gql.services.permissions import author_of, require_owner
from timeside_gql.services.rows import assign, changes, fetch, fetch_many, fetch_owned


def create_track(
    session: Session, viewer: Viewer, item_id: UUID, data: AnnotationTrackFields
) -> m.AnnotationTrack:
    """Anyone who sees an item may annotate it, on a track of their own."""
    item = fetch(session, viewer, m.Item, item_id)
    track = m.AnnotationTrack(author_id=author_of(viewer), item_id=item.id)
    assign(track, changes(data))
    session.add(track)
    session.flush()
    return track


def update_track(
    session: Session, viewer: Viewer, id: UUID, data: AnnotationTrackFields
) -> m.AnnotationTrack:
    track = lock_track(session, fetch_owned(session, viewer, m.AnnotationTrack, id))
    assign(track, changes(data))
    if not track.overlapping:
        _check_no_overlap(session, track, None, None)
    session.flush()
    return track


def create_annotation(
    session: Session, viewer: Viewer, track_id: UUID, data: AnnotationFields
) -> m.Annotation:
    track = fetch_owned(session, viewer, m.AnnotationTrack, track_id)
    if data.stop is UNSET:
        raise InvalidInput("stop is required", field="stop")
    annotation = m.Annotation(track_id=track.id, stop=0.0)
    _apply(session, viewer, lock_track(session, track), annotation, data)
    return annotation


def update_annotation(
    session: Session, viewer: Viewer, id: UUID, data: AnnotationFields
) -> m.Annotation:
    annotation, track = _owned_annotation(session, viewer, id)
    _apply(session, viewer, lock_track(session, track), annotation, data)
    return annotation


def delete_annotation(session: Session, viewer: Viewer, data_dir: Path, id: UUID) -> UUID:
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
    data: AnnotationFields,
) -> None:
    assign(annotation, changes(data, exclude={"tags", "result_ids"}))
    _check_range(session, track, annotation)
    if not track.overlapping:
        _check_no_overlap(session, track, annotation.id, (annotation.start, annotation.stop))
    session.add(annotation)
    session.flush()
    if data.tags is not UNSET:
        set_tags(session, m.AnnotationTag, "annotation_id", annotation.id, data.tags or [])
    if data.result_ids is not UNSET:
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
