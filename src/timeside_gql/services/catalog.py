"""Writing catalogue data: presets (any user, deduplicated), tags, providers and processors
(administrators)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

from sqlmodel import Session, select

from timeside_gql.core.params import ParameterError
from timeside_gql.db import deletion
from timeside_gql.db import models as m
from timeside_gql.db.presets import preset_for
from timeside_gql.db.processors import sync_from_registry
from timeside_gql.db.visibility import Viewer
from timeside_gql.services.errors import InvalidInput
from timeside_gql.services.inputs import ProviderFields
from timeside_gql.services.items import tag_name
from timeside_gql.services.permissions import require_admin, require_user
from timeside_gql.services.rows import assign, changes, fetch, require_text


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
    session: Session, viewer: Viewer, data_dir: Path, model: type[Any], id: UUID
) -> UUID:
    """Presets, tags, providers and processors are shared: only administrators delete them."""
    require_admin(viewer)
    deletion.delete(session, fetch(session, viewer, model, id), data_dir=data_dir)
    return id


def create_tag(session: Session, viewer: Viewer, name: str) -> m.Tag:
    require_user(viewer)
    name = tag_name(name, field="name")
    tag = session.exec(select(m.Tag).where(m.Tag.name == name)).first()
    if tag is None:
        tag = m.Tag(name=name)
        session.add(tag)
        session.flush()
    return tag


def rename_tag(session: Session, viewer: Viewer, id: UUID, name: str) -> m.Tag:
    require_admin(viewer)
    tag = fetch(session, viewer, m.Tag, id)
    tag.name = tag_name(name, field="name")
    session.flush()
    return tag


def save_provider(
    session: Session, viewer: Viewer, id: UUID | None, data: ProviderFields
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
