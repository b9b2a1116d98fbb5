"""Small Dramatiq middlewares: which errors retry, what happens when a job gives up, warm-up.

Each one is a single concern hooked on Dramatiq's lifecycle, so the actors stay plain functions.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from dramatiq import Broker, Middleware
from dramatiq.brokers.redis import MAINTENANCE_SCALE, RedisBroker
from dramatiq.errors import BrokerConnectionError
from sqlalchemy.exc import InterfaceError, OperationalError
from threadpoolctl import threadpool_limits

from timeside_gql.jobs import outages

log = logging.getLogger(__name__)

#: Errors worth trying again: the connection dropped, the work itself is not at fault.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    redis.ConnectionError,
    redis.TimeoutError,
    BrokerConnectionError,
)


def is_transient(exc: BaseException) -> bool:
    return isinstance(exc, TRANSIENT_ERRORS)


def describe(exc: BaseException) -> str:
    """What a job's owner reads of its failure: an outage by what is out (a full disk's
    ``OSError`` names the server's paths), else ``Type: message``, or the bare type for
    messageless errors (``TimeLimitExceeded``). The worker's log keeps the whole error."""
    if what := outages.outage(exc):
        return what
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class RetryTransient:
    """A ``retry_when`` predicate for Dramatiq's Retries: retry connection errors, nothing else.

    A deterministic failure (bad audio, a processor bug, a time limit) would fail again, so it
    is recorded at once instead of being retried with backoff for days.
    """

    def __init__(self, max_retries: int) -> None:
        self.max_retries = max_retries

    def __call__(self, retries: int, exc: BaseException) -> bool:
        return retries < self.max_retries and is_transient(exc)


class GiveUp(Middleware):
    """Calls the actor's ``on_give_up(*args, error=...)`` once a message will not be retried.

    List it before Retries: after-hooks run in reverse order, and Retries must mark the
    message failed first.
    """

    @property
    def actor_options(self) -> set[str]:
        return {"on_give_up"}

    def after_process_message(
        self, broker: Broker, message: Any, *, result: Any = None, exception: Any = None
    ) -> None:
        if exception is None or not message.failed:
            return
        handler: Callable[..., None] | None = broker.get_actor(message.actor_name).options.get(
            "on_give_up"
        )
        if handler is None:
            return
        try:
            handler(*message.args, error=describe(exception))
        except Exception:
            log.exception("on_give_up of %s failed", message.actor_name)


class WarmUp(Middleware):
    """Runs ``warm`` once per worker process, so numba's JIT is not paid by the first job.

    In a dedicated worker process it blocks boot (the worker takes no job before it is warm);
    inside the server it runs in the background so the server starts at once.
    """

    def __init__(self, warm: Callable[[], object], *, background: bool = False) -> None:
        self.warm = warm
        self.background = background
        self.done = threading.Event()

    def after_process_boot(self, broker: Broker) -> None:
        if self.background:
            threading.Thread(target=self._run, name="timeside-warm-up", daemon=True).start()
        else:
            self._run()

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            self.warm()
        except Exception:
            log.exception("warm-up failed; the first job will compile what it needs")
        finally:
            self.done.set()
        log.info("warm-up took %.2f s", time.perf_counter() - started)


class OneMathThread(Middleware):
    """Pins BLAS and OpenMP pools to one thread in each worker process.

    Workers scale by processes; a process whose BLAS also spreads over every core competes
    with its siblings (measured: two processes then ran no faster than one). Done at process
    boot, since numpy is often imported, and its pools sized, before any variable is set.
    """

    def after_process_boot(self, broker: Broker) -> None:
        threadpool_limits(limits=1)


class DeadWorkerReaper(Middleware):
    """Redelivers, promptly, the messages held by Redis workers that stopped heart-beating.

    Dramatiq's Redis broker already requeues them, but only during a maintenance pass that runs
    on 0.1 % of its commands: minutes after a SIGKILL. This forces a pass every half heartbeat
    timeout from each worker process.
    """

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.stopped = threading.Event()

    def after_worker_boot(self, broker: Broker, worker: Any) -> None:
        if isinstance(broker, RedisBroker):
            threading.Thread(
                target=self._loop, args=(broker,), name="timeside-reaper", daemon=True
            ).start()

    def before_worker_shutdown(self, broker: Broker, worker: Any) -> None:
        self.stopped.set()

    def _loop(self, broker: RedisBroker) -> None:
        while not self.stopped.wait(self.interval):
            try:
                requeue_dead_workers(broker)
            except redis.RedisError:
                log.warning("maintenance pass failed; retrying later", exc_info=True)


def requeue_dead_workers(broker: RedisBroker) -> None:
    """Run one maintenance pass of Dramatiq's Redis script (it piggybacks on any command)."""
    queues = broker.get_declared_queues() | broker.get_declared_delay_queues()
    for queue_name in queues:
        chance, broker.maintenance_chance = broker.maintenance_chance, MAINTENANCE_SCALE
        try:
            broker.do_qsize(queue_name)
        finally:
            broker.maintenance_chance = chance


class RunUpkeep(Middleware):
    """Runs this worker process's upkeep (heartbeats, outbox, reconciler: ``jobs.reconciler``)
    from boot to shutdown."""

    def __init__(self) -> None:
        self.upkeep: Any = None

    def after_worker_boot(self, broker: Broker, worker: Any) -> None:
        from timeside_gql.jobs.config import get_engine, job_settings
        from timeside_gql.jobs.reconciler import Upkeep

        self.upkeep = Upkeep(get_engine(), job_settings()).start()

    def before_worker_shutdown(self, broker: Broker, worker: Any) -> None:
        if self.upkeep is not None:
            self.upkeep.stop()
