"""Writing catalogue data: presets (any user, deduplicated), tags, providers and processors
(administrators)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from timeside_gql.api.errors import (
    ConflictError,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from timeside_gql.api.mutations.base import DeletePayload, converted, mutate, remove
from timeside_gql.api.types.base import as_types
from timeside_gql.api.types.catalog import Preset, Processor, Provider, Tag
from timeside_gql.db import models as m
from timeside_gql.services import catalog
from timeside_gql.services.inputs import ProviderFields

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
class ProviderInput(ProviderFields):
    pass


@strawberry.type
class CatalogMutations:
    @strawberry.mutation(
        description="The preset of a processor with these parameters, validated against its "
        "JSON Schema; returns the existing preset when the same canonical settings exist."
    )
    async def create_preset(
        self, processor_id: UUID, parameters: JSON | None = None
    ) -> PresetPayload:
        return await mutate(catalog.create_preset, processor_id, parameters)

    @strawberry.mutation(description="Administrators only; cascades to the preset's results.")
    async def delete_preset(self, id: UUID) -> DeletePayload:
        return await remove(catalog.delete_catalog_row, m.Preset, id)

    @strawberry.mutation(description="The tag of this name, created if missing.")
    async def create_tag(self, name: str) -> TagPayload:
        return await mutate(catalog.create_tag, name)

    @strawberry.mutation(description="Administrators only.")
    async def rename_tag(self, id: UUID, name: str) -> TagPayload:
        return await mutate(catalog.rename_tag, id, name)

    @strawberry.mutation(description="Administrators only.")
    async def delete_tag(self, id: UUID) -> DeletePayload:
        return await remove(catalog.delete_catalog_row, m.Tag, id)

    @strawberry.mutation(description="Administrators only.")
    async def create_provider(self, input: ProviderInput) -> ProviderPayload:
        return await mutate(catalog.save_provider, None, input)

    @strawberry.mutation(description="Administrators only.")
    async def update_provider(self, id: UUID, input: ProviderInput) -> ProviderPayload:
        return await mutate(catalog.save_provider, id, input)

    @strawberry.mutation(description="Administrators only; items keep no provider.")
    async def delete_provider(self, id: UUID) -> DeletePayload:
        return await remove(catalog.delete_catalog_row, m.Provider, id)

    @strawberry.mutation(
        description="Administrators only: store every processor of the audio core's registry "
        "(processors are code, so they are synced, not created)."
    )
    async def sync_processors(self) -> SyncProcessorsPayload:
        return await converted(_synced, catalog.sync_registry)

    @strawberry.mutation(description="Administrators only; refused while presets use it.")
    async def delete_processor(self, id: UUID) -> DeletePayload:
        return await remove(catalog.delete_catalog_row, m.Processor, id)


def _synced(rows: list[m.Processor]) -> SyncedProcessors:
    return SyncedProcessors(processors=as_types(rows))
