"""Who is calling: the one place that turns credentials into a viewer.

Every entrance authenticates here: GraphQL over HTTP (``Authorization: Bearer``) and over
WebSocket (the ``connection_init`` payload, since browsers cannot set headers on a
WebSocket), the media and export routes (a bearer token or a signed URL) and the upload routes.
Each entrance only maps :class:`Unauthenticated` (401) and :class:`SignatureRefused` (403) to its
own wire format.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from anyio import to_thread
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection

from timeside_gql.api.scope import database_slot
from timeside_gql.db import auth
from timeside_gql.db import models as m
from timeside_gql.db.errors import InvalidToken
from timeside_gql.db.visibility import ANONYMOUS, Viewer
from timeside_gql.jobs import outages
from timeside_gql.services.signing import SIGNATURE_PARAM, InvalidSignature, verify
from timeside_gql.settings import Settings


class Unauthenticated(HTTPException):
    """401: a bad, expired or revoked bearer token, or no credentials where login is required."""

    def __init__(self, detail: str = "authentication required") -> None:
        super().__init__(401, detail, headers={"WWW-Authenticate": "Bearer"})


class ServiceUnavailable(HTTPException):
    """503: the database, the broker or the disk failed; worth trying again later."""

    def __init__(self, detail: str) -> None:
        super().__init__(503, detail, headers={"Retry-After": str(outages.RETRY_AFTER_S)})

    @classmethod
    def of(cls, exc: BaseException) -> ServiceUnavailable | None:
        what = outages.outage(exc)
        return cls(outages.message(what)) if what else None


class SignatureRefused(HTTPException):
    """403: a signature that is forged, expired, for another path or for a deleted user."""

    def __init__(self, detail: str) -> None:
        super().__init__(403, detail)


@dataclass(frozen=True)
class Caller:
    """The authenticated viewer, and the token it came with (logout and password changes
    act on the token of the request)."""

    viewer: Viewer
    token: str | None = field(default=None, repr=False)


def app_services(conn: HTTPConnection) -> tuple[Settings, sessionmaker[Session]]:
    """The settings and session factory ``create_app`` keeps on ``app.state``."""
    state = conn.app.state
    return state.settings, state.sessions


async def authenticate(
    conn: HTTPConnection,
    *,
    require_login: bool,
    params: Mapping[str, Any] | None = None,
    signed: bool = False,
) -> Caller:
    """The caller of ``conn``: its bearer token (from ``params`` on a WebSocket), else, where
    ``signed``, a ``sig`` query parameter, else anonymous unless ``require_login``.

    Raises Unauthenticated (401) for a bad token or a missing login, SignatureRefused (403)
    for a bad signature, ServiceUnavailable (503) when the database cannot say.
    """
    settings, sessions = app_services(conn)
    header = conn.headers.get("authorization")
    token = token_from_params(params) if params is not None else bearer_token(header)
    signature = conn.query_params.get(SIGNATURE_PARAM) if signed else None
    try:
        if token is not None:
            async with database_slot(sessions):
                viewer = await to_thread.run_sync(_token_viewer, sessions, token)
        elif signature is not None:
            viewer = await to_thread.run_sync(_signed_viewer, settings, sessions, conn, signature)
        else:
            viewer = ANONYMOUS
    except Exception as exc:
        if unavailable := ServiceUnavailable.of(exc):
            raise unavailable from exc
        raise
    if viewer.is_anonymous and require_login:
        raise Unauthenticated()
    return Caller(viewer, token)


def bearer_token(value: str | None) -> str | None:
    """The token of an ``Authorization`` value (``Bearer`` scheme, or the bare token)."""
    if not value:
        return None
    scheme, _, token = value.strip().partition(" ")
    if not token:
        return scheme
    return token.strip() if scheme.lower() == "bearer" else None


def token_from_params(params: Mapping[str, Any] | None) -> str | None:
    """The token of a WebSocket ``connection_init`` payload."""
    if not params:
        return None
    value = params.get("authorization") or params.get("Authorization") or params.get("token")
    return bearer_token(value) if isinstance(value, str) else None


def route_path(conn: HTTPConnection) -> str:
    """The path a signature covers: the request path inside the application (no root_path)."""
    path: str = conn.scope["path"]
    root = conn.scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path


def _token_viewer(sessions: sessionmaker[Session], token: str) -> Viewer:
    try:
        with sessions() as session, session.begin():
            return Viewer.of(auth.verify_token(session, token))
    except InvalidToken as exc:
        raise Unauthenticated(str(exc)) from exc


def _signed_viewer(
    settings: Settings, sessions: sessionmaker[Session], conn: HTTPConnection, signature: str
) -> Viewer:
    try:
        signed = verify(settings, route_path(conn), signature)
    except InvalidSignature as exc:
        raise SignatureRefused(str(exc)) from exc
    if signed.user_id is None:
        return ANONYMOUS
    with sessions() as session:
        user = session.get(m.User, signed.user_id)
    if user is None:
        raise SignatureRefused("signature of a deleted user")
    return Viewer.of(user)  # admin rights as they are now, not as when signed
