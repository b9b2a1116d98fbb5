"""Recovery from faults, measured with real processes (docs/operations.md, "Faults: measured").

A PostgreSQL and a Redis of this script's own on free ports (``tests/servers.py``), a real
``timeside-gql serve`` and ``timeside-gql worker`` processes (``tests/jobs/live.py``), faults
injected by SIGKILL of a PID. It measures, in wall time (what a client waits; the machine is
shared, its load average is printed with the figures):

- a worker SIGKILLed mid-job: kill → the job claimed again by the other worker, and → done;
- ``cancelTask``: the mutation → the job's computation stopped, and → the worker's next job
  claimed;
- Redis restarted (empty) while ``runTask`` was called: Redis back → the outbox message sent;
- PostgreSQL SIGKILLed mid-task and started again after ``--outage`` seconds: back → the
  first GraphQL query answered, and → the task running during the outage done.

    python bench/bench_faults.py                      # default heartbeat timeout (60 s)
    python bench/bench_faults.py --heartbeat-timeout 10 --write docs/operations.md
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_core import machine
from bench_workers import wrap, write_section
from tests.db import factories
from tests.jobs.live import graphql
from tests.reliability.faults import CANCEL, SLOW, Stack, run
from tests.servers import PostgresServer, RedisServer, init_cluster

from timeside_gql.db.migrate import upgrade
from timeside_gql.db.models import OutboxMessage

SECTION = "## Faults: measured recovery"
POLL_S = 0.02
#: A new amplitude for each world: the same audio twice would reuse the first one's results.
AMPLITUDES = iter(0.5 - 0.01 * n for n in range(40))


def until(check: Callable[[], bool], timeout: float = 600) -> float:
    """Poll ``check`` every 20 ms; the monotonic time it first held."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("not reached")
        time.sleep(POLL_S)
    return time.monotonic()


def worker_kill(stack: Stack, url: str, seconds: float) -> tuple[float, float]:
    """(kill → claimed again, kill → done) of one job on ``seconds`` of audio."""
    world = stack.world(seconds=seconds, pids=SLOW, amplitudes=(next(AMPLITUDES),))
    workers = [stack.live.worker(), stack.live.worker()]
    run(url, factories.token(stack.engine, world.owner_id), world.task_id)
    stack.until_computing(world.task_id)
    victim = stack.computing_worker(workers)
    stack.live.kill(victim)
    killed = time.monotonic()
    claimed = until(lambda: stack.jobs(world.task_id)[0].attempts == 2)
    done = until(lambda: stack.task_status(world.task_id).value == "done")
    for worker in workers:
        if worker is not victim:
            stack.live.kill(worker)
    return claimed - killed, done - killed


def cancel(stack: Stack, url: str) -> tuple[float, float]:
    """(mutation → computation stopped, mutation → the next job claimed)."""
    slow = stack.world(seconds=60.0, pids=SLOW, amplitudes=(next(AMPLITUDES),))
    quick = stack.world(pids=("level",), amplitudes=(next(AMPLITUDES),))
    token = factories.token(stack.engine, slow.owner_id)
    run(url, token, slow.task_id)
    stack.until_computing(slow.task_id)
    run(url, factories.token(stack.engine, quick.owner_id), quick.task_id)
    start = time.monotonic()
    graphql(url, token, CANCEL, id=str(slow.task_id))
    stopped = until(lambda: not stack.work_folders())
    free = until(lambda: any(job.started_at for job in stack.jobs(quick.task_id)))
    stack.until_done(quick.task_id)
    return stopped - start, free - start


def redis_back(stack: Stack, url: str) -> tuple[float, float]:
    """(Redis back → the outbox message sent, → the task done)."""
    world = stack.world(pids=("level",), amplitudes=(next(AMPLITUDES),))
    stack.redis.kill()
    run(url, factories.token(stack.engine, world.owner_id), world.task_id)
    stack.redis.start()
    back = time.monotonic()
    sent = until(lambda: all(row.sent_at for row in stack.rows(OutboxMessage)))
    done = until(lambda: stack.task_status(world.task_id).value == "done")
    return sent - back, done - back


