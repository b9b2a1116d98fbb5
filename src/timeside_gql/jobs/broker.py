"""The Dramatiq broker of this process, chosen from settings.

With ``TIMESIDE_REDIS_URL`` set: Dramatiq's RedisBroker, consumed by separate ``timeside-gql
worker`` processes (delivery is at least once: a message is acked only after its actor returns).
Unset (embedded mode): a StubBroker, consumed by a Worker that the server runs in its own process
(see ``jobs.runtime``).
"""

from __future__ import annotations

from functools import cache

import dramatiq
from dramatiq import Broker, Middleware
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Retries, TimeLimit

from timeside_gql.core.experience import warm_up
from timeside_gql.jobs.middleware import (
    DeadWorkerReaper,
    GiveUp,
    OneMathThread,
    RetryTransient,
    WarmUp,
)
from timeside_gql.settings import Settings, get_settings

#: Fan-out of tasks into jobs: quick, database-bound.
TASKS_QUEUE = "tasks"
#: One job per (task, item): CPU-bound audio analysis.
JOBS_QUEUE = "jobs"
#: Webhook deliveries: short POSTs, kept apart so they never wait behind analyses in a queue.
WEBHOOKS_QUEUE = "webhooks"

#: The core's warm-up (numba compilation, lazy imports, allocator), paid once per process.
warm_up_once = cache(warm_up)

MIN_BACKOFF_MS = 1_000
MAX_BACKOFF_MS = 60_000

_broker: Broker | None = None


def job_middleware(settings: Settings, *, embedded: bool) -> list[Middleware]:
    """The middleware stack. Dramatiq runs after-hooks in reverse order, so GiveUp, listed
    before Retries, sees each message after Retries decided whether it fails for good."""
    return [
        TimeLimit(time_limit=int(settings.job_time_limit * 1000)),
        GiveUp(),
        Retries(
            max_retries=settings.job_max_retries,
            min_backoff=MIN_BACKOFF_MS,
            max_backoff=MAX_BACKOFF_MS,
            retry_when=RetryTransient(settings.job_max_retries),
        ),
        WarmUp(warm_up_once, background=embedded),
        DeadWorkerReaper(interval=settings.worker_heartbeat_timeout / 2),
        # Inside the server (embedded) one worker thread may use every core for its BLAS.
        *([] if embedded else [OneMathThread()]),
    ]


def build_broker(settings: Settings) -> Broker:
    embedded = not settings.redis_url
    middleware = job_middleware(settings, embedded=embedded)
    if embedded:
        return StubBroker(middleware=middleware)
    return RedisBroker(
        url=settings.redis_url,
        middleware=middleware,
        namespace=settings.redis_namespace,
        heartbeat_timeout=int(settings.worker_heartbeat_timeout * 1000),
    )


def get_broker() -> Broker:
    """This process's broker, built from the settings on first use."""
    return _broker or set_broker(build_broker(get_settings()))


def set_broker(broker: Broker) -> Broker:
    """Make ``broker`` current, moving the actors already declared onto it.

    Actors bind to a broker when declared; tests that switch between the stub and Redis brokers
    in one process rely on this to keep ``actor.send`` pointing at the current one.
    """
    global _broker
    previous, _broker = _broker, broker
    dramatiq.set_broker(broker)
    if previous is not None and previous is not broker:
        for name in previous.get_declared_actors():
            actor = previous.get_actor(name)
            actor.broker = broker
            broker.declare_actor(actor)
    return broker


def is_embedded(broker: Broker) -> bool:
    """Whether jobs run inside this process (no separate worker can see the queue)."""
    return isinstance(broker, StubBroker)
