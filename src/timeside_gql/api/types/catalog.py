"""Catalogue data every reader sees: providers, tags, processors and their presets."""

from __future__ import annotations

from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from timeside_gql.api.types.base import Entity, maps, to_many, to_one
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

    presets: list[Preset] = to_many(
        lambda lo: lo.by_column(m.Preset, "processor_id"),
        description="Presets of this processor, newest first.",
    )


@maps(m.Preset)
@strawberry.type(description="A processor with canonical parameters, stored once per setting.")
class Preset(Entity):
    parameters: JSON
    parameters_hash: str
    processor_id: strawberry.Private[UUID]

    processor: Processor = to_one(m.Processor, "processor_id")
