"""Selections resolve their items recursively, deduplicated, and refuse cycles."""

from __future__ import annotations

import itertools

import pytest
import sqlalchemy as sa
from sqlmodel import Session, select

from tests.db import factories
from timeside_gql.db.errors import SelectionCycleError
from timeside_gql.db.models import SelectionChild
from timeside_gql.db.selections import add_child, all_item_ids, set_children


def test_items_resolve_through_nesting_once_each(session: Session) -> None:
    a, b, c, d = (factories.item(session, t) for t in "abcd")
    leaf = factories.selection(session, "leaf", [c, d])
    middle = factories.selection(session, "middle", [b, c])
    top = factories.selection(session, "top", [a, b])
    set_children(session, middle, [leaf.id])
    set_children(session, top, [middle.id, leaf.id])  # leaf reachable twice
    empty = factories.selection(session, "empty")

    found = all_item_ids(session, [top.id, middle.id, leaf.id, empty.id])

    assert sorted(found[top.id]) == sorted([a.id, b.id, c.id, d.id])
    assert len(found[top.id]) == 4
    assert sorted(found[middle.id]) == sorted([b.id, c.id, d.id])
    assert sorted(found[leaf.id]) == sorted([c.id, d.id])
    assert found[empty.id] == []


def test_resolution_is_one_statement_for_many_selections(session: Session) -> None:
    selections = [factories.selection(session, str(n), [factories.item(session)]) for n in range(5)]
    statements: list[str] = []
    sa.event.listen(session.get_bind(), "before_cursor_execute", _record(statements))
    all_item_ids(session, [s.id for s in selections])
    assert len(statements) == 1


def _record(statements: list[str]):  # type: ignore[no-untyped-def]
    def before(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    return before


@pytest.mark.parametrize("depth", [0, 1, 3])
def test_a_cycle_is_refused(session: Session, depth: int) -> None:
    chain = [factories.selection(session, str(n)) for n in range(depth + 1)]
    for parent, child in itertools.pairwise(chain):
        add_child(session, parent, child.id)

    with pytest.raises(SelectionCycleError) as refused:
        add_child(session, chain[-1], chain[0].id)

    assert refused.value.parent_id == chain[-1].id
    assert session.exec(select(sa.func.count()).select_from(SelectionChild)).one() == depth


def test_set_children_refuses_a_cycle_and_keeps_the_old_children(session: Session) -> None:
    top, middle, other = (factories.selection(session, t) for t in ("top", "middle", "other"))
    set_children(session, top, [middle.id])
    with pytest.raises(SelectionCycleError):
        set_children(session, middle, [other.id, top.id])
    assert [c.id for c in top.children] == [middle.id]
    assert middle.children == []


def test_a_diamond_is_not_a_cycle(session: Session) -> None:
    top, left, right, bottom = (factories.selection(session, t) for t in "tlrb")
    set_children(session, top, [left.id, right.id])
    set_children(session, left, [bottom.id])
    set_children(session, right, [bottom.id])
    assert {c.id for c in top.children} == {left.id, right.id}
