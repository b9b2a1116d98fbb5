"""Reading the rows a write acts on, and applying an input's fields to them."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

from sqlmodel import Session, col, select
from strawberry.types.unset import UNSET
from strawberry.utils.str_converters import to_camel_case

from timeside_gql.db import deletion
from timeside_gql.db import models as m
from timeside_gql.db.visibility import Viewer, visible
from timeside_gql.services.errors import InvalidInput, NotFound
from timeside_gql.services.permissions import require_owner

Row = TypeVar("Row", bound=m.Entity)


def fetch(session: Session, viewer: Viewer, model: type[Row], id: UUID) -> Row:
    """The row ``id`` if the viewer may see it; NotFound otherwise (no existence leak)."""
    row = session.exec(select(model).where(col(model.id) == id, visible(model, viewer))).first()
    if row is None:
        raise NotFound(model.__name__, id)
    return row


def fetch_owned(session: Session, viewer: Viewer, model: type[Row], id: UUID) -> Row:
    """The row ``id`` if the viewer may change it: visible, and authored by them (or admin)."""
    row = fetch(session, viewer, model, id)
    require_owner(row.author_id, viewer)  # type: ignore[attr-defined]
    return row


def fetch_many(
    session: Session, viewer: Viewer, model: type[Row], ids: Iterable[UUID], *, field: str
) -> list[Row]:
    """Visible rows for ``ids``, in that order, duplicates removed; NotFound names the first
    missing one."""
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return []
    rows = session.exec(select(model).where(col(model.id).in_(wanted), visible(model, viewer)))
    found = {row.id: row for row in rows}  # type: ignore[attr-defined]
    for id in wanted:
        if id not in found:
            raise NotFound(model.__name__, id)
    return [found[id] for id in wanted]


def delete_owned(
    session: Session, viewer: Viewer, data_dir: Path, model: type[m.Shareable], id: UUID
) -> UUID:
    """A shareable row deleted by its author (or an admin), under the delete rules of db."""
    deletion.delete(session, fetch_owned(session, viewer, model, id), data_dir=data_dir)
    return id


def changes(data: Any, *, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """The fields of an input object the caller set (UNSET ones are left alone)."""
    skip = set(exclude)
    return {
        name: value for name, value in vars(data).items() if value is not UNSET and name not in skip
    }


def assign(row: Any, values: dict[str, Any]) -> None:
    """Set ``values`` on ``row``, refusing null for columns that cannot hold it."""
    columns = type(row).__table__.columns
    for name, value in values.items():
        field, length = to_camel_case(name), getattr(columns[name].type, "length", None)
        if value is None and not columns[name].nullable:
            raise InvalidInput(f"{field} cannot be null", field=field)
        if isinstance(value, str) and length is not None and len(value) > length:
            raise InvalidInput(f"{field} is longer than {length} characters", field=field)
        setattr(row, name, value)


def require_text(value: str, *, field: str) -> str:
    text = value.strip()
    if not text:
        raise InvalidInput(f"{field} cannot be empty", field=field)
    return text
