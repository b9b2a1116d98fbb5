"""Selection mutations (``services.selections``)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import strawberry

from timeside_gql.api.errors import (
    ConflictError,
    CycleError,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from timeside_gql.api.mutations.base import DeletePayload, mutate, remove
from timeside_gql.api.types.items import Selection
from timeside_gql.db import models as m
from timeside_gql.services import selections
from timeside_gql.services.inputs import UNSET, SelectionFields
from timeside_gql.services.rows import delete_owned

SelectionPayload = Annotated[
    Selection | ValidationError | NotFoundError | PermissionDenied | ConflictError | CycleError,
    strawberry.union("SelectionPayload"),
]


@strawberry.input(description="Fields of a selection; on update, omitted fields keep their value.")
class SelectionInput(SelectionFields):
    item_ids: list[UUID] | None = strawberry.field(
        default=UNSET, description="Replaces the items listed directly."
    )
    child_ids: list[UUID] | None = strawberry.field(
        default=UNSET,
        description="Replaces the nested selections; refused if it would make a cycle.",
    )


@strawberry.type
class SelectionMutations:
    @strawberry.mutation
    async def create_selection(self, input: SelectionInput) -> SelectionPayload:
        return await mutate(selections.create_selection, input)

    @strawberry.mutation
    async def update_selection(self, id: UUID, input: SelectionInput) -> SelectionPayload:
        return await mutate(selections.update_selection, id, input)

    @strawberry.mutation(description="Delete a selection (not its items); refused if tasks ran it.")
    async def delete_selection(self, id: UUID) -> DeletePayload:
        return await remove(delete_owned, m.Selection, id)
