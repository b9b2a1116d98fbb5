"""The request context: settings, the session factory and the authenticated caller.

HTTP requests authenticate with ``Authorization: Bearer <token>``; WebSocket connections with
the ``connection_init`` payload (``{"authorization": "Bearer <token>"}`` or ``{"token": ...}``),
because browsers cannot set headers on a WebSocket.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import sessionmaker
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from timeside_gql.db.visibility import ANONYMOUS, Viewer
from timeside_gql.services.throttle import Counter, MemoryCounter
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
    #: Failed logins of the application (services/throttle.py).
    logins: Counter = field(default_factory=MemoryCounter, repr=False)
