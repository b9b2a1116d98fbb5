"""Streaming uploads over plain HTTP, for files too large for a GraphQL multipart request.

``POST /media/items`` creates an item from the request body; ``PUT /media/items/{id}/source``
replaces an item's audio (author or administrator). The body is the raw audio (any
Content-Type), streamed to disk chunk by chunk: never whole in memory. Authentication is the API
token (``Authorization: Bearer``). Answers are JSON: the item's fields, or ``{"error",
"reason"}`` with 400, 401, 403, 404, 413 (too large) or 415 (not audio).

``multipart_refusal`` guards GraphQL multipart requests the same way before their body is read.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from functools import partial
from typing import Any

from anyio import to_thread
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from timeside_gql.db import models as m
from timeside_gql.db.visibility import Viewer
from timeside_gql.http.auth import Unauthenticated, app_services, authenticate
from timeside_gql.services import items
from timeside_gql.services.errors import Forbidden, InvalidInput, NotFound, ServiceError
from timeside_gql.services.inputs import ItemFields
from timeside_gql.settings import Settings
from timeside_gql.storage import intake
from timeside_gql.storage.errors import MediaError, NotAudio, TooLarge
from timeside_gql.storage.files import upload_limit

STATUS = {NotAudio: 415, TooLarge: 413}
API_STATUS = {NotFound: 404, Forbidden: 403, InvalidInput: 400}
TEXT_FIELDS = ("title", "artist", "album", "description")


def multipart_refusal(request: Request, settings: Settings) -> tuple[int, str] | None:
    """Why a GraphQL multipart request is refused before its body is read, or None.

    Browsers send cross-site multipart forms without a preflight (CSRF), but never with an
    ``Authorization`` header, which every upload needs anyway.
    """
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return None
    if not request.headers.get("authorization"):
        return 401, "multipart requests need an Authorization header"
    if _declared_size(request) > multipart_limit(settings):
        return 413, too_large(settings)
    return None


def multipart_limit(settings: Settings) -> int:
    """Largest multipart body: the upload limit plus 1 MiB for the form's other fields."""
    return upload_limit(settings) + (1 << 20)


def too_large(settings: Settings) -> str:
    return f"larger than the upload limit of {settings.max_upload_mb} MiB"


def _declared_size(request: Request) -> int:
    try:
        return int(request.headers.get("content-length", "0"))
    except ValueError:
        return 0


def _error(status: int, message: str, reason: str) -> JSONResponse:
    return JSONResponse({"error": message, "reason": reason}, status_code=status)


def _item_json(item: m.Item) -> dict[str, Any]:
    fields = ("title", "artist", "album", "sha1", "mime_type", "audio_duration", "samplerate")
    body: dict[str, Any] = {"id": str(item.id), "channels": item.channels}
    body |= {name: getattr(item, name) for name in fields}
    body["ingest_status"] = item.ingest_status.value
    return body


def _write(
    sessions: sessionmaker[Session], write: Callable[..., Any], viewer: Viewer, *args: Any
) -> Any:
    """``write(session, viewer, *args)`` as one transaction (hooks run after its commit)."""
    with sessions() as session, session.begin():
        return write(session, viewer, *args)


async def _receive(
    request: Request, check: Callable[..., None], write: Any, *args: Any, created: bool
) -> JSONResponse:
    """Authenticate, ``check`` the rights before reading the body, stream it in, then run
    ``write``; a refused write leaves no file behind."""
    settings, sessions = app_services(request)
    try:
        viewer = (await authenticate(request, require_login=True)).viewer
    except Unauthenticated as exc:
        return _error(401, exc.detail, "Unauthenticated")
    if _declared_size(request) > upload_limit(settings):
        return _error(413, too_large(settings), "TooLarge")
    name = request.query_params.get("filename") or ""
    try:
        await to_thread.run_sync(_write, sessions, check, viewer)
        stored = await intake.store_chunks(settings, request.stream(), name=name)
        with intake.removed_on_failure(settings, stored, sessions):
            work = partial(_write, sessions, write, viewer, *args, stored, settings)
            item = await to_thread.run_sync(work)
    except MediaError as exc:
        return _error(STATUS.get(type(exc), 400), str(exc), type(exc).__name__)
    except ServiceError as exc:
        return _error(API_STATUS.get(type(exc), 400), exc.message, type(exc).__name__)
    return JSONResponse(_item_json(item), status_code=201 if created else 200)


async def create(request: Request) -> JSONResponse:
    """POST /media/items?title=&artist=&album=&description=&is_public=&filename="""
    params = request.query_params
    fields: dict[str, Any] = {name: params[name] for name in TEXT_FIELDS if name in params}
    if "is_public" in params:
        fields["is_public"] = params["is_public"].lower() in {"1", "true", "yes"}
    data = ItemFields(**fields)
    check, write = items.may_create, items.create_item_with_file
    return await _receive(request, check, write, data, created=True)


async def replace(request: Request) -> JSONResponse:
    """PUT /media/items/{id}/source?filename="""
    try:
        item_id = uuid.UUID(request.path_params["id"])
    except ValueError:
        return _error(404, "no such item", "NotFound")
    check = partial(items.may_replace_source, id=item_id)
    return await _receive(request, check, items.replace_item_source, item_id, created=False)


routes: list[BaseRoute] = [
    Route("/media/items", create, methods=["POST"]),
    Route("/media/items/{id}/source", replace, methods=["PUT", "POST"]),
]
