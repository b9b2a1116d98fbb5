"""``GET /healthz``: the process answers HTTP (what compose.yaml's healthcheck runs).

Minimal on purpose: it checks no dependency, so a slow database does not get the container
restarted; readiness (database, broker) is a separate concern.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def healthz(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


routes = [Route("/healthz", healthz, methods=["GET", "HEAD"])]
