"""``serve`` (uvicorn) and ``export-schema`` (the SDL clients generate code from)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from timeside_gql.settings import Settings

# The API and uvicorn are imported inside the commands: every ``timeside-gql`` invocation imports
# this module to register its parsers, and ``migrate`` should not pay for Strawberry.


def register(subparsers: Any) -> None:
    serve = subparsers.add_parser("serve", help="serve the GraphQL API (HTTP and WebSocket)")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    serve.add_argument("--reload", action="store_true", help="restart when the code changes")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        help="server processes sharing the port (default 1); more than one needs PostgreSQL "
        "and Redis",
    )
    serve.set_defaults(func=run_serve)

    export = subparsers.add_parser("export-schema", help="print the GraphQL SDL")
    export.add_argument("--output", "-o", help="write to this file instead of stdout")
    export.set_defaults(func=run_export_schema)


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from timeside_gql.settings import get_settings

    if refusal := workers_refusal(args.workers, get_settings()):
        print(f"timeside-gql serve: {refusal}", file=sys.stderr)
        return 2
    uvicorn.run(
        "timeside_gql.http.app:served_app",
        factory=True,
        host=args.host,
        port=args.port,
        reload=args.reload,
        workers=args.workers,
        proxy_headers=True,
    )
    return 0


def workers_refusal(workers: int, settings: Settings) -> str | None:
    """Why ``workers`` server processes cannot serve this deployment, if they cannot.

    Without Redis each process runs its own embedded worker and event bus, so a subscription
    on one would never hear of a job run by another; SQLite is one writer per file.
    """
    if workers < 1:
        return "--workers must be at least 1"
    if workers == 1:
        return None
    missing = []
    if not settings.redis_url:
        missing.append("TIMESIDE_REDIS_URL (the processes share jobs and events through it)")
    if settings.db_url.startswith("sqlite"):
        missing.append("a PostgreSQL TIMESIDE_DATABASE_URL")
    if missing:
        return f"--workers {workers} needs " + " and ".join(missing) + "; or serve one process"
    return None


def run_export_schema(args: argparse.Namespace) -> int:
    from timeside_gql.api.schema import sdl

    text = sdl()
    if args.output:
        write_atomically(Path(args.output), text)
    else:
        sys.stdout.write(text)
    return 0


def write_atomically(path: Path, text: str) -> None:
    """Readers see the old file or the new one, never half of it."""
    fd, temp = tempfile.mkstemp(dir=path.parent or ".", prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise
