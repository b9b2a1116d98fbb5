"""Writing experiences: ordered presets."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import strawberry
from sqlmodel import Session

from timeside_gql.api.errors import (
    ConflictError,
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
from timeside_gql.api.types.experiences import Experience
from timeside_gql.db import experiences
from timeside_gql.db import models as m
from timeside_gql.db.visibility import Viewer

ExperiencePayload = Annotated[
    Experience | ValidationError | NotFoundError | PermissionDenied | ConflictError,
    strawberry.union("ExperiencePayload"),
]


@strawberry.input(
    description="Fields of an experience; on update, omitted fields keep their value."
)
class ExperienceInput:
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    is_public: bool | None = strawberry.UNSET
    preset_ids: list[UUID] | None = strawberry.field(
        default=strawberry.UNSET, description="Replaces the presets; run in this order."
    )


def create_experience(session: Session, viewer: Viewer, data: ExperienceInput) -> m.Experience:
    experience = m.Experience(author_id=require_user(viewer))
    _apply(session, viewer, experience, data)
    return experience


def update_experience(
    session: Session, viewer: Viewer, id: UUID, data: ExperienceInput
) -> m.Experience:
    experience = fetch_owned(session, viewer, m.Experience, id)
    _apply(session, viewer, experience, data)
    return experience


def _apply(
    session: Session, viewer: Viewer, experience: m.Experience, data: ExperienceInput
) -> None:
    assign(experience, changes(data, exclude={"preset_ids"}))
    session.add(experience)
    session.flush()
    if data.preset_ids is not strawberry.UNSET:
        ids = data.preset_ids or []
        fetch_many(session, viewer, m.Preset, ids, field="presetIds")
        experiences.set_presets(session, experience, ids)


@strawberry.type
class ExperienceMutations:
    @strawberry.mutation
    async def create_experience(self, input: ExperienceInput) -> ExperiencePayload:
        return await mutate(create_experience, input)

    @strawberry.mutation
    async def update_experience(self, id: UUID, input: ExperienceInput) -> ExperiencePayload:
        return await mutate(update_experience, id, input)

    @strawberry.mutation(description="Refused while tasks refer to the experience.")
    async def delete_experience(self, id: UUID) -> DeletePayload:
        return await remove(delete_owned, m.Experience, id)
