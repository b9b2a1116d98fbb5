"""Live updates over graphql-transport-ws: ``taskUpdates`` and ``itemUpdates``.

Each subscription registers on the event bus first, then reads and yields the current state
(a client joining late, or reconnecting, resyncs), then yields one update per event. Events
carry ids only: every update is re-read from the database with the subscriber's visibility
rules, so a user who may not see a task never receives anything about it; subscribers with the
same rules share that read.
"""

from __future__ import annotations

import asyncio
import enum
from collections import OrderedDict
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import strawberry
from anyio import to_thread
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session, select

from timeside_gql.api import credentials
from timeside_gql.api.credentials import REVERIFY_S, still_valid
from timeside_gql.api.errors import ClientError
from timeside_gql.api.loaders import Loaders
from timeside_gql.api.permissions import CanRead
from timeside_gql.api.scope import OperationScope, current_scope
from timeside_gql.api.types.base import as_type
from timeside_gql.api.types.tasks import Job, Result, Task
from timeside_gql.db import models as m
from timeside_gql.db.visibility import Viewer, visible
from timeside_gql.jobs.events import Event, get_bus, item_channel, task_channel

if TYPE_CHECKING:
    from timeside_gql.api.types.items import Item

_ITEMS = strawberry.lazy("timeside_gql.api.types.items")
ENDED = frozenset({m.TaskStatus.DONE, m.TaskStatus.FAILED, m.TaskStatus.CANCELLED})
ENDED_EVENTS = frozenset(status.value for status in ENDED)
#: How long a subscription to an ended task waits for the task's final event.
SETTLED_GRACE_S = 2.0


@strawberry.enum(description="What an update reports.")
class UpdateKind(enum.Enum):
    SNAPSHOT = "snapshot"
    TASK = "task"
    JOB = "job"
    RESULT = "result"
    ITEM = "item"


@strawberry.type(description="The state of a task after a change, and the change.")
class TaskUpdate:
    kind: UpdateKind
    task: Task
    job: Job | None = strawberry.field(default=None, description="The job that changed.")
    result: Result | None = strawberry.field(default=None, description="The result that changed.")
    cached: bool = strawberry.field(
        default=False, description="The result was reused from an identical earlier computation."
    )


@strawberry.type(description="The state of an item after a change (ingest, a job, a result).")
class ItemUpdate:
    kind: UpdateKind
    item: Annotated[Item, _ITEMS]
    job: Job | None = None
    result: Result | None = None
    cached: bool = False


@dataclass(frozen=True, slots=True)
class _Rows:
    """What one event refers to, as visible to the subscriber (None: gone or hidden)."""

    subject: Any
    job: m.Job | None = None
    result: m.Result | None = None


def _visible(session: Session, viewer: Viewer, model: type[Any], id: Any) -> Any:
    if id is None:
        return None
    statement = select(model).where(model.id == UUID(str(id)), visible(model, viewer))
    # The operation's session outlives its transactions: refresh rows it has seen before.
    return session.exec(statement.execution_options(populate_existing=True)).first()


def _read(session: Session, viewer: Viewer, model: type[Any], id: UUID, event: Event) -> _Rows:
    return _Rows(
        subject=_visible(session, viewer, model, id),
        job=_visible(session, viewer, m.Job, event.get("jobId")),
        result=_visible(session, viewer, m.Result, event.get("resultId")),
    )


def _read_alone(
    sessions: sessionmaker[Session], viewer: Viewer, model: type[Any], id: UUID, event: Event
) -> _Rows:
    with sessions() as session, session.begin():
        return _read(session, viewer, model, id, event)


class _SharedReads:
    """One read per (event, viewer, subject) for all the subscribers of this process: an event
    reaching a thousand subscribers who see the same rows costs one query, not a thousand.

    Keyed by the event object itself (the fan-out hands the same dict to every subscriber of a
    channel); an entry keeps its event alive, so the key stays unique while it is cached.
    """

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._reads: OrderedDict[tuple[Any, ...], tuple[Event, asyncio.Future[_Rows]]] = (
            OrderedDict()
        )

    def read(
        self,
        sessions: sessionmaker[Session],
        viewer: Viewer,
        model: type[Any],
        subject_id: UUID,
        event: Event,
    ) -> Awaitable[_Rows]:
        key = (id(event), viewer, model, subject_id)
        entry = self._reads.get(key)
        if entry is None:
            work = to_thread.run_sync(_read_alone, sessions, viewer, model, subject_id, event)
            entry = self._reads[key] = (event, asyncio.ensure_future(work))
            if len(self._reads) > self._size:
                self._reads.popitem(last=False)
        return asyncio.shield(entry[1])  # one subscriber leaving does not cancel the others'


