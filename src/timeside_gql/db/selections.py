"""The selection graph: recursive item resolution and acyclic nesting.

One recursive CTE (UNION, not UNION ALL: duplicates collapse and a cycle, should one ever get
in, still terminates) serves both; it runs unchanged on SQLite and PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Collection, Iterable

import sqlalchemy as sa
from sqlmodel import Session, col, delete, select
from sqlmodel.sql.expression import SelectOfScalar

from timeside_gql.db.errors import SelectionCycleError
from timeside_gql.db.models import Selection, SelectionChild, SelectionItem


def _descendants(roots: Collection[uuid.UUID]) -> sa.CTE:
    """(root, selection) pairs for each root and every selection nested in it, itself included."""
    tree = (
        select(col(Selection.id).label("root"), col(Selection.id).label("selection_id"))
        .where(col(Selection.id).in_(roots))
        .cte("selection_tree", recursive=True)
    )
    step = select(tree.c.root, SelectionChild.child_id).join(
        SelectionChild, col(SelectionChild.parent_id) == tree.c.selection_id
    )
    return tree.union(step)


def all_item_ids(
    session: Session, selection_ids: Collection[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Every item reachable from each selection, deduplicated, in one statement (DataLoader use)."""
    if not selection_ids:
        return {}
    tree = _descendants(selection_ids)
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


def item_ids_query(selection_id: uuid.UUID) -> SelectOfScalar[uuid.UUID]:
    """The item ids reachable from one selection, as a subquery to filter or paginate items by."""
    tree = _descendants([selection_id])
    return (
        select(SelectionItem.item_id)
        .join(tree, col(SelectionItem.selection_id) == tree.c.selection_id)
        .distinct()
    )


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
    tree = _descendants(child_ids)
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
