"""Outages: failures of what the server depends on, told apart from bugs.

The database or the broker unreachable, or the disk full, is nobody's fault in the request and
passes once the service is back: clients get ``SERVICE_UNAVAILABLE`` (HTTP 503 with
``Retry-After``) and may try again, instead of an "unexpected error" they cannot act on.
"""

from __future__ import annotations

import errno
import sqlite3

import redis
from dramatiq.errors import BrokerConnectionError
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError

#: Seconds a client is told to wait before trying again.
RETRY_AFTER_S = 5

_FULL = {errno.ENOSPC, errno.EDQUOT}
#: SQLite's OperationalError also reports bugs ("no such table"): only these are outages.
_SQLITE_OUTAGES = ("database is locked", "unable to open database", "disk i/o error", "is full")


def outage(exc: BaseException | None) -> str | None:
    """What is out when ``exc`` (or an error it was raised from) is an outage, else None."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OperationalError | InterfaceError | DisconnectionError) and _unreachable(
            exc
        ):
            return "the database is unavailable"
        if isinstance(exc, redis.ConnectionError | redis.TimeoutError | BrokerConnectionError):
            return "the message broker is unavailable"
        if isinstance(exc, OSError) and exc.errno in _FULL:
            return "the server's disk is full"
        exc = exc.__cause__ or exc.__context__
    return None


def _unreachable(exc: OperationalError | InterfaceError | DisconnectionError) -> bool:
    """The database is out of reach (PostgreSQL gone, SQLite locked or its file unusable),
    not the statement at fault."""
    original = getattr(exc, "orig", None)
    if isinstance(original, sqlite3.OperationalError):
        return any(sign in str(original).lower() for sign in _SQLITE_OUTAGES)
    return True


def message(what: str) -> str:
    return f"{what}: try again in a moment"