_shared = _SharedReads()


async def _updates(
    scope: OperationScope,
    sessions: sessionmaker[Session],
    model: type[Any],
    id: UUID,
    channel: str,
    *,
    alive: Callable[[], Awaitable[bool]],
    settled: Callable[[Any], bool] = lambda _: False,
) -> AsyncGenerator[tuple[UpdateKind, _Rows, Event], None]:
    """Snapshot, then one (kind, rows, event) per event; stops when the subject disappears, or
    goes quiet for a moment once ``settled`` (its final event was lost: pub/sub drops them)."""
    async with get_bus().subscribe(channel) as events:
        rows = await scope.read(_read, scope.viewer, model, id, {})
        if rows.subject is None:
            raise ClientError(f"{model.__name__} {id} not found", code="NOT_FOUND")
        yield UpdateKind.SNAPSHOT, rows, {}
        while True:
            wait = SETTLED_GRACE_S if settled(rows.subject) else None
            event = await _next(events, wait, alive)
            if event is None:
                return
            # Loaders cache for the operation, which lives as long as the subscription.
            scope.loaders = Loaders(scope.read, scope.viewer)
            rows = await _shared.read(sessions, scope.viewer, model, id, event)
            if rows.subject is None:
                return
            yield _kind(event), rows, event


async def _next(
    events: AsyncIterator[Event], wait: float | None, alive: Callable[[], Awaitable[bool]]
) -> Event | None:
    """The next event (None after ``wait`` seconds); every REVERIFY_S, ``alive`` must still
    hold, or the subscription ends with UNAUTHENTICATED."""
    loop = asyncio.get_running_loop()
    end = None if wait is None else loop.time() + wait
    pending = asyncio.ensure_future(anext(events))
    try:
        while True:
            tick = REVERIFY_S if end is None else min(REVERIFY_S, end - loop.time())
            done, _ = await asyncio.wait({pending}, timeout=max(tick, 0.0))
            if done:
                return pending.result()
            if end is not None and loop.time() >= end:
                return None
            if not await alive():
                raise ClientError(credentials.MESSAGE, code="UNAUTHENTICATED")
    finally:
        pending.cancel()


def _alive(info: strawberry.Info) -> Callable[[], Awaitable[bool]]:
    """Whether the subscriber's credentials still hold (api/credentials.py)."""
    context = info.context
    return lambda: still_valid(context)


def _ended(task: m.Task) -> bool:
    return task.status in ENDED


def _kind(event: Event) -> UpdateKind:
    try:
        return UpdateKind(event.get("type"))
    except ValueError:  # "resync" after the listener reconnected, or an unknown kind
        return UpdateKind.SNAPSHOT


@strawberry.type
class Subscription:
    @strawberry.subscription(
        permission_classes=[CanRead],
        description="The task now, then after each change of it, its jobs or its results; "
        "completes when the task has ended (done, failed or cancelled).",
    )
    async def task_updates(
        self, info: strawberry.Info, task_id: UUID
    ) -> AsyncGenerator[TaskUpdate, None]:
        scope, sessions = current_scope(), info.context.sessions
        channel = task_channel(task_id)
        updates = _updates(
            scope, sessions, m.Task, task_id, channel, alive=_alive(info), settled=_ended
        )
        async for kind, rows, event in updates:
            yield TaskUpdate(
                kind=kind,
                task=as_type(rows.subject),
                job=as_type(rows.job),
                result=as_type(rows.result),
                cached=bool(event.get("cached")),
            )
            # The stream, not the re-read row, says when: events of the task's last results
            # may still be queued when its row already shows it ended.
            ending = event.get("type") == "task" and event.get("status") in ENDED_EVENTS
            if ending or (kind == UpdateKind.SNAPSHOT and _ended(rows.subject)):
                await updates.aclose()
                return

    @strawberry.subscription(
        permission_classes=[CanRead],
        description="The item now, then after each change: its ingest, a job or a result of "
        "any task on it. Runs until the client stops it.",
    )
    async def item_updates(
        self, info: strawberry.Info, item_id: UUID
    ) -> AsyncGenerator[ItemUpdate, None]:
        scope, sessions = current_scope(), info.context.sessions
        channel = item_channel(item_id)
        updates = _updates(scope, sessions, m.Item, item_id, channel, alive=_alive(info))
        async for kind, rows, event in updates:
            yield ItemUpdate(
                kind=kind,
                item=as_type(rows.subject),
                job=as_type(rows.job),
                result=as_type(rows.result),
                cached=bool(event.get("cached")),
            )
