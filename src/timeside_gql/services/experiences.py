"""Writing experiences: ordered presets."""

from __future__ import annotations

from uuid import UUID

from sqlmodel import Session

from timeside_gql.db import experiences
from timeside_gql.db import models as m
from timeside_gql.db.visibility import Viewer
from timeside_gql.services.inputs import UNSET, ExperienceFields
from timeside_gql.services.permissions import author_of
from timeside_gql.services.rows import assign, changes, fetch_many, fetch_owned


def create_experience(session: Session, viewer: Viewer, data: ExperienceFields) -> m.Experience:
    experience = m.Experience(author_id=author_of(viewer))
    _apply(session, viewer, experience, data)
    return experience


def update_experience(
    session: Session, viewer: Viewer, id: UUID, data: ExperienceFields
) -> m.Experience:
    experience = fetch_owned(session, viewer, m.Experience, id)
    _apply(session, viewer, experience, data)
    return experience


def _apply(
    session: Session, viewer: Viewer, experience: m.Experience, data: ExperienceFields
) -> None:
    assign(experience, changes(data, exclude={"preset_ids"}))
    session.add(experience)
    session.flush()
    if data.preset_ids is not UNSET:
        ids = data.preset_ids or []
        fetch_many(session, viewer, m.Preset, ids, field="presetIds")
        experiences.set_presets(session, experience, ids)
