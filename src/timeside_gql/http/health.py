"""Probes and outage answers: ``/healthz`` (liveness), ``/readyz`` (readiness), and the 503 that
every route answers when the database, the broker or the disk fails (``jobs.outages``).

Liveness says the process serves requests (restart it if not); readiness says it can do its
work now: the database answers and, when configured, Redis does (send it no traffic if not).
Both are unauthenticated and say nothing beyond each dependency's state.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from anyio import to_thread
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from timeside_gql.http.auth import ServiceUnavailable, app_services
from timeside_gql.jobs import outages

log = logging.getLogger(__name__)

OUTAGE_CODE = "SERVICE_UNAVAILABLE"
#: Seconds a readiness check waits for each dependency.
CHECK_TIMEOUT_S = 2.0


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    settings, sessions = app_services(request)
    checks = {"database": await to_thread.run_sync(_check_database, sessions)}
    if settings.redis_url:
        checks["redis"] = await to_thread.run_sync(_check_redis, settings.redis_url)
    ready = all(state == "ok" for state in checks.values())
    body: dict[str, Any] = {"status": "ok" if ready else "unavailable", "checks": checks}
    headers = {} if ready else {"Retry-After": str(outages.RETRY_AFTER_S)}
    return JSONResponse(body, status_code=200 if ready else 503, headers=headers)


def _check_database(sessions: Any) -> str:
    try:
        with sessions() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:
        return f"error: {type(exc).__name__}"
    return "ok"


def _check_redis(url: str) -> str:
    client = redis.Redis.from_url(
        url, socket_timeout=CHECK_TIMEOUT_S, socket_connect_timeout=CHECK_TIMEOUT_S
    )
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"error: {type(exc).__name__}"
    finally:
        client.close()
    return "ok"


def outage_response(request: Request, exc: Exception) -> Response:
    """503 with Retry-After for an outage; anything else stays an internal error (logged)."""
    unavailable = exc if isinstance(exc, ServiceUnavailable) else ServiceUnavailable.of(exc)
    if unavailable is None:
        log.error("unexpected error on %s", request.url.path, exc_info=exc)
        return JSONResponse({"error": "internal error", "reason": "Internal"}, status_code=500)
    body = {
        "error": unavailable.detail,
        "reason": "ServiceUnavailable",
        "errors": [{"message": unavailable.detail, "extensions": {"code": OUTAGE_CODE}}],
    }
    return JSONResponse(body, status_code=503, headers=unavailable.headers)


def outage_handlers() -> dict[Any, Any]:
    """Starlette exception handlers: outages of the routes' dependencies answer 503."""
    from dramatiq.errors import BrokerConnectionError
    from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError

    kinds = (
        ServiceUnavailable,
        OperationalError,
        InterfaceError,
        DisconnectionError,
        redis.ConnectionError,
        redis.TimeoutError,
        BrokerConnectionError,
        OSError,
    )
    return dict.fromkeys(kinds, outage_response)


routes: list[BaseRoute] = [
    Route("/healthz", healthz, methods=["GET", "HEAD"]),
    Route("/readyz", readyz, methods=["GET", "HEAD"]),
]
