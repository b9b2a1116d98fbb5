"""Retries only for transient errors; a message given up is reported to its actor's handler."""

from __future__ import annotations

import errno

import dramatiq
import pytest
from dramatiq import Worker
from dramatiq.brokers.stub import StubBroker
from sqlalchemy.exc import OperationalError

from timeside_gql.jobs.broker import job_middleware
from timeside_gql.jobs.middleware import RetryTransient, describe
from timeside_gql.settings import Settings

LOST_DATABASE = OperationalError("SELECT 1", {}, ConnectionError("server closed the connection"))


def test_only_connection_errors_are_retried_and_only_so_many_times():
    retry = RetryTransient(max_retries=2)
    assert retry(0, LOST_DATABASE) and retry(1, LOST_DATABASE)
    assert not retry(2, LOST_DATABASE)
    assert not retry(0, ValueError("bad audio"))


@pytest.mark.parametrize(
    ("error", "calls", "reported"),
    [
        (LOST_DATABASE, 2, "the database is unavailable"),
        (ValueError("bad audio"), 1, "ValueError: bad audio"),
    ],
)
def test_a_message_is_retried_then_given_up_once(error, calls, reported):
    broker = StubBroker(middleware=job_middleware(Settings(job_max_retries=1), embedded=True))
    attempts: list[str] = []
    given_up: list[tuple[str, str]] = []

    def gave_up(key: str, *, error: str) -> None:
        given_up.append((key, error))

    @dramatiq.actor(broker=broker, on_give_up=gave_up)
    def flaky(key: str) -> None:
        attempts.append(key)
        raise error

    worker = Worker(broker, worker_timeout=50)
    worker.start()
    try:
        flaky.send("job-1")
        broker.join(flaky.queue_name, fail_fast=False)
        worker.join()
    finally:
        worker.stop()
    assert attempts == ["job-1"] * calls
    assert [key for key, _ in given_up] == ["job-1"]
    assert given_up[0][1].startswith(reported)


def test_messageless_errors_are_named():
    assert describe(TimeoutError()) == "TimeoutError"
    assert describe(ValueError("no")) == "ValueError: no"


def test_outages_are_named_by_what_is_out_without_the_servers_paths():
    full = OSError(errno.ENOSPC, "No space left on device", "/srv/timeside/results/x.tmp")
    assert describe(full) == "the server's disk is full"
    try:
        raise RuntimeError("unable to write") from full  # as h5py wraps it
    except RuntimeError as wrapped:
        assert describe(wrapped) == "the server's disk is full"
    assert describe(OSError(errno.EACCES, "denied")) == "PermissionError: [Errno 13] denied"
