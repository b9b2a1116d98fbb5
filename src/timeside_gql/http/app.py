"""The Starlette application: ``/graphql`` over HTTP and WebSocket (graphql-transport-ws)."""

from __future__ import annotations

import gc
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractContextManager, asynccontextmanager, nullcontext
from typing import Any, cast

import anyio
import orjson
from anyio import to_thread
from cross_web import HTTPException
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse
from strawberry.subscriptions import GRAPHQL_SSE_PROTOCOL, GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from timeside_gql.api import limits
from timeside_gql.api.context import Context
from timeside_gql.api.schema import build_schema
from timeside_gql.db.engine import session_scope, settings_engine
from timeside_gql.db.providers import sync_providers
from timeside_gql.http.auth import ServiceUnavailable, Unauthenticated, authenticate
from timeside_gql.http.exports import routes as export_routes
from timeside_gql.http.health import OUTAGE_CODE, outage_handlers
from timeside_gql.http.health import routes as health_routes
from timeside_gql.http.media import routes as media_routes
from timeside_gql.http.uploads import multipart_limit, multipart_refusal, too_large
from timeside_gql.http.uploads import routes as upload_routes
from timeside_gql.jobs import outages
from timeside_gql.jobs.runtime import job_runtime
from timeside_gql.services import throttle
from timeside_gql.settings import Settings, get_settings
from timeside_gql.storage.providers import all_providers
from timeside_gql.web import routes as web

#: Largest JSON body of /graphql: a document and its variables (files come as multipart).
MAX_JSON_BODY = 16 << 20


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI view with our context and WebSocket authentication."""

    def __init__(self, settings: Settings, sessions: sessionmaker[Session]) -> None:
        super().__init__(
            build_schema(settings),
            graphql_ide="graphiql" if settings.playground else None,
            allow_queries_via_get=False,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL, GRAPHQL_SSE_PROTOCOL),
            multipart_uploads_enabled=True,  # `Upload`; CSRF: see multipart_refusal
        )
        self.settings = settings
        self.sessions = sessions
        self.logins = throttle.counter(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Strawberry's HTTP handling, with refusals in a GraphQL body (it answers plain text)."""
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)
        receive = _limited_body(receive, *_body_limit(scope, self.settings))
        request = Request(scope=scope, receive=receive)
        try:
            with _deadline(request, self.settings.request_timeout_s):
                response = await self.run(request)
        except HTTPException as refusal:
            response = refusal_response(refusal)
        except TimeoutError:
            response = timeout_response(self.settings.request_timeout_s)
        await response(scope, receive, send)

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """An answer carrying many series points or waveform pixels is encoded in a worker
        thread: JSON of 200,000 points and their times took the event loop 0.8 s here."""
        data = await super().process_result(request, result)
        if getattr(request.state, "points", 0) < ENCODE_IN_THREAD_POINTS:
            return data
        text = await to_thread.run_sync(encode_json, data)
        return cast(GraphQLHTTPResponse, _Encoded(data, text=text))

    def encode_json(self, data: object) -> str | bytes:
        return data.text if isinstance(data, _Encoded) else encode_json(data)

    def decode_json(self, data: str | bytes) -> object:
        """Every JSON of /graphql (body, multipart fields, WebSocket messages): api/limits.py."""
        return limits.loads(data, max_nesting=self.settings.max_nesting)

    def parse_json(self, data: str | bytes) -> Any:
        """Strawberry's, saying why a body is refused (it says "Unable to parse")."""
        try:
            return self.decode_json(data)
        except limits.JSONRefused as refusal:
            raise HTTPException(400, str(refusal)) from refusal
        except ValueError as error:
            raise HTTPException(400, "Unable to parse request body as JSON") from error

    async def render_graphql_ide(self, request: Request) -> Response:
        """Our self-hosted GraphiQL: Strawberry's loads its scripts from a CDN."""
        return web.playground()

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket | None
    ) -> Context:
        context = Context(
            request=request,
            response=response,
            settings=self.settings,
            sessions=self.sessions,
            logins=self.logins,
        )
        if isinstance(request, Request):
            if refusal := multipart_refusal(request, self.settings):
                raise HTTPException(*refusal)
            try:
                caller = await authenticate(request, require_login=False)
            except (Unauthenticated, ServiceUnavailable) as exc:
                raise HTTPException(exc.status_code, exc.detail) from exc
            context.viewer, context.token = caller.viewer, caller.token
        return context

    async def on_ws_connect(self, context: Context) -> UnsetType:
        """Authenticate from the ``connection_init`` payload; acknowledge without a payload."""
        try:
            caller = await authenticate(
                context.request,
                require_login=self.settings.require_login,
                params=context.connection_params or {},
            )
        except Unauthenticated as exc:
            raise ConnectionRejectionError({"reason": exc.detail}) from exc
        except ServiceUnavailable as exc:
            raise ConnectionRejectionError({"reason": exc.detail, "code": OUTAGE_CODE}) from exc
        context.viewer, context.token = caller.viewer, caller.token
        return UNSET


#: What orjson takes besides plain JSON: numpy scalars and arrays, keys that are not strings.
ORJSON_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS


