"""``serve`` (uvicorn) and ``export-schema`` (the SDL clients generate code from)."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

# The API and uvicorn are imported inside the commands: every ``timeside-gql`` invocation imports
# this module to register its parsers, and ``migrate`` should not pay for Strawberry.


def register(subparsers: Any) -> None:
    serve = subparsers.add_parser("serve", help="serve the GraphQL API (HTTP and WebSocket)")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to bind (default 8000)")
    serve.add_argument("--reload", action="store_true", help="restart when the code changes")
    serve.set_defaults(func=run_serve)

    export = subparsers.add_parser("export-schema", help="print the GraphQL SDL")
    export.add_argument("--output", "-o", help="write to this file instead of stdout")
    export.set_defaults(func=run_export_schema)


def run_serve(args: argparse.Namespace) -> int:
    import uvicorn

    uvicorn.run(
        "timeside_gql.http.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        reload=args.reload,
        proxy_headers=True,
    )
    return 0


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
