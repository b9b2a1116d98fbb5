"""Gates for tests that need PostgreSQL, Redis or Chromium.

On a fresh machine without them those tests skip with the reason; under
TIMESIDE_REQUIRE_SERVICES=1 (set by .ci/run) a missing service fails the run instead.
"""

from __future__ import annotations

import os
import shutil
import socket
from typing import NoReturn
from urllib.parse import urlparse

import pytest

REQUIRED = os.environ.get("TIMESIDE_REQUIRE_SERVICES") == "1"
POSTGRES_URL = os.environ.get(
    "TIMESIDE_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("TIMESIDE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
CHROMIUM = os.environ.get("TIMESIDE_TEST_CHROMIUM", "/usr/bin/chromium")


def _reachable(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection(
            (parsed.hostname or "127.0.0.1", parsed.port or default_port), 2
        ):
            return True
    except OSError:
        return False


def need(service: str, url: str, default_port: int) -> None:
    """Skip (or fail, when services are required) unless ``url`` accepts connections."""
    if not _reachable(url, default_port):
        unavailable(
            f"{service} is not reachable at {url}",
            "set TIMESIDE_TEST_* URLs or start it to run this test",
        )


def unavailable(reason: str, hint: str) -> NoReturn:
    """Skip with the reason and how to get it, or fail when services are required."""
    if REQUIRED:
        pytest.fail(f"{reason}, and TIMESIDE_REQUIRE_SERVICES=1 requires it")
    pytest.skip(f"{reason} ({hint})")


def need_postgres() -> str:
    need("PostgreSQL", POSTGRES_URL, 5432)
    return POSTGRES_URL


def need_redis() -> str:
    need("Redis", REDIS_URL, 6379)
    return REDIS_URL


def need_chromium() -> str:
    """Debian's Chromium for the browser tests (Playwright cannot download its own here)."""
    if not os.access(CHROMIUM, os.X_OK):
        unavailable(f"Chromium is not installed at {CHROMIUM}", "apt-get install chromium")
    return CHROMIUM


def need_npm() -> str:
    """Node.js and npm, for the TypeScript example (generated types, type check)."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        unavailable("node and npm are not on PATH", "install Node.js 20 or newer")
    return npm
