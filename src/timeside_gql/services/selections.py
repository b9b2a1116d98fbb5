"""Writing selections: their items and nested selections (cycles refused)."""

from __future__ import annotations

from uuid import UUID

from sqlmodel import Session, col, delete

from timeside_gql.db import models as m
from timeside_gql.db import selections
from timeside_gql.db.visibility import Viewer
from timeside_gql.services.inputs import UNSET, SelectionFields
from timeside_gql.services.permissions import author_of
from timeside_gql.services.rows import assign, changes, fetch_many, fetch_owned


def create_selection(session: Session, viewer: Viewer, data: SelectionFields) -> m.Selection:
    selection = m.Selection(author_id=author_of(viewer))
    _apply(session, viewer, selection, data)
    return selection


def update_selection(
    session: Session, viewer: Viewer, id: UUID, data: SelectionFields
) -> m.Selection:
    selection = fetch_owned(session, viewer, m.Selection, id)
    _apply(session, viewer, selection, data)
    return selection


def _apply(session: Session, viewer: Viewer, selection: m.Selection, data: SelectionFields) -> None:
    assign(selection, changes(data, exclude={"item_ids", "child_ids"}))
    session.add(selection)
    session.flush()
    if data.item_ids is not UNSET:
        items = fetch_many(session, viewer, m.Item, data.item_ids or [], field="itemIds")
        session.exec(
            delete(m.SelectionItem).where(col(m.SelectionItem.selection_id) == selection.id)
        )
        session.add_all(m.SelectionItem(selection_id=selection.id, item_id=i.id) for i in items)
        session.flush()
    if data.child_ids is not UNSET:
        children = fetch_many(session, viewer, m.Selection, data.child_ids or [], field="childIds")
        selections.set_children(session, selection, [child.id for child in children])
