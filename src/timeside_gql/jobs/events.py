"""The event bus between workers and GraphQL subscriptions.

Workers ``publish(channel, event)`` from any thread. With Redis the event goes through pub/sub
and each server process holds ONE pattern subscription, fanned out to its subscribers' asyncio
queues; in embedded mode ``publish`` hands the event straight to that fan-out.

Pub/sub is fire-and-forget, so the database stays the source of truth: subscribers re-read state
when an event arrives, and a dropped or missed event only costs an intermediate value.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
import threading
from typing import Any

import redis
import redis.asyncio as aredis

from timeside_gql.settings import Settings, get_settings

log = logging.getLogger(__name__)

Event = dict[str, Any]

#: Sent to every subscriber after the Redis listener reconnects: events may have been missed.
RESYNC: Event = {"type": "resync"}
QUEUE_SIZE = 256
RECONNECT_DELAY_S = 1.0


def task_channel(task_id: object) -> str:
    return f"task:{task_id}"


def item_channel(item_id: object) -> str:
    return f"item:{item_id}"


class Subscription:
    """The events of one channel for one async consumer: ``async for event in subscription``.

    Its queue is bounded; when a consumer lags, the oldest event is dropped, so the latest (and
    the terminal one) always arrives.
    """

    def __init__(self, fanout: Fanout, channel: str) -> None:
        self.channel = channel
        self.loop = asyncio.get_running_loop()
        self.queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)
        self._fanout = fanout

    def deliver(self, event: Event) -> None:
        """Runs in the subscriber's loop."""
        if self.queue.full():
            self.queue.get_nowait()
        self.queue.put_nowait(event)

    def close(self) -> None:
        self._fanout.remove(self)

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        return await self.queue.get()

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()


class Fanout:
    """Live subscriptions by channel; dispatch is thread-safe and never blocks the publisher."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._subscriptions: dict[str, set[Subscription]] = {}

    def add(self, channel: str) -> Subscription:
        subscription = Subscription(self, channel)
        with self._lock:
            self._subscriptions.setdefault(channel, set()).add(subscription)
        return subscription

    def remove(self, subscription: Subscription) -> None:
        with self._lock:
            channel = self._subscriptions.get(subscription.channel, set())
            channel.discard(subscription)
            if not channel:
                self._subscriptions.pop(subscription.channel, None)

    def dispatch(self, channel: str, event: Event) -> None:
        with self._lock:
            targets = list(self._subscriptions.get(channel, ()))
        for subscription in targets:
            with contextlib.suppress(RuntimeError):  # its loop is closed: the server stopped
                subscription.loop.call_soon_threadsafe(subscription.deliver, event)

    def broadcast(self, event: Event) -> None:
        with self._lock:
            channels = list(self._subscriptions)
        for channel in channels:
            self.dispatch(channel, event)

    def __len__(self) -> int:
        with self._lock:
            return sum(len(subscriptions) for subscriptions in self._subscriptions.values())


class EventBus:
    """In-process bus (embedded mode); the base of the Redis bus."""

    def __init__(self) -> None:
        self.fanout = Fanout()

    def publish(self, channel: str, event: Event) -> None:
        self.fanout.dispatch(channel, event)

    def subscribe(self, channel: str) -> Subscription:
        """Register now (call it before reading current state, so nothing falls in between)."""
        return self.fanout.add(channel)

    async def start(self) -> None:
        """Begin receiving events in this process (no-op in process)."""

    async def stop(self) -> None:
        """Stop receiving events (no-op in process)."""


class RedisEventBus(EventBus):
    """Publishes through Redis; ``start`` runs this process's single listener."""

    def __init__(self, url: str, *, namespace: str = "timeside") -> None:
        super().__init__()
        self.url = url
        #: Prefix of every channel: pub/sub ignores database numbers, so deployments sharing a
        #: Redis would otherwise see each other's events.
        self.prefix = f"{namespace}:"
        #: Names the listener's connection in Redis ``CLIENT LIST``: one per server process.
        self.client_name = f"timeside-events:{socket.gethostname()}:{os.getpid()}"
        self._client = redis.Redis.from_url(url)
        self._listener: asyncio.Task[None] | None = None
        self._ready: asyncio.Event | None = None

    def publish(self, channel: str, event: Event) -> None:
        self._client.publish(self.prefix + channel, json.dumps(event, default=str))

    async def start(self) -> None:
        if self._listener is None:
            self._ready = asyncio.Event()
            self._listener = asyncio.create_task(self._listen(), name="timeside-event-listener")
            await self._ready.wait()

    async def stop(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        self._client.close()

    async def _listen(self) -> None:
        assert self._ready is not None
        first = True
        while True:
            try:
                listener = aredis.from_url(self.url, client_name=self.client_name)
                async with listener as client, client.pubsub() as pubsub:
                    await pubsub.psubscribe(self.prefix + "*")
                    self._ready.set()
                    if not first:
                        self.fanout.broadcast(RESYNC)
                    first = False
                    async for message in pubsub.listen():
                        self._dispatch(message)
            except (redis.ConnectionError, redis.TimeoutError, OSError):
                log.warning("event listener lost Redis; reconnecting", exc_info=True)
                self._ready.set()
                await asyncio.sleep(RECONNECT_DELAY_S)

    def _dispatch(self, message: dict[str, Any]) -> None:
        if message["type"] != "pmessage":
            return
        channel = message["channel"].decode()[len(self.prefix) :]
        try:
            event = json.loads(message["data"])
        except ValueError:
            log.warning("dropped a malformed event on %s", channel)
            return
        self.fanout.dispatch(channel, event)


_bus: EventBus | None = None


def build_bus(settings: Settings) -> EventBus:
    if not settings.redis_url:
        return EventBus()
    return RedisEventBus(settings.redis_url, namespace=settings.redis_namespace)


def get_bus() -> EventBus:
    """This process's bus, built from the settings on first use."""
    return _bus or set_bus(build_bus(get_settings()))


def set_bus(bus: EventBus) -> EventBus:
    global _bus
    _bus = bus
    return bus
