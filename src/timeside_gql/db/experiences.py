"""Ordered presets of an experience."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlmodel import Session, col, delete

from timeside_gql.db.errors import DuplicatePresetError
from timeside_gql.db.models import Experience, ExperiencePreset


def set_presets(session: Session, experience: Experience, preset_ids: Sequence[uuid.UUID]) -> None:
    """Replace the experience's presets by ``preset_ids``, in that order."""
    seen: set[uuid.UUID] = set()
    for preset_id in preset_ids:
        if preset_id in seen:
            raise DuplicatePresetError(preset_id)
        seen.add(preset_id)
    session.exec(
        delete(ExperiencePreset).where(col(ExperiencePreset.experience_id) == experience.id)
    )
    session.add_all(
        ExperiencePreset(experience_id=experience.id, preset_id=preset_id, position=position)
        for position, preset_id in enumerate(preset_ids)
    )
    session.flush()
    session.expire(experience, ["presets"])
