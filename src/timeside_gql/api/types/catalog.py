"""Catalogue data every reader sees: providers, tags, processors and their presets."""

from __future__ import annotations

from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from timeside_gql.api.types.base import Entity, as_type, as_types, loaders, maps
from timeside_gql.api.types.enums import ProcessorKind
from timeside_gql.db import models as m


@maps(m.Provider)
@strawberry.type(description="A source of audio (YouTube, Deezer...) items can refer to.")
class Provider(Entity):
    pid: str
    name: str
    domains: list[str]
    source_access: bool = strawberry.field(
        description="Whether the provider lets us fetch the audio, not only metadata."
    )


@maps(m.Tag)
@strawberry.type(description="A label shared by items and annotations.")
class Tag(Entity):
    name: str


@maps(m.Processor)
@strawberry.type(description="One version of an analyzer, grapher or encoder of the audio core.")
class Processor(Entity):
    pid: str
    version: str
    name: str
    kind: ProcessorKind
    description: str
    parameters_schema: JSON = strawberry.field(description="JSON Schema of preset parameters.")
    outputs: JSON

    @strawberry.field(description="Presets of this processor, newest first.")
    async def presets(self) -> list[Preset]:
        return as_types(await loaders().by_column(m.Preset, "processor_id").load(self.id))


@maps(m.Preset)
@strawberry.type(description="A processor with canonical parameters, stored once per setting.")
class Preset(Entity):
    parameters: JSON
    parameters_hash: str
    processor_id: strawberry.Private[UUID]

    @strawberry.field
    async def processor(self) -> Processor:
        return as_type(await loaders().by_id(m.Processor).load(self.processor_id))
