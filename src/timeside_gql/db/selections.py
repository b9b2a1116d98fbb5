"""The selection graph: recursive item resolution and acyclic nesting.

One recursive CTE (UNION, not UNION ALL: duplicates collapse and a cycle, should one ever get
in, still terminates) serves both; it runs unchanged on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, delete, select

from timeside_gql.db.errors import SelectionCycleError
from timeside_gql.db.models import Selection, SelectionChild, SelectionItem
from timeside_gql.db.visibility import Viewer, visible


def descendants(
    roots: Collection[uuid.UUID], *, only: sa.ColumnElement[bool] | None = None
) -> sa.CTE:
    """(root, selection_id) pairs for each root and every selection nested in it, itself
    included. With ``only`` (a condition on Selection) the walk enters only the selections
    meeting it: the API passes the viewer's visibility, so a private sub-selection hides
    what is nested in it."""
    ids = col(Selection.id)
    base: sa.Select[Any, Any] = sa.select(ids.label("root"), ids.label("selection_id"))
    base = base.where(ids.in_(roots))
    child_id = col(SelectionChild.child_id)
    if only is not None:
        base = base.where(only)
    tree = base.cte("selection_tree", recursive=True)
    step = select(tree.c.root, child_id).join(
        SelectionChild, col(SelectionChild.parent_id) == tree.c.selection_id
    )
    if only is not None:
        step = step.where(child_id.in_(select(ids).where(only)))
    return tree.union(step)


def all_item_ids(
    session: Session, selection_ids: Collection[uuid.UUID], *, viewer: Viewer | None = None
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Every item reachable from each selection, deduplicated, in one statement; with
    ``viewer``, only through the selections they may see (items are filtered by the caller)."""
    if not selection_ids:
        return {}
    only = None if viewer is None else visible(Selection, viewer)
    tree = descendants(selection_ids, only=only)
    rows = session.exec(
        select(tree.c.root, SelectionItem.item_id)
        .join(SelectionItem, col(SelectionItem.selection_id) == tree.c.selection_id)
        .distinct()
        .order_by(tree.c.root, col(SelectionItem.item_id))
    )
    found: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for root, item_id in rows:
        found[root].append(item_id)
    return {selection_id: found.get(selection_id, []) for selection_id in selection_ids}


def set_children(session: Session, parent: Selection, child_ids: Iterable[uuid.UUID]) -> None:
    """Make ``child_ids`` the nested selections of ``parent``, refusing any cycle."""
    wanted = list(dict.fromkeys(child_ids))
    _lock_graph(session)
    _check_acyclic(session, parent.id, wanted)
    session.exec(delete(SelectionChild).where(col(SelectionChild.parent_id) == parent.id))
    session.add_all(SelectionChild(parent_id=parent.id, child_id=c) for c in wanted)
    session.flush()
    session.expire(parent, ["children"])


def add_child(session: Session, parent: Selection, child_id: uuid.UUID) -> None:
    _lock_graph(session)
    _check_acyclic(session, parent.id, [child_id])
    if session.get(SelectionChild, (parent.id, child_id)) is None:
        session.add(SelectionChild(parent_id=parent.id, child_id=child_id))
        session.flush()
    session.expire(parent, ["children"])


def _check_acyclic(session: Session, parent_id: uuid.UUID, child_ids: list[uuid.UUID]) -> None:
    """An edge parent → child closes a cycle iff parent is already reachable from child."""
    if not child_ids:
        return
    tree = descendants(child_ids)
    offending = session.exec(
        select(tree.c.root).where(tree.c.selection_id == parent_id).limit(1)
    ).first()
    if offending is not None:
        raise SelectionCycleError(parent_id, offending)


def _lock_graph(session: Session) -> None:
    # Two concurrent edits (A→B, B→A) could each pass the check; serialise graph edits on
    # PostgreSQL. SQLite already allows a single writer.
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(_GRAPH_LOCK_KEY)))


_GRAPH_LOCK_KEY = 0x7453_4C53  # "tSLS": any constant unique to this lock
