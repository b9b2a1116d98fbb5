"""Login throttling: failed logins counted per account and per client address in a fixed window.

Past ``login_attempts_per_account`` failures for one username, or ``login_attempts_per_address``
from one client address, within ``login_window_s`` seconds, ``login`` answers ``RateLimited``
until the window ends, before the password is hashed (each try costs an argon2 hash). A success
clears the account's count, not the address's. Counts live in Redis when ``redis_url`` is set
(every server process shares them), in this process's memory otherwise.
"""

from __future__ import annotations

import math
import threading
import time
from functools import lru_cache
from typing import Protocol

import redis

from timeside_gql.settings import Settings


class Counter(Protocol):
    def count(self, key: str) -> tuple[int, float]:
        """Failures under ``key`` in its window, and seconds until the window ends."""
        ...

    def add(self, key: str, window: int) -> None: ...

    def clear(self, key: str) -> None: ...


class MemoryCounter:
    """Fixed windows in a dict; expired entries are dropped as the dict grows."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, float]] = {}

    def count(self, key: str) -> tuple[int, float]:
        with self._lock:
            count, ends = self._counts.get(key, (0, 0.0))
        left = ends - time.monotonic()
        return (count, left) if left > 0 else (0, 0.0)

    def add(self, key: str, window: int) -> None:
        now = time.monotonic()
        with self._lock:
            count, ends = self._counts.get(key, (0, 0.0))
            self._counts[key] = (count + 1, ends) if ends > now else (1, now + window)
            if len(self._counts) > 100_000:
                self._counts = {k: v for k, v in self._counts.items() if v[1] > now}

    def clear(self, key: str) -> None:
        with self._lock:
            self._counts.pop(key, None)


class RedisCounter:
    """INCR with an expiry set on the first failure of a window."""

    def __init__(self, url: str, namespace: str) -> None:
        self._redis = redis.Redis.from_url(url)
        self._prefix = f"{namespace}:login:"

    def count(self, key: str) -> tuple[int, float]:
        pipe = self._redis.pipeline()
        pipe.get(self._prefix + key)
        pipe.pttl(self._prefix + key)
        value, ttl_ms = pipe.execute()
        return (int(value), ttl_ms / 1000) if value is not None and ttl_ms > 0 else (0, 0.0)

    def add(self, key: str, window: int) -> None:
        pipe = self._redis.pipeline()
        pipe.incr(self._prefix + key)
        pipe.expire(self._prefix + key, window, nx=True)
        pipe.execute()

    def clear(self, key: str) -> None:
        self._redis.delete(self._prefix + key)


@lru_cache
def _redis_counter(url: str, namespace: str) -> RedisCounter:
    return RedisCounter(url, namespace)


def counter(settings: Settings) -> Counter:
    """Redis's counts (one client per URL), or a new in-memory store for one application."""
    if settings.redis_url:
        return _redis_counter(settings.redis_url, settings.redis_namespace)
    return MemoryCounter()


def _keys(username: str, address: str | None) -> list[tuple[str, str]]:
    keys = [("account", f"account:{username.strip().lower()}")]
    return keys + ([("address", f"address:{address}")] if address else [])


def retry_after(
    store: Counter, settings: Settings, username: str, address: str | None
) -> int | None:
    """Seconds until ``username`` may try again from ``address`` (None: now)."""
    limits = {
        "account": settings.login_attempts_per_account,
        "address": settings.login_attempts_per_address,
    }
    waits = []
    for kind, key in _keys(username, address):
        failures, left = store.count(key)
        if failures >= limits[kind]:
            waits.append(max(1, math.ceil(left)))
    return max(waits, default=None)


def record(
    store: Counter, settings: Settings, username: str, address: str | None, *, ok: bool
) -> None:
    """Count a failure against the account and the address; a success clears the account."""
    keys = _keys(username, address)
    if ok:
        store.clear(keys[0][1])
        return
    for _, key in keys:
        store.add(key, settings.login_window_s)
