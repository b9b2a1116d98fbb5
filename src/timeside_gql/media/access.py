"""Who asks a media route, and whether they may see what they ask for.

The errors are Starlette ``HTTPException``s, so every route raising them answers 401, 403 or
404 without a handler of its own. Visibility reuses ``api.permissions.visible``: the GraphQL API
and the media routes apply the same SQL rule. An object the viewer may not see answers 404, as
if it did not exist.
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

import sqlalchemy as sa
from anyio import to_thread
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, col
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection

from timeside_gql.api.context import bearer_token, viewer_for_token
from timeside_gql.db import models as m
from timeside_gql.db.errors import InvalidToken
from timeside_gql.db.visibility import ANONYMOUS, Viewer, visible
from timeside_gql.media.signing import SIGNATURE_PARAM, InvalidSignature, verify
from timeside_gql.settings import Settings

T = TypeVar("T")


class Unauthenticated(HTTPException):
    """401: a bad, expired or revoked bearer token, or no credentials where login is required."""

    def __init__(self, detail: str = "authentication required") -> None:
        super().__init__(401, detail, headers={"WWW-Authenticate": "Bearer"})


class SignatureRefused(HTTPException):
    """403: a signature that is forged, expired, for another path or for a deleted user."""

    def __init__(self, detail: str) -> None:
        super().__init__(403, detail)


class NotVisible(HTTPException):
    """404: absent, or present but not visible to the viewer (the two are not told apart)."""

    def __init__(self, kind: str, object_id: object) -> None:
        super().__init__(404, f"no {kind} {object_id}")


def app_services(conn: HTTPConnection) -> tuple[Settings, sessionmaker[Session]]:
    """The settings and session factory ``create_app`` keeps on ``app.state``."""
    state = conn.app.state
    return state.settings, state.sessions


def route_path(conn: HTTPConnection) -> str:
    """The path a signature covers: the request path inside the application (no root_path)."""
    path: str = conn.scope["path"]
    root = conn.scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


async def viewer_for_request(
    request: HTTPConnection, settings: Settings, sessions: sessionmaker[Session]
) -> Viewer:
    """The viewer of a media request: a bearer token if sent, else a ``sig`` parameter.

    Raises Unauthenticated (401) for a bad token, SignatureRefused (403) for a bad signature.
    """
    token = bearer_token(request.headers.get("authorization"))
    signature = request.query_params.get(SIGNATURE_PARAM)
    if token is not None:
        try:
            viewer = await viewer_for_token(sessions, token)
        except InvalidToken as exc:
            raise Unauthenticated(str(exc)) from exc
    elif signature is not None:
        viewer = await to_thread.run_sync(_signed_viewer, settings, sessions, request, signature)
    else:
        viewer = ANONYMOUS
    if viewer.is_anonymous and settings.require_login:
        raise Unauthenticated()
    return viewer


def _signed_viewer(
    settings: Settings, sessions: sessionmaker[Session], request: HTTPConnection, signature: str
) -> Viewer:
    try:
        signed = verify(settings, route_path(request), signature)
    except InvalidSignature as exc:
        raise SignatureRefused(str(exc)) from exc
    if signed.user_id is None:
        return ANONYMOUS
    with sessions() as session:
        user = session.get(m.User, signed.user_id)
    if user is None:
        raise SignatureRefused("signature of a deleted user")
    return Viewer.of(user)  # admin rights as they are now, not as when signed


def get_visible(session: Session, model: type[T], object_id: str | uuid.UUID, viewer: Viewer) -> T:
    """The row of ``model`` with this id if ``viewer`` may read it; NotVisible (404) otherwise."""
    kind = getattr(model, "__tablename__", model.__name__).rstrip("s")
    try:
        key = object_id if isinstance(object_id, uuid.UUID) else uuid.UUID(object_id)
    except ValueError:
        raise NotVisible(kind, object_id) from None
    id_column: Any = col(model.id)  # type: ignore[attr-defined]
    row = session.scalars(
        sa.select(model).where(id_column == key, visible(model, viewer))
    ).one_or_none()
    if row is None:
        raise NotVisible(kind, object_id)
    return row
