"""How every mutation runs: one transaction, rows checked for visibility and ownership, expected
failures returned as members of the payload union.

A write function is synchronous, takes ``(session, viewer, ...)`` and runs in the operation's
worker thread; it raises :class:`ApiError` (or a ``db`` error) for anything the client can fix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Annotated, Any, TypeVar
from uuid import UUID

import strawberry
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select
from strawberry.utils.str_converters import to_camel_case

from timeside_gql.api.errors import (
    ApiError,
    BadCredentials,
    Conflict,
    ConflictError,
    CycleRefused,
    InvalidInput,
    NotFound,
    NotFoundError,
    PermissionDenied,
)
from timeside_gql.api.permissions import require_owner
from timeside_gql.api.scope import current_scope
from timeside_gql.api.types.base import as_type
from timeside_gql.db import deletion
from timeside_gql.db import errors as db_errors
from timeside_gql.db import models as m
from timeside_gql.db.visibility import Viewer, visible

Row = TypeVar("Row", bound=m.Entity)


@strawberry.type(description="The id of the object a mutation deleted.")
class Deleted:
    id: UUID


DeletePayload = Annotated[
    Deleted | NotFoundError | PermissionDenied | ConflictError, strawberry.union("DeletePayload")
]


async def mutate(
    write: Callable[..., Any], *args: Any, convert: Callable[[Any], Any] = as_type
) -> Any:
    """Run ``write(session, viewer, *args)`` as one transaction and convert what it returns."""
    scope = current_scope()
    try:
        outcome = await scope.write(write, scope.viewer, *args)
    except ApiError as error:
        return error.to_graphql()
    except db_errors.DataError as error:
        return from_data_error(error).to_graphql()
    except IntegrityError:
        return Conflict("the change conflicts with existing data").to_graphql()
    return convert(outcome)


def deleted(id: UUID) -> Deleted:
    return Deleted(id=id)


async def remove(write: Callable[..., UUID], *args: Any) -> Any:
    """Run a delete ``write(session, viewer, *args, data_dir)``: files go after the commit."""
    return await mutate(write, *args, current_scope().settings.data_dir, convert=deleted)


def delete_owned(
    session: Session, viewer: Viewer, model: type[m.Shareable], id: UUID, data_dir: Path
) -> UUID:
    """A shareable row deleted by its author (or an admin), under the delete rules of db."""
    deletion.delete(session, fetch_owned(session, viewer, model, id), data_dir=data_dir)
    return id


def from_data_error(error: db_errors.DataError) -> ApiError:
    message = str(error)
    match error:
        case db_errors.SelectionCycleError():
            return CycleRefused(message)
        case db_errors.DuplicatePresetError():
            return InvalidInput(message, field="presetIds")
        case db_errors.InvalidCredentials():
            return BadCredentials(message)
        case db_errors.DeleteRefusedError() | db_errors.UserExists():
            return Conflict(message)
        case _:
            return InvalidInput(message)


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


def changes(data: Any, *, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """The fields of an input object the client set (UNSET ones are left alone)."""
    skip = set(exclude)
    return {
        name: value
        for name, value in vars(data).items()
        if value is not strawberry.UNSET and name not in skip
    }


def assign(row: Any, values: dict[str, Any]) -> None:
    """Set ``values`` on ``row``, refusing null for columns that cannot hold it."""
    columns = type(row).__table__.columns
    for name, value in values.items():
        if value is None and not columns[name].nullable:
            raise InvalidInput(f"{to_camel_case(name)} cannot be null", field=to_camel_case(name))
        setattr(row, name, value)


def require_text(value: str, *, field: str) -> str:
    text = value.strip()
    if not text:
        raise InvalidInput(f"{field} cannot be empty", field=field)
    return text
