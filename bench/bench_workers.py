"""Benchmark execution: worker scaling, event latency, concurrent subscribers.

    python bench/bench_workers.py [--items 16 --seconds 120] [--latency 300]
                                  [--subscribers 100,500,1000] [--write docs/performance.md]

Needs PostgreSQL and Redis (the production mode; URLs as in tests/services.py, Redis database
14 by default). Each measure runs real processes:

* scaling: a selection of ``--items`` synthetic music-like files (``bench_core``), the core's
  default experience, run by ``timeside-gql worker --processes 1`` then ``--processes 2``
  (results deleted in between), timed from ``runTask`` to the task's end;
* latency: publish → subscriber on the Redis bus in one process, and publish → GraphQL client
  through a ``timeside-gql serve`` process over a WebSocket (the server re-reads the task);
* subscribers: K WebSocket clients on one server process all subscribed to one task; one event
  is published and the time until all K received their update is measured, with server RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import redis
import sqlalchemy as sa
import websockets
from bench_core import machine, write_synthetic

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent / "timeside-gql"
PG_URL = os.environ.get(
    "TIMESIDE_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("TIMESIDE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
NAMESPACE = f"bench-{uuid.uuid4().hex[:8]}"
SECTION = "## Execution"


# ---------------------------------------------------------------------------------------------
# A deployment: fresh database, data dir, environment; server and worker processes


class Deployment:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
        self.db_name = f"timeside_bench_{uuid.uuid4().hex[:8]}"
        with admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {self.db_name}")
        self.admin = admin
        url = sa.make_url(PG_URL).set(database=self.db_name)
        self.db_url = url.render_as_string(hide_password=False)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TIMESIDE_")}
        self.env.setdefault("NUMBA_CACHE_DIR", str(Path.home() / ".cache" / "numba"))
        self.env |= {
            "TIMESIDE_DATABASE_URL": self.db_url,
            "TIMESIDE_REDIS_URL": REDIS_URL,
            "TIMESIDE_REDIS_NAMESPACE": NAMESPACE,
            "TIMESIDE_DATA_DIR": str(folder / "data"),
        }
        os.environ.update({k: v for k, v in self.env.items() if k.startswith("TIMESIDE_")})
        from timeside_gql.settings import get_settings

        get_settings.cache_clear()
        from timeside_gql.db.migrate import upgrade

        upgrade(self.db_url)
        self.processes: list[subprocess.Popen[bytes]] = []

    def spawn(self, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
        log = self.folder / f"{args[0]}-{len(self.processes)}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [str(BIN), *args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append(process)
        return process, log

    @contextmanager
    def worker(self, processes: int):
        process, log = self.spawn("worker", "--processes", str(processes), "--threads", "1")
        while log.read_text(errors="replace").count("ready for action") < processes:
            time.sleep(0.2)
        try:
            yield process
        finally:
            stop(process)

    @contextmanager
    def server(self):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        process, _ = self.spawn("serve", "--port", str(port))
        url = f"http://127.0.0.1:{port}"
        while True:
            try:
                if httpx.post(f"{url}/graphql", json={"query": "{__typename}"}).is_success:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        try:
            yield url, process
        finally:
            stop(process)

    def close(self) -> None:
        for process in self.processes:
            stop(process)
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {self.db_name} WITH (FORCE)")


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:  # the leader forwards SIGTERM to its children
        process.terminate()
        process.wait(timeout=30)


# ---------------------------------------------------------------------------------------------
# Data


def build_tasks(items: int, seconds: float) -> tuple[uuid.UUID, uuid.UUID, str]:
    """Items, a selection, the default experience, two draft tasks on them (one to run, one
    that stays a draft for the subscription measures) and their owner's token."""
    from sqlmodel import select

    from timeside_gql.core.decode import file_sha1
    from timeside_gql.core.experience import DEFAULT_EXPERIENCE
    from timeside_gql.core.registry import all_processors
    from timeside_gql.db import auth
    from timeside_gql.db.engine import session_scope
    from timeside_gql.db.experiences import set_presets
    from timeside_gql.db.models import Experience, Item, Processor, Selection, Task, User
    from timeside_gql.db.presets import preset_for
    from timeside_gql.db.processors import sync_processors
    from timeside_gql.jobs.config import get_engine, job_settings

    media = job_settings().data_dir / "media"
    media.mkdir(parents=True, exist_ok=True)
    with session_scope(get_engine()) as session:
        sync_processors(session, all_processors())
        owner = User(username=f"bench-{uuid.uuid4().hex[:8]}", password_hash="x")
        session.add(owner)
        rows = []
        for n in range(items):
            path = write_synthetic(media / f"item-{n}.wav", seconds, seed=n)
            source = f"media/{path.name}"
            rows.append(Item(title=path.name, source_file=source, sha1=file_sha1(path)))
        session.add_all(rows)
        session.flush()
        selection = Selection(title="bench", items=rows)
        experience = Experience(title="default")
        session.add_all([selection, experience])
        session.flush()
        processors = {p.pid: p for p in session.exec(select(Processor))}
        presets = [preset_for(session, processors[pid], p) for pid, p in DEFAULT_EXPERIENCE]
        session.flush()
        set_presets(session, experience, [p.id for p in presets])
        tasks = [
            Task(experience_id=experience.id, selection_id=selection.id, author_id=owner.id)
            for _ in range(2)
        ]
        session.add_all(tasks)
        session.flush()
        token = auth.issue_token(session, owner, name="bench")[1]
        return tasks[0].id, tasks[1].id, token


