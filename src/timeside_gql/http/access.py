"""Whether the caller of a route may see what it asks for.

The errors are Starlette ``HTTPException``s, so every route raising them answers 401, 403 or
404 without a handler of its own. Visibility is the services' rule (``services.rows.fetch`` on
``db.visibility``), the one the GraphQL API applies: an object the viewer may not see answers
404, as if it did not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TypeVar

from anyio import to_thread
from sqlmodel import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request

from timeside_gql.db import models as m
from timeside_gql.db.visibility import Viewer
from timeside_gql.http.auth import app_services, authenticate
from timeside_gql.services.errors import NotFound
from timeside_gql.services.rows import fetch

T = TypeVar("T")
Row = TypeVar("Row", bound=m.Entity)


class NotVisible(HTTPException):
    """404: absent, or present but not visible to the viewer (the two are not told apart)."""

    def __init__(self, kind: str, object_id: object) -> None:
        super().__init__(404, f"no {kind} {object_id}")


async def read_visible(request: Request, load: Callable[[Session, Viewer], T]) -> T:
    """Authenticate the request (token or signature), then run ``load`` in a worker thread."""
    settings, sessions = app_services(request)
    caller = await authenticate(request, require_login=settings.require_login, signed=True)

    def run() -> T:
        with sessions() as session:
            return load(session, caller.viewer)

    return await to_thread.run_sync(run)


def get_visible(
    session: Session, model: type[Row], object_id: str | uuid.UUID, viewer: Viewer
) -> Row:
    """The row of ``model`` with this id if ``viewer`` may read it; NotVisible (404) otherwise."""
    kind = getattr(model, "__tablename__", model.__name__).rstrip("s")
    try:
        key = object_id if isinstance(object_id, uuid.UUID) else uuid.UUID(object_id)
        return fetch(session, viewer, model, key)
    except (ValueError, NotFound):
        raise NotVisible(kind, object_id) from None
