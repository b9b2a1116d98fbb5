"""Routes of the browser pages: the player at ``/``, their assets under ``/static``; the
playground is rendered by the GraphQL view itself (``GET /graphql`` from a browser)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"

#: Everything the pages load comes from this server: a request elsewhere is a bug, and the
#: browser refuses it (`data:` holds Monaco's icon font, `blob:` decoded audio and images).
CSP = "; ".join(
    (
        "default-src 'self'",
        "connect-src 'self'",
        "img-src 'self' data: blob:",
        "media-src 'self' blob:",
        "font-src 'self' data:",
        "style-src 'self' 'unsafe-inline'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    )
)


@cache
def _html(name: str) -> str:
    return (STATIC / name).read_text(encoding="utf-8")


def page(name: str) -> HTMLResponse:
    """A built page with the policy that keeps it on this server."""
    return HTMLResponse(_html(name), headers={"Content-Security-Policy": CSP})


def playground() -> HTMLResponse:
    return page("graphiql.html")


async def player(_: Request) -> HTMLResponse:
    return page("index.html")


routes: list[BaseRoute] = [
    Route("/", player, methods=["GET"]),
    # Monaco and its workers are 6 MB as files, 1.7 MB compressed.
    Mount("/static", GZipMiddleware(StaticFiles(directory=STATIC)), name="static"),
]