def postgres_back(stack: Stack, url: str, outage: float) -> tuple[float, float]:
    """(PostgreSQL back → a GraphQL query answered, → the task running during it done)."""
    world = stack.world(seconds=20.0, pids=SLOW, amplitudes=(next(AMPLITUDES), next(AMPLITUDES)))
    token = factories.token(stack.engine, world.owner_id)
    run(url, token, world.task_id)
    stack.until_computing(world.task_id)
    stack.postgres.kill()
    time.sleep(outage)
    stack.postgres.start()
    back = time.monotonic()
    query = {"query": "{ items(first: 1) { totalCount } }"}
    headers = {"Authorization": f"Bearer {token}"}

    def answered() -> bool:
        body = httpx.post(f"{url}/graphql", json=query, headers=headers, timeout=30).json()
        return "errors" not in body

    first = until(answered)
    done = until(lambda: stack.task_status(world.task_id).value == "done")
    return first - back, done - back


def spread(samples: list[float]) -> str:
    if len(samples) == 1:
        return f"{samples[0]:.2f} s"
    low, high = min(samples), max(samples)
    return f"median {statistics.median(samples):.2f} s (min {low:.2f}, max {high:.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--heartbeat-timeout", type=float, default=60.0)
    parser.add_argument("--kills", type=int, default=2, help="worker kills measured")
    parser.add_argument("--cancels", type=int, default=5, help="cancellations measured")
    parser.add_argument("--outage", type=float, default=5.0, help="seconds PostgreSQL is down")
    parser.add_argument("--write", type=Path, help="replace the section in this file")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="bench-faults-"))
    template = init_cluster()
    postgres = PostgresServer(template)
    postgres.start()
    upgrade(postgres.create_database())
    redis = RedisServer(folder)
    redis.start()
    env = {"TIMESIDE_WORKER_HEARTBEAT_TIMEOUT": str(args.heartbeat_timeout)}
    stack = Stack.build(postgres, redis, folder, env)
    try:
        url = stack.live.serve()
        kills = [worker_kill(stack, url, 60.0) for _ in range(args.kills)]
        stack.live.worker()
        cancels = [cancel(stack, url) for _ in range(args.cancels)]
        redis_times = redis_back(stack, url)
        postgres_times = postgres_back(stack, url, args.outage)
        load = machine()
    finally:
        stack.close()
        redis.kill()
        postgres.stop()

    timeout = args.heartbeat_timeout
    lines = [
        SECTION,
        "",
        f"`bench/bench_faults.py` (heartbeat timeout {timeout:g} s; wall time, polled every "
        f"20 ms). Machine: {load}, shared with other sessions.",
        "",
        "| fault | measured |",
        "|---|---|",
        f"| worker SIGKILLed mid-job ({args.kills} kills, 60 s of audio, `essentia_dissonance`) | "
        f"claimed again by the other worker after {spread([k[0] for k in kills])}; done after "
        f"{spread([k[1] for k in kills])} |",
        f"| `cancelTask` on a running job ({args.cancels} times) | computation stopped after "
        f"{spread([c[0] for c in cancels])}; the worker's next job claimed after "
        f"{spread([c[1] for c in cancels])} |",
        f"| Redis restarted empty while `runTask` was called | outbox message sent "
        f"{redis_times[0]:.2f} s after Redis was back; task done after {redis_times[1]:.2f} s |",
        f"| PostgreSQL SIGKILLed mid-task, started again after {args.outage:g} s | first "
        f"GraphQL query answered {postgres_times[0]:.2f} s after it was back; the task done "
        f"after {postgres_times[1]:.2f} s |",
        "",
    ]
    text = "\n".join(wrap(line) for line in lines)
    print(text)
    if args.write:
        write_section(args.write, text, SECTION)


if __name__ == "__main__":
    main()
