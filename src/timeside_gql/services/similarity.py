"""Items like an item: exact nearest neighbours of its descriptor among what the viewer sees.

Every descriptor of the instance is held in memory as one ``core.similarity.Index`` per
process, with each row's author, visibility, tempo and key, reloaded only when
``item_descriptors`` or ``items`` change (one cheap statement per query tells). A query is
then one matrix-vector product with the rows out of the mask set aside: no statement grows
with the corpus, and the mask applies the rule of ``db.visibility`` (public, the viewer's
own, everything for administrators).
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from timeside_gql.core.similarity import Index
from timeside_gql.db import models as m
from timeside_gql.db.selections import all_item_ids
from timeside_gql.db.visibility import Viewer
from timeside_gql.services.errors import InvalidInput
from timeside_gql.services.rows import fetch


@dataclass(frozen=True)
class Filters:
    """What the neighbours must also be: in a tempo range (BPM), in a key (index into
    ``core.analyzers.tonal.KEYS``), tagged with every one of ``tags``, in a selection."""

    tempo_min: float | None = None
    tempo_max: float | None = None
    key: int | None = None
    tags: tuple[str, ...] = ()
    selection_id: uuid.UUID | None = None


@dataclass
class _Snapshot:
    stamp: tuple[Any, ...]
    ids: np.ndarray  # object: item UUIDs
    authors: np.ndarray  # int: author code, -1 for none
    public: np.ndarray  # bool
    tempo: np.ndarray
    key: np.ndarray
    index: Index
    author_codes: dict[uuid.UUID, int] = field(default_factory=dict)
    positions: dict[uuid.UUID, int] = field(default_factory=dict)


_snapshot: _Snapshot | None = None
_lock = threading.Lock()


def similar(
    session: Session,
    viewer: Viewer,
    item_id: uuid.UUID,
    *,
    by: str,
    first: int,
    offset: int,
    filters: Filters,
) -> list[tuple[uuid.UUID, float]] | None:
    """The items ``offset`` to ``offset + first`` nearest to ``item_id``, with their distances;
    None while the item has no descriptor. NotFound when the viewer may not see the item."""
    fetch(session, viewer, m.Item, item_id)
    snapshot = _current(session)
    position = snapshot.positions.get(item_id)
    if position is None:
        return None
    among = _visible(snapshot, viewer) & _matching(session, viewer, snapshot, filters)
    among[position] = False
    query = snapshot.index.rows["all"][position]
    found, distances = snapshot.index.nearest(query, k=offset + first, by=by, among=among)
    pairs = zip(found[offset:], distances[offset:], strict=True)
    return [(snapshot.ids[row], float(distance)) for row, distance in pairs]


def _current(session: Session) -> _Snapshot:
    """The process's snapshot, reloaded when the tables changed since it was taken."""
    global _snapshot
    stamp = _stamp(session)
    with _lock:
        if _snapshot is None or _snapshot.stamp != stamp:
            _snapshot = _load(session, stamp)
        return _snapshot


def _stamp(session: Session) -> tuple[Any, ...]:
    descriptor, item = m.ItemDescriptor, m.Item
    row = session.exec(
        select(
            func.count(),
            func.max(col(descriptor.updated_at)),
            func.max(col(item.updated_at)),
        ).join(item, col(item.id) == col(descriptor.item_id))
    ).one()
    return tuple(row)


def _load(session: Session, stamp: tuple[Any, ...]) -> _Snapshot:
    descriptor, item = m.ItemDescriptor, m.Item
    rows = session.execute(
        sa.select(
            col(descriptor.item_id),
            col(descriptor.vector),
            col(descriptor.tempo),
            col(descriptor.key),
            col(item.author_id),
            col(item.is_public),
        )
        .join(item, col(item.id) == col(descriptor.item_id))
        .order_by(col(descriptor.item_id))
    ).all()
    codes: dict[uuid.UUID, int] = {}
    authors = [-1 if r[4] is None else codes.setdefault(r[4], len(codes)) for r in rows]
    width = len(rows[0][1]) if rows else 0
    matrix = np.array([r[1] for r in rows], np.float32).reshape(len(rows), width)
    ids = np.array([r[0] for r in rows], dtype=object)
    return _Snapshot(
        stamp=stamp,
        ids=ids,
        authors=np.array(authors, np.int64),
        public=np.array([bool(r[5]) for r in rows], bool),
        tempo=np.array([r[2] for r in rows], np.float64),
        key=np.array([r[3] for r in rows], np.int64),
        index=Index(matrix),
        author_codes=codes,
        positions={item_id: n for n, item_id in enumerate(ids)},
    )


def _visible(snapshot: _Snapshot, viewer: Viewer) -> np.ndarray:
    if viewer.is_admin:
        return np.ones(snapshot.ids.size, bool)
    mine = snapshot.author_codes.get(viewer.user_id) if viewer.user_id else None
    own = snapshot.authors == mine if mine is not None else np.zeros(snapshot.ids.size, bool)
    return snapshot.public | own


def _matching(
    session: Session, viewer: Viewer, snapshot: _Snapshot, filters: Filters
) -> np.ndarray:
    keep = np.ones(snapshot.ids.size, bool)
    if filters.tempo_min is not None:
        keep &= snapshot.tempo >= filters.tempo_min
    if filters.tempo_max is not None:
        keep &= snapshot.tempo <= filters.tempo_max
    if filters.key is not None:
        keep &= snapshot.key == filters.key
    if filters.tags:
        keep &= _among(snapshot, _tagged(session, filters.tags))
    if filters.selection_id is not None:
        fetch(session, viewer, m.Selection, filters.selection_id)
        members = all_item_ids(session, [filters.selection_id], viewer=viewer)
        keep &= _among(snapshot, set(members[filters.selection_id]))
    return keep


def _among(snapshot: _Snapshot, item_ids: set[uuid.UUID]) -> np.ndarray:
    keep = np.zeros(snapshot.ids.size, bool)
    for item_id in item_ids:
        position = snapshot.positions.get(item_id)
        if position is not None:
            keep[position] = True
    return keep


def _tagged(session: Session, names: tuple[str, ...]) -> set[uuid.UUID]:
    """Items carrying every one of ``names``."""
    wanted = sorted({name.strip() for name in names if name.strip()})
    if not wanted:
        raise InvalidInput("tags must name at least one tag", field="tags")
    query = (
        select(m.ItemTag.item_id)
        .join(m.Tag, col(m.Tag.id) == col(m.ItemTag.tag_id))
        .where(col(m.Tag.name).in_(wanted))
        .group_by(col(m.ItemTag.item_id))
        .having(func.count(sa.distinct(col(m.Tag.name))) == len(wanted))
    )
    return set(session.exec(query))