def forget_results() -> None:
    from timeside_gql.db.engine import session_scope
    from timeside_gql.jobs.config import get_engine

    with session_scope(get_engine()) as session:
        session.execute(sa.text("DELETE FROM results"))


def run_to_end(task_id: uuid.UUID) -> tuple[float, float]:
    """runTask through the job service (Redis broker), poll until the task ends; returns the
    wall time and the concurrency reached (sum of job durations / wall time)."""
    from sqlmodel import select

    from timeside_gql.db.engine import session_scope
    from timeside_gql.db.models import Job, Task
    from timeside_gql.jobs.config import get_engine
    from timeside_gql.services.tasks import start

    engine = get_engine()
    started = time.perf_counter()
    with session_scope(engine) as session:
        start(session, task_id)
    while True:
        with session_scope(engine) as session:
            task = session.get(Task, task_id)
            if task.status.value in {"done", "failed"}:
                assert task.status.value == "done", task.error
                wall = time.perf_counter() - started
                jobs = session.exec(select(Job).where(Job.task_id == task_id)).all()
                busy = sum((j.finished_at - j.started_at).total_seconds() for j in jobs)
                return wall, busy / wall
        time.sleep(0.05)


# ---------------------------------------------------------------------------------------------
# Measures


def measure_scaling(
    deployment: Deployment, task_id: uuid.UUID, items: int, seconds: float, repeat: int
) -> dict[str, Any]:
    """Best of ``repeat`` runs per configuration: other users of the machine only slow a run."""
    runs: dict[int, list[tuple[float, float, float]]] = {1: [], 2: []}
    for processes in (1, 2):
        with deployment.worker(processes):
            for _ in range(repeat):
                forget_results()
                wall, concurrency = run_to_end(task_id)
                runs[processes].append((wall, concurrency, os.getloadavg()[0]))
                print(f"  {processes} process(es): {wall:.2f} s", flush=True)
    best = {processes: min(found) for processes, found in runs.items()}
    return {"items": items, "seconds": seconds, "repeat": repeat, "best": best}


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(int(q * len(ordered)), len(ordered) - 1)] * 1000

    return {"p50": at(0.5), "p95": at(0.95), "p99": at(0.99), "max": ordered[-1] * 1000}


async def bus_latency(count: int) -> dict[str, float]:
    """Publish (from a thread, as a worker does) → the subscriber's queue, one Redis listener."""
    from timeside_gql.jobs.events import RedisEventBus, task_channel

    bus = RedisEventBus(REDIS_URL)
    await bus.start()
    channel = task_channel(uuid.uuid4())
    latencies = []
    async with bus.subscribe(channel) as events:
        for _ in range(count):
            sent = time.perf_counter()
            threading.Thread(target=bus.publish, args=(channel, {"type": "ping"})).start()
            await anext(events)
            latencies.append(time.perf_counter() - sent)
    await bus.stop()
    return percentiles(latencies)


async def subscribe(url: str, token: str, task_id: uuid.UUID) -> Any:
    ws = await websockets.connect(
        url.replace("http", "ws") + "/graphql", subprotocols=["graphql-transport-ws"]
    )
    init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
    await ws.send(json.dumps(init))
    await ws.recv()
    query = "subscription($id: UUID!) { taskUpdates(taskId: $id) { kind task { status } } }"
    payload = {"query": query, "variables": {"id": str(task_id)}}
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
    await ws.recv()  # the snapshot
    return ws


def publish_task_event(client: redis.Redis, task_id: uuid.UUID) -> None:
    from timeside_gql.jobs.events import task_channel

    event = {"type": "task", "taskId": str(task_id), "status": "draft"}
    client.publish(f"{NAMESPACE}:" + task_channel(task_id), json.dumps(event))


async def client_latency(url: str, token: str, task_id: uuid.UUID, count: int) -> dict:
    """Publish on Redis → the GraphQL update arrives at a WebSocket client (server re-reads)."""
    client = redis.Redis.from_url(REDIS_URL)
    ws = await subscribe(url, token, task_id)
    latencies = []
    for _ in range(count):
        sent = time.perf_counter()
        publish_task_event(client, task_id)
        await ws.recv()
        latencies.append(time.perf_counter() - sent)
    await ws.close()
    return percentiles(latencies)


