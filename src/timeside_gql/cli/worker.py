"""``worker``: Dramatiq worker processes consuming the Redis queues (production mode)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

ACTORS_MODULE = "timeside_gql.jobs.worker_process"
PROCESSES = "worker processes (default: one per CPU)"
THREADS = "threads per process (default 1: analysis is CPU-bound)"
QUEUES = "consume only these queues (tasks, jobs, webhooks; default all)"


def register(subparsers: Any) -> None:
    worker = subparsers.add_parser(
        "worker", help="run job workers (needs TIMESIDE_REDIS_URL; `serve` alone runs jobs itself)"
    )
    worker.add_argument("--processes", "-p", type=int, default=os.cpu_count() or 1, help=PROCESSES)
    worker.add_argument("--threads", "-t", type=int, default=1, help=THREADS)
    worker.add_argument("--queues", "-Q", nargs="*", help=QUEUES)
    worker.set_defaults(func=run_worker)


def run_worker(args: argparse.Namespace) -> int:
    from timeside_gql.settings import get_settings

    if not get_settings().redis_url:
        print(
            "timeside-gql worker: TIMESIDE_REDIS_URL is not set; without Redis, "
            "`timeside-gql serve` runs the jobs in its own process",
            file=sys.stderr,
        )
        return 2
    from dramatiq.cli import main, make_argument_parser

    argv = [ACTORS_MODULE, "--processes", str(args.processes), "--threads", str(args.threads)]
    if args.queues:
        argv += ["--queues", *args.queues]
    return int(main(make_argument_parser().parse_args(argv)) or 0)
