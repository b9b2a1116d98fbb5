"""Gates for tests that need PostgreSQL or Redis.

On a fresh machine without them those tests skip with the reason; under
TIMESIDE_REQUIRE_SERVICES=1 (set by .ci/run) a missing service fails the run instead.
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse

import pytest

REQUIRED = os.environ.get("TIMESIDE_REQUIRE_SERVICES") == "1"
POSTGRES_URL = os.environ.get(
    "TIMESIDE_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("TIMESIDE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


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
    if _reachable(url, default_port):
        return
    reason = f"{service} is not reachable at {url}"
    if REQUIRED:
        pytest.fail(f"{reason}, and TIMESIDE_REQUIRE_SERVICES=1 requires it")
    pytest.skip(f"{reason} (set TIMESIDE_TEST_* URLs or start it to run this test)")


def need_postgres() -> str:
    need("PostgreSQL", POSTGRES_URL, 5432)
    return POSTGRES_URL


def need_redis() -> str:
    need("Redis", REDIS_URL, 6379)
    return REDIS_URL
