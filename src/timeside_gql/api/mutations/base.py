"""How every mutation runs: a service function as one transaction, its expected failures
returned as members of the payload union.

A service takes ``(session, viewer, ...)`` and runs in the operation's worker thread; it raises
``services.errors.ServiceError`` (or a ``db`` error) for anything the client can fix.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Concatenate, ParamSpec, TypeVar
from uuid import UUID

import strawberry
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from timeside_gql.api.errors import ConflictError, NotFoundError, PermissionDenied, to_graphql
from timeside_gql.api.scope import current_scope
from timeside_gql.api.types.base import as_type
from timeside_gql.db import errors as db_errors
from timeside_gql.db.visibility import Viewer
from timeside_gql.services.errors import Conflict, ServiceError, from_data_error

P = ParamSpec("P")
T = TypeVar("T")


@strawberry.type(description="The id of the object a mutation deleted.")
class Deleted:
    id: UUID


DeletePayload = Annotated[
    Deleted | NotFoundError | PermissionDenied | ConflictError, strawberry.union("DeletePayload")
]


async def mutate(
    write: Callable[Concatenate[Session, Viewer, P], object], /, *args: P.args, **kwargs: P.kwargs
) -> Any:
    """Run ``write(session, viewer, ...)`` as one transaction; its row as a GraphQL type."""
    return await converted(as_type, write, *args, **kwargs)


async def remove(
    write: Callable[Concatenate[Session, Viewer, Path, P], UUID],
    /,
    *args: P.args,
    **kwargs: P.kwargs,
) -> Any:
    """Run a delete ``write(session, viewer, data_dir, ...)``: files go after the commit."""
    data_dir = current_scope().settings.data_dir
    return await converted(deleted, write, data_dir, *args, **kwargs)


async def converted(
    convert: Callable[[T], Any],
    write: Callable[Concatenate[Session, Viewer, P], T],
    /,
    *args: P.args,
    **kwargs: P.kwargs,
) -> Any:
    """Run ``write`` as one transaction and ``convert`` what it returns (a failure: its
    payload member)."""
    scope = current_scope()
    try:
        outcome = await scope.write(write, scope.viewer, *args, **kwargs)
    except ServiceError as error:
        return to_graphql(error)
    except db_errors.DataError as error:
        return to_graphql(from_data_error(error))
    except IntegrityError:
        return to_graphql(Conflict("the change conflicts with existing data"))
    return convert(outcome)


def deleted(id: UUID) -> Deleted:
    return Deleted(id=id)
