"""Writing selections: their items and nested selections (cycles refused)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import strawberry
from sqlmodel import Session, col, delete

from timeside_gql.api.errors import (
    ConflictError,
    CycleError,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from timeside_gql.api.mutations.base import (
    DeletePayload,
    assign,
    changes,
    delete_owned,
    fetch_many,
    fetch_owned,
    mutate,
    remove,
)
from timeside_gql.api.permissions import require_user
from timeside_gql.api.types.items import Selection
from timeside_gql.db import models as m
from timeside_gql.db import selections
from timeside_gql.db.visibility import Viewer

SelectionPayload = Annotated[
    Selection | ValidationError | NotFoundError | PermissionDenied | ConflictError | CycleError,
    strawberry.union("SelectionPayload"),
]


@strawberry.input(description="Fields of a selection; on update, omitted fields keep their value.")
class SelectionInput:
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    is_public: bool | None = strawberry.UNSET
    item_ids: list[UUID] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces the items listed directly."
    )
    child_ids: list[UUID] | None = strawberry.field(
        default=strawberry.UNSET,
        description="Replaces the nested selections; refused if it would make a cycle.",
    )


def create_selection(session: Session, viewer: Viewer, data: SelectionInput) -> m.Selection:
    selection = m.Selection(author_id=require_user(viewer))
    _apply(session, viewer, selection, data)
    return selection


def update_selection(
    session: Session, viewer: Viewer, id: UUID, data: SelectionInput
) -> m.Selection:
    selection = fetch_owned(session, viewer, m.Selection, id)
    _apply(session, viewer, selection, data)
    return selection


def _apply(session: Session, viewer: Viewer, selection: m.Selection, data: SelectionInput) -> None:
    assign(selection, changes(data, exclude={"item_ids", "child_ids"}))
    session.add(selection)
    session.flush()
    if data.item_ids is not strawberry.UNSET:
        items = fetch_many(session, viewer, m.Item, data.item_ids or [], field="itemIds")
        session.exec(
            delete(m.SelectionItem).where(col(m.SelectionItem.selection_id) == selection.id)
        )
        session.add_all(m.SelectionItem(selection_id=selection.id, item_id=i.id) for i in items)
        session.flush()
    if data.child_ids is not strawberry.UNSET:
        children = fetch_many(session, viewer, m.Selection, data.child_ids or [], field="childIds")
        selections.set_children(session, selection, [child.id for child in children])


@strawberry.type
class SelectionMutations:
    @strawberry.mutation
    async def create_selection(self, input: SelectionInput) -> SelectionPayload:
        return await mutate(create_selection, input)

    @strawberry.mutation
    async def update_selection(self, id: UUID, input: SelectionInput) -> SelectionPayload:
        return await mutate(update_selection, id, input)

    @strawberry.mutation(description="Delete a selection (not its items); refused if tasks ran it.")
    async def delete_selection(self, id: UUID) -> DeletePayload:
        return await remove(delete_owned, m.Selection, id)
