"""Deleting rows by the rules of docs/data-model.md.

The database applies the rules (foreign keys cascade, set null or restrict); this module turns a
refusal into DeleteRefusedError and queues the files of every row that goes, for removal after
commit.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, func, select

from timeside_gql.db.errors import DeleteRefusedError
from timeside_gql.db.hooks import remove_after_commit
from timeside_gql.db.models import (
    Analysis,
    Entity,
    Experience,
    Item,
    Preset,
    Processor,
    Result,
    Selection,
)

# Why a RESTRICT foreign key may refuse each kind of row.
REFUSALS: dict[type[SQLModel], str] = {
    Processor: "presets use this processor",
    Preset: "experiences or analyses use this preset",
    Analysis: "analysis tracks show this analysis",
    Experience: "tasks ran this experience",
    Selection: "tasks ran this selection",
}


def delete(session: Session, obj: Entity, *, data_dir: Path) -> None:
    """Delete ``obj`` with what cascades from it; its files go when the transaction commits."""
    files = owned_files(session, obj, data_dir=data_dir)
    # The item's results directory (Settings.results_dir / <item id>) goes as a whole.
    trees = {data_dir.resolve() / "results" / str(obj.id)} if isinstance(obj, Item) else set()
    try:
        with session.begin_nested():
            session.delete(obj)
            session.flush()
    except IntegrityError as error:
        reason = REFUSALS.get(type(obj), "other rows depend on it")
        raise DeleteRefusedError(type(obj).__name__, obj.id, reason) from error
    remove_after_commit(session, files, trees=trees)


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
