"""Experiences: ordered lists of presets run together."""

from __future__ import annotations

import strawberry

from timeside_gql.api.types.base import maps, to_many
from timeside_gql.api.types.catalog import Preset
from timeside_gql.api.types.owned import Owned
from timeside_gql.db import models as m


@maps(m.Experience)
@strawberry.type(description="Presets run together on each item of a task, in this order.")
class Experience(Owned):
    title: str
    description: str

    presets: list[Preset] = to_many(
        lambda lo: lo.linked(
            m.ExperiencePreset,
            "experience_id",
            "preset_id",
            m.Preset,
            order_by=[m.ExperiencePreset.position],
        ),
        description="The presets, in run order.",
    )
