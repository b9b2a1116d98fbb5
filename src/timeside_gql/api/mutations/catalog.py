"""Writing catalogue data: presets (any user, deduplicated), tags, providers and processors
(administrators)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

import strawberry
from sqlmodel import Session, select
from strawberry.scalars import JSON

from timeside_gql.api.errors import (
    ConflictError,
    InvalidInput,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from timeside_gql.api.mutations.base import (
    DeletePayload,
    assign,
    changes,
    fetch,
    mutate,
    remove,
    require_text,
)
from timeside_gql.api.permissions import require_admin, require_user
from timeside_gql.api.types.base import as_types
from timeside_gql.api.types.catalog import Preset, Processor, Provider, Tag
from timeside_gql.core.params import ParameterError
from timeside_gql.db import deletion
from timeside_gql.db import models as m
from timeside_gql.db.presets import preset_for
from timeside_gql.db.processors import sync_from_registry
from timeside_gql.db.visibility import Viewer

PresetPayload = Annotated[
    Preset | ValidationError | NotFoundError | PermissionDenied | ConflictError,
    strawberry.union("PresetPayload"),
]
TagPayload = Annotated[
    Tag | ValidationError | NotFoundError | PermissionDenied | ConflictError,
    strawberry.union("TagPayload"),
]
ProviderPayload = Annotated[
    Provider | ValidationError | NotFoundError | PermissionDenied | ConflictError,
    strawberry.union("ProviderPayload"),
]


@strawberry.type(description="The processors of the registry, as now stored.")
class SyncedProcessors:
    processors: list[Processor]


SyncProcessorsPayload = Annotated[
    SyncedProcessors | PermissionDenied, strawberry.union("SyncProcessorsPayload")
]


@strawberry.input
class ProviderInput:
    pid: str | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    domains: list[str] | None = strawberry.UNSET
    source_access: bool | None = strawberry.UNSET


def create_preset(
    session: Session, viewer: Viewer, processor_id: UUID, parameters: Any
) -> m.Preset:
    """The preset of these settings: the stored one if the same canonical settings exist."""
    author_id = require_user(viewer)
    processor = fetch(session, viewer, m.Processor, processor_id)
    try:
        return preset_for(session, processor, parameters, author_id=author_id)
    except ParameterError as error:
        raise InvalidInput(str(error), field="parameters") from error


def delete_catalog_row(
    session: Session, viewer: Viewer, model: type[Any], id: UUID, data_dir: Path
) -> UUID:
    """Presets, tags, providers and processors are shared: only administrators delete them."""
    require_admin(viewer)
    deletion.delete(session, fetch(session, viewer, model, id), data_dir=data_dir)
    return id


def create_tag(session: Session, viewer: Viewer, name: str) -> m.Tag:
    require_user(viewer)
    name = require_text(name, field="name")
    tag = session.exec(select(m.Tag).where(m.Tag.name == name)).first()
    if tag is None:
        tag = m.Tag(name=name)
        session.add(tag)
        session.flush()
    return tag


def rename_tag(session: Session, viewer: Viewer, id: UUID, name: str) -> m.Tag:
    require_admin(viewer)
    tag = fetch(session, viewer, m.Tag, id)
    tag.name = require_text(name, field="name")
    session.flush()
    return tag


def save_provider(
    session: Session, viewer: Viewer, id: UUID | None, data: ProviderInput
) -> m.Provider:
    require_admin(viewer)
    if id is None:
        if not data.pid:
            raise InvalidInput("pid is required", field="pid")
        provider = m.Provider(pid=data.pid)
    else:
        provider = fetch(session, viewer, m.Provider, id)
    values = changes(data)
    if values.get("pid") is not None:
        values["pid"] = require_text(values["pid"], field="pid")
    assign(provider, values)
    session.add(provider)
    session.flush()
    return provider


def sync_registry(session: Session, viewer: Viewer) -> list[m.Processor]:
    require_admin(viewer)
    return sync_from_registry(session)


@strawberry.type
class CatalogMutations:
    @strawberry.mutation(
        description="The preset of a processor with these parameters, validated against its "
        "JSON Schema; returns the existing preset when the same canonical settings exist."
    )
    async def create_preset(
        self, processor_id: UUID, parameters: JSON | None = None
    ) -> PresetPayload:
        return await mutate(create_preset, processor_id, parameters)

    @strawberry.mutation(description="Administrators only; cascades to the preset's results.")
    async def delete_preset(self, id: UUID) -> DeletePayload:
        return await remove(delete_catalog_row, m.Preset, id)

    @strawberry.mutation(description="The tag of this name, created if missing.")
    async def create_tag(self, name: str) -> TagPayload:
        return await mutate(create_tag, name)

    @strawberry.mutation(description="Administrators only.")
    async def rename_tag(self, id: UUID, name: str) -> TagPayload:
        return await mutate(rename_tag, id, name)

    @strawberry.mutation(description="Administrators only.")
    async def delete_tag(self, id: UUID) -> DeletePayload:
        return await remove(delete_catalog_row, m.Tag, id)

    @strawberry.mutation(description="Administrators only.")
    async def create_provider(self, input: ProviderInput) -> ProviderPayload:
        return await mutate(save_provider, None, input)

    @strawberry.mutation(description="Administrators only.")
    async def update_provider(self, id: UUID, input: ProviderInput) -> ProviderPayload:
        return await mutate(save_provider, id, input)

    @strawberry.mutation(description="Administrators only; items keep no provider.")
    async def delete_provider(self, id: UUID) -> DeletePayload:
        return await remove(delete_catalog_row, m.Provider, id)

    @strawberry.mutation(
        description="Administrators only: store every processor of the audio core's registry "
        "(processors are code, so they are synced, not created)."
    )
    async def sync_processors(self) -> SyncProcessorsPayload:
        return await mutate(
            sync_registry, convert=lambda rows: SyncedProcessors(processors=as_types(rows))
        )

    @strawberry.mutation(description="Administrators only; refused while presets use it.")
    async def delete_processor(self, id: UUID) -> DeletePayload:
        return await remove(delete_catalog_row, m.Processor, id)
