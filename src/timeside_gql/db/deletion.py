"""Deleting rows by the rules of docs/data-model.md.

The database applies the rules (foreign keys cascade, set null or restrict); this module turns a
refusal into DeleteRefusedError and queues the files of every row that goes, for removal after
commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from uuid import UUID

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, func, select

from timeside_gql.db.errors import DeleteRefusedError
from timeside_gql.db.hooks import remove_after_commit
from timeside_gql.db.models import (
    Analysis,
    Annotation,
    AnnotationTag,
    AnnotationTrack,
    Entity,
    Experience,
    Item,
    ItemTag,
    Preset,
    Processor,
    Result,
    Selection,
    Tag,
)

#: Ids per statement: SQLite and PostgreSQL cap the parameters of one statement.
_CHUNK = 1000

# Why a RESTRICT foreign key may refuse each kind of row.
REFUSALS: dict[type[SQLModel], str] = {
    Processor: "presets use this processor",
    Preset: "experiences or analyses use this preset",
    Analysis: "analysis tracks show this analysis",
    Experience: "tasks ran this experience",
    Selection: "tasks ran this selection",
}


def delete(session: Session, obj: Entity, *, data_dir: Path) -> None:
    """Delete ``obj`` with what cascades from it; its files go when the transaction commits,
    and the tags that nothing carries any more go with it."""
    files = owned_files(session, obj, data_dir=data_dir)
    tags = carried_tags(session, obj)
    # The item's results directory (Settings.results_dir / <item id>) goes as a whole.
    trees = {data_dir.resolve() / "results" / str(obj.id)} if isinstance(obj, Item) else set()
    try:
        with session.begin_nested():
            session.delete(obj)
            session.flush()
    except IntegrityError as error:
        reason = REFUSALS.get(type(obj), "other rows depend on it")
        raise DeleteRefusedError(type(obj).__name__, obj.id, reason) from error
    drop_unused_tags(session, tags)
    remove_after_commit(session, files, trees=trees)


def carried_tags(session: Session, obj: Entity) -> set[UUID]:
    """The tags on ``obj`` and on the annotations that go with it."""
    annotations = select(Annotation.id)
    if isinstance(obj, Item):
        tracks = select(AnnotationTrack.id).where(AnnotationTrack.item_id == obj.id)
        annotations = annotations.where(col(Annotation.track_id).in_(tracks))
        on_item = set(session.exec(select(ItemTag.tag_id).where(ItemTag.item_id == obj.id)))
    elif isinstance(obj, AnnotationTrack):
        annotations, on_item = annotations.where(Annotation.track_id == obj.id), set()
    elif isinstance(obj, Annotation):
        annotations, on_item = annotations.where(Annotation.id == obj.id), set()
    else:
        return set()
    linked = select(AnnotationTag.tag_id).where(col(AnnotationTag.annotation_id).in_(annotations))
    return on_item | set(session.exec(linked))


def drop_unused_tags(session: Session, tag_ids: Iterable[UUID]) -> None:
    """Delete the tags of ``tag_ids`` that no item or annotation carries any more: a tag is
    only a name on something (docs/data-model.md)."""
    ids = list(tag_ids)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        used = sa.union(
            select(ItemTag.tag_id).where(col(ItemTag.tag_id).in_(chunk)),
            select(AnnotationTag.tag_id).where(col(AnnotationTag.tag_id).in_(chunk)),
        )
        session.execute(sa.delete(Tag).where(col(Tag.id).in_(chunk), col(Tag.id).not_in(used)))


def owned_files(session: Session, obj: Entity, *, data_dir: Path) -> set[Path]:
    """Files that must not outlive ``obj``: its results' files, and an item's own source."""
    root = data_dir.resolve()
    results = select(Result.hdf5_path, Result.file_path)
    if isinstance(obj, Item):
        paths = _paths(session, results.where(Result.item_id == obj.id))
        if obj.source_file and not _shared_source(session, obj):
            paths.add(obj.source_file)
    elif isinstance(obj, Preset):
        paths = _paths(session, results.where(Result.preset_id == obj.id))
    elif isinstance(obj, Result):
        paths = {p for p in (obj.hdf5_path, obj.file_path) if p}
    else:
        return set()
    return {path for path in (_inside(root, p) for p in paths) if path is not None}


def _paths(session: Session, query: object) -> set[str]:
    return {p for row in session.exec(query) for p in row if p}  # type: ignore[call-overload]


def _shared_source(session: Session, item: Item) -> bool:
    others = select(func.count()).where(
        Item.source_file == item.source_file, col(Item.id) != item.id
    )
    return bool(session.exec(others).one())


def _inside(root: Path, relative: str) -> Path | None:
    """``root / relative`` if it stays inside ``root``: stored paths never reach outside."""
    path = (root / relative).resolve()
    return path if path.is_relative_to(root) and path != root else None