def encode_json(data: object) -> str:
    """An answer as compact JSON text (text: WebSocket messages are text frames).

    orjson encodes the answer of a nested read of 50 items x 10 results (170 KB) in a tenth
    of the time of ``json`` (3.4 ms here); what it refuses (integers past 64 bits) goes to
    ``json``.
    """
    try:
        return orjson.dumps(data, option=ORJSON_OPTIONS).decode()
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(data, separators=(",", ":"))


#: Series points and waveform pixels from which an answer is encoded in a worker thread.
ENCODE_IN_THREAD_POINTS = 10_000


class _Encoded(dict[str, Any]):
    """A response already encoded (the dict stays for Strawberry's error handling)."""

    def __init__(self, data: Mapping[str, Any], *, text: str | bytes) -> None:
        super().__init__(data)
        self.text = text


#: ``extensions.code`` of each HTTP-level refusal, named as in the query-level errors.
REFUSAL_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHENTICATED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "PAYLOAD_TOO_LARGE",
    503: OUTAGE_CODE,
}


def refusal_response(refusal: HTTPException) -> JSONResponse:
    """A refusal before execution as a GraphQL response: clients read ``errors`` either way."""
    code = REFUSAL_CODES.get(refusal.status_code, "BAD_REQUEST")
    body = {"errors": [{"message": refusal.reason, "extensions": {"code": code}}]}
    headers = (
        {"WWW-Authenticate": 'Bearer error="invalid_token"'} if code == "UNAUTHENTICATED" else {}
    )
    if code == OUTAGE_CODE:
        headers["Retry-After"] = str(outages.RETRY_AFTER_S)
    return JSONResponse(body, status_code=refusal.status_code, headers=headers)


def timeout_response(seconds: float) -> JSONResponse:
    """An operation cut at its deadline: the event loop and the database go to the others."""
    message = f"the operation took longer than {seconds:g} s: ask for less per request"
    body = {"errors": [{"message": message, "extensions": {"code": "TIMEOUT"}}]}
    return JSONResponse(body, status_code=503)


def _deadline(request: Request, seconds: float) -> AbstractContextManager[Any]:
    """A bound on a JSON operation's time (reading, executing, answering); a multipart one
    streams files, whose time grows with their size, and is bounded by the upload limit."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        return nullcontext()
    return anyio.fail_after(seconds)


def _body_limit(scope: Scope, settings: Settings) -> tuple[int, str]:
    """The largest body of a /graphql request, and the message refusing a larger one."""
    if Request(scope).headers.get("content-type", "").startswith("multipart/form-data"):
        return multipart_limit(settings), too_large(settings)
    return MAX_JSON_BODY, f"larger than {MAX_JSON_BODY >> 20} MiB: send files as uploads"


def _limited_body(receive: Receive, limit: int, refusal: str) -> Receive:
    """``receive`` answering 413 once the body passes ``limit``, as it streams in.

    Strawberry reads a JSON body whole into memory, and Starlette spools multipart file parts
    to disk whatever their size; a chunked request declares no Content-Length to check first.
    """
    received = 0

    async def counted() -> Message:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise HTTPException(413, refusal)
        return message

    return counted


def served_app() -> Starlette:
    """The application of a ``serve`` process (uvicorn's factory): a process that lives long."""
    return create_app(long_lived=True)


#: The collector's thresholds in a serving process (Python's: 700, 10, 10).
SERVING_GC_THRESHOLDS = (50_000, 10, 10)


def settle_heap() -> None:
    """Keep the collector off what startup made and off each request's garbage.

    Startup (modules, the schema, the analysis libraries) leaves hundreds of thousands of
    objects that live as long as the process: frozen, full collections no longer walk them
    (they did every few requests, ~200 ms each). A nested read allocates some 100,000 objects
    that die with the request: collected every 700 allocations, many survived into the older
    generations first. Together: 86 to 56 ms of CPU per nested read of 50 items here.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*SERVING_GC_THRESHOLDS)


def create_app(
    settings: Settings | None = None, *, engine: Engine | None = None, long_lived: bool = False
) -> Starlette:
    """The application; it disposes of the engine at shutdown only when it created it.
    ``long_lived``: a serving process (:func:`settle_heap` once started)."""
    settings = settings or get_settings()
    owned = engine is None
    engine = engine or settings_engine(settings)
    sessions = sessionmaker(engine, class_=Session, expire_on_commit=False)
    graphql = GraphQLApp(settings, sessions)

    @asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        with session_scope(engine) as session:
            sync_providers(session, all_providers())
        async with job_runtime(settings, engine):
            if long_lived:
                settle_heap()
            yield
        if owned:
            engine.dispose()

    middleware: list[Any] = []
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_methods=["GET", "POST", "PUT"],
                allow_headers=["Authorization", "Content-Type"],
            )
        )
    app = Starlette(
        debug=settings.debug,
        routes=[
            Route("/graphql", graphql),
            WebSocketRoute("/graphql", graphql),
            *media_routes,
            *health_routes,
        ],
        middleware=middleware,
        exception_handlers=outage_handlers(),
        lifespan=lifespan,
    )
    if settings.playground:  # web/routes.py: the player at /, the pages' assets
        app.router.routes.extend(web.routes)
    app.router.routes.extend(upload_routes)  # http/uploads.py: streaming uploads
    app.router.routes.extend(export_routes)  # http/exports.py: annotation/result files
    app.state.settings, app.state.sessions = settings, sessions  # for http.auth.app_services
    return app