def rss_mb(pid: int) -> float:
    """Resident memory of the server (uvicorn runs the app in the process it was started as)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def fan_out(url: str, token: str, task_id: uuid.UUID, count: int, pid: int) -> dict:
    sockets = []
    for start in range(0, count, 50):  # connect in waves: the server accepts, then subscribes
        wave = min(50, count - start)
        sockets += await asyncio.gather(*(subscribe(url, token, task_id) for _ in range(wave)))
    idle_rss = rss_mb(pid)
    client = redis.Redis.from_url(REDIS_URL)
    sent = time.perf_counter()
    publish_task_event(client, task_id)
    await asyncio.gather(*(ws.recv() for ws in sockets))
    elapsed = time.perf_counter() - sent
    await asyncio.gather(*(ws.close() for ws in sockets))
    return {"subscribers": count, "all_received_s": elapsed, "rss_mb": idle_rss}


# ---------------------------------------------------------------------------------------------
# Report


def report(scaling: dict, bus: dict, client: dict, fans: list[dict], baseline_rss: float) -> str:
    speedup = scaling["best"][1][0] / scaling["best"][2][0]
    lines = [
        SECTION,
        "",
        "Measured with `bench/bench_workers.py` (reproduce: `python bench/bench_workers.py "
        f"--items {scaling['items']} --seconds {scaling['seconds']:g} --write "
        "docs/performance.md`). Production mode: PostgreSQL, Redis, real `timeside-gql worker` "
        "and `timeside-gql serve` processes.",
        "",
        f"**Machine**: {machine()} (shared with other jobs; load average when the report "
        "was written).",
        "",
        f"**Worker scaling.** A selection of {scaling['items']} synthetic files of "
        f"{scaling['seconds']:g} s (44.1 kHz stereo), the core's default experience (10 "
        "presets, one decode per item), timed from `runTask` to the task's end; results "
        "deleted between the runs, workers started and warmed up before the clock starts.",
        "",
        "| worker processes | wall time s | items per s | jobs running at once | 1-min load |",
        "|---|---|---|---|---|",
        *(
            f"| {p} | {wall:.2f} | {scaling['items'] / wall:.2f} | {concurrency:.2f} | {load:.1f} |"
            for p, (wall, concurrency, load) in scaling["best"].items()
        ),
        "",
        f"Speed-up with 2 processes: **{speedup:.2f}x** (target: 1.7x on 2 otherwise idle "
        "cores). Best of "
        f"{scaling['repeat']} runs each; *jobs running at once* is the sum of the jobs' "
        "durations over the wall time (2.00: both processes busy all the time); the load "
        "average counts the other users of the machine too.",
        "",
        "**Event latency** (ms), from `publish` to the subscriber:",
        "",
        "| path | p50 | p95 | p99 | max |",
        "|---|---|---|---|---|",
        "| Redis bus: worker thread → subscriber queue in another client | "
        + " | ".join(f"{bus[k]:.2f}" for k in ("p50", "p95", "p99", "max"))
        + " |",
        "| Redis → server (one listener, task re-read) → WebSocket client | "
        + " | ".join(f"{client[k]:.2f}" for k in ("p50", "p95", "p99", "max"))
        + " |",
        "",
        "**Concurrent subscribers on one server process** (one Redis listener fanned out; "
        "subscribers with the same visibility share one re-read of the rows per event). "
        f"Server RSS at rest: {baseline_rss:.0f} MB.",
        "",
        "| subscribers | one event reaches all of them, s | server RSS MB |",
        "|---|---|---|",
        *(f"| {f['subscribers']} | {f['all_received_s']:.2f} | {f['rss_mb']:.0f} |" for f in fans),
        "",
    ]
    return "\n".join(wrap(line) for line in lines)


def wrap(line: str, width: int = 92) -> str:
    """Prose wrapped like the rest of performance.md; table rows left whole."""
    return line if line.startswith("|") else textwrap.fill(line, width, break_on_hyphens=False)


def write_section(path: Path, text: str, section: str = SECTION) -> None:
    """Replace ``section`` (up to the next ``## ``) or append it."""
    content = path.read_text() if path.exists() else "# Performance\n"
    start = content.find(section)
    if start < 0:
        content = content.rstrip("\n") + "\n\n" + text
    else:
        end = content.find("\n## ", start + len(section))
        content = content[:start] + text + ("" if end < 0 else content[end:])
    path.write_text(content)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--repeat", type=int, default=3, help="runs per worker count")
    parser.add_argument("--latency", type=int, default=300, help="events per latency measure")
    parser.add_argument("--subscribers", default="100,500,1000")
    parser.add_argument("--write", type=Path, help="update this performance.md")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="timeside-bench-") as folder:
        deployment = Deployment(Path(folder))
        try:
            run_id, draft_id, token = build_tasks(args.items, args.seconds)
            print("worker scaling", flush=True)
            scaling = measure_scaling(deployment, run_id, args.items, args.seconds, args.repeat)
            print("event latency", flush=True)
            bus = asyncio.run(bus_latency(args.latency))
            with deployment.server() as (url, server):
                baseline = rss_mb(server.pid)
                client = asyncio.run(client_latency(url, token, draft_id, args.latency))
                fans = []
                for count in (int(n) for n in args.subscribers.split(",")):
                    print(f"{count} subscribers", flush=True)
                    fans.append(asyncio.run(fan_out(url, token, draft_id, count, server.pid)))
        finally:
            deployment.close()
    text = report(scaling, bus, client, fans, baseline)
    print(text)
    if args.write:
        write_section(args.write, text)


if __name__ == "__main__":
    main()
