"""The database side of one GraphQL operation: one session, its loaders, its transactions.

The request context lives as long as a WebSocket connection and is shared by the operations it
carries, so per-operation state cannot hang off it. :class:`DatabaseExtension` opens an
:class:`OperationScope` around each operation and publishes it in a context variable, which the
resolvers (and the tasks graphql-core spawns for them) read through :func:`current_scope`.

The session is synchronous (SQLite and PostgreSQL alike); its calls run in a worker thread so
the event loop keeps serving, one at a time so the session is never used concurrently.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import AbstractAsyncContextManager, nullcontext
from contextvars import ContextVar
from functools import partial
from typing import Any, Concatenate, ParamSpec, TypeVar

import sqlalchemy as sa
from anyio import CapacityLimiter, to_thread
from anyio.lowlevel import RunVar
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session
from strawberry.extensions import SchemaExtension

from timeside_gql.api.errors import ClientError
from timeside_gql.api.loaders import Loaders
from timeside_gql.db.visibility import Viewer
from timeside_gql.settings import Settings

P = ParamSpec("P")
T = TypeVar("T")

_current: ContextVar[OperationScope] = ContextVar("timeside_operation_scope")


class OperationScope:
    """Owns the session of one operation; ``read`` and ``write`` run code against it."""

    def __init__(self, sessions: sessionmaker[Session], viewer: Viewer, settings: Settings) -> None:
        self.sessions = sessions
        self.settings = settings
        self._session: Session | None = None
        self._lock = asyncio.Lock()
        self.viewer = viewer
        self.loaders = Loaders(self.read, viewer)
        #: Series points and waveform pixels asked for so far (aliases and lists add up).
        self.points = 0

    def charge_points(self, points: int) -> None:
        """Refuse an operation whose series and waveforms add up past the per-query budget:
        each field is capped, but 30 aliases over 100 items of 10,000 points are not."""
        self.points += points
        budget = self.settings.max_points_per_query
        if self.points > budget:
            raise ClientError(
                f"this query asks for more than {budget} series points and waveform pixels "
                "in all: ask for fewer items, fields or points per request"
            )

    @property
    def session(self) -> Session:
        if self._session is None:
            self._session = self.sessions()
        return self._session

    async def read(
        self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``fn(session, ...)`` in a worker thread, as a transaction of its own.

        Ending the transaction after each batch returns the connection between awaits: no
        PostgreSQL connection idles in a transaction, no SQLite lock outlives the batch. The
        price is that one operation may see commits made between its batches.
        """
        return await self._transaction(fn, *args, **kwargs)

    async def write(
        self, fn: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        """Run ``fn(session, ...)`` as one transaction: committed if it returns, else rolled back.

        The loaders are renewed afterwards so later fields see the change.
        """
        try:
            return await self._transaction(fn, *args, **kwargs)
        finally:
            self.loaders = Loaders(self.read, self.viewer)

    async def _transaction(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        work = partial(_transaction, fn, self.session, args, kwargs)
        async with self._lock:
            try:
                async with database_slot(self.sessions):
                    return await to_thread.run_sync(work)
            except sa.exc.TimeoutError as exc:  # no pooled connection came free in time
                raise ClientError(
                    "the server is busy: retry in a few seconds", code="BUSY"
                ) from exc

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


def _transaction(fn: Callable[..., T], session: Session, args: Any, kwargs: Any) -> T:
    try:
        result = fn(session, *args, **kwargs)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return result


#: Per event loop: the threads that may work with each engine's connections at once.
_DATABASE_THREADS: RunVar[dict[Engine, CapacityLimiter]] = RunVar("timeside_database_threads")


def database_threads(sessions: sessionmaker[Session]) -> CapacityLimiter | None:
    """The worker threads that may hold a connection of ``sessions``' engine at once: as many
    as its pool keeps (None: a pool without a size, SQLite in memory).

    Requests beyond that wait for a thread instead of opening an overflow connection that the
    pool closes on return: under 50 concurrent requests a process otherwise opened a new
    PostgreSQL connection (and PostgreSQL forked a backend) for one request in two (334 for
    551 requests; 10 with this bound), and up to 40 threads took turns on the interpreter lock.
    """
    engine = sessions.kw.get("bind")
    size = getattr(getattr(engine, "pool", None), "size", None)
    if not isinstance(engine, Engine) or size is None:
        return None
    try:
        limiters = _DATABASE_THREADS.get()
    except LookupError:
        limiters = {}
        _DATABASE_THREADS.set(limiters)
    if engine not in limiters:
        limiters[engine] = CapacityLimiter(size())
    return limiters[engine]


def database_slot(sessions: sessionmaker[Session]) -> AbstractAsyncContextManager[Any]:
    """One of :func:`database_threads` for the block (nothing to take without a sized pool).

    The wait has no bound of its own: the request's deadline bounds it (503 ``TIMEOUT``). A
    bound at the pool timeout answered ``BUSY`` to 12 of 815 requests of the load mix on an
    overloaded machine, where the queue had only moved from the interpreter lock to here.
    """
    limiter = database_threads(sessions)
    return nullcontext() if limiter is None else limiter


def current_scope() -> OperationScope:
    """The scope of the operation being executed (set by :class:`DatabaseExtension`)."""
    return _current.get()


class DatabaseExtension(SchemaExtension):
    """Opens the operation scope before parsing and closes its session after the response."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context.context
        scope = OperationScope(context.sessions, context.viewer, context.settings)
        token = _current.set(scope)
        try:
            yield
        finally:
            _current.reset(token)
            scope.close()
            # Read by the HTTP view: an answer of many points is encoded off the event loop.
            context.request.state.points = scope.points
