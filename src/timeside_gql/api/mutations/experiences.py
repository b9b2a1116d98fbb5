"""Experience mutations (``services.experiences``)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import strawberry

from timeside_gql.api.errors import (
    ConflictError,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from timeside_gql.api.mutations.base import DeletePayload, mutate, remove
from timeside_gql.api.types.experiences import Experience
from timeside_gql.db import models as m
from timeside_gql.services import experiences
from timeside_gql.services.inputs import UNSET, ExperienceFields
from timeside_gql.services.rows import delete_owned

ExperiencePayload = Annotated[
    Experience | ValidationError | NotFoundError | PermissionDenied | ConflictError,
    strawberry.union("ExperiencePayload"),
]


@strawberry.input(
    description="Fields of an experience; on update, omitted fields keep their value."
)
class ExperienceInput(ExperienceFields):
    preset_ids: list[UUID] | None = strawberry.field(
        default=UNSET, description="Replaces the presets; run in this order."
    )


@strawberry.type
class ExperienceMutations:
    @strawberry.mutation
    async def create_experience(self, input: ExperienceInput) -> ExperiencePayload:
        return await mutate(experiences.create_experience, input)

    @strawberry.mutation
    async def update_experience(self, id: UUID, input: ExperienceInput) -> ExperiencePayload:
        return await mutate(experiences.update_experience, id, input)

    @strawberry.mutation(description="Refused while tasks refer to the experience.")
    async def delete_experience(self, id: UUID) -> DeletePayload:
        return await remove(delete_owned, m.Experience, id)
