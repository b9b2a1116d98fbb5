"""The request context: settings, the session factory and the authenticated caller.

HTTP requests authenticate with ``Authorization: Bearer <token>``; WebSocket connections with
the ``connection_init`` payload (``{"authorization": "Bearer <token>"}`` or ``{"token": ...}``),
because browsers cannot set headers on a WebSocket.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from anyio import to_thread
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from timeside_gql.db import auth
from timeside_gql.db.visibility import ANONYMOUS, Viewer
from timeside_gql.settings import Settings


@dataclass
class Context:
    """``info.context``: one per HTTP request, one per WebSocket connection (shared by the
    operations it carries; per-operation state lives in api.scope)."""

    request: Request | WebSocket
    response: Response | WebSocket | None
    settings: Settings
    sessions: sessionmaker[Session]
    viewer: Viewer = ANONYMOUS
    token: str | None = field(default=None, repr=False)
    connection_params: dict[str, Any] | None = field(default=None, repr=False)


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


async def viewer_for_token(sessions: sessionmaker[Session], token: str | None) -> Viewer:
    """The caller a token stands for; raises InvalidToken for an unknown, expired or revoked one."""
    if token is None:
        return ANONYMOUS
    return await to_thread.run_sync(_verify, sessions, token)


def _verify(sessions: sessionmaker[Session], token: str) -> Viewer:
    with sessions() as session, session.begin():
        return Viewer.of(auth.verify_token(session, token))
