"""Benchmark nested reads against the engine's floor: our app vs a bare Strawberry schema.

    python bench/bench_nested_inprocess.py [--items 10,50,100] [--results 10] [--runs 40]
                                 [--backend sqlite|postgresql] [--profile 50]

Both sides are served through the same ASGI entrance (``POST /graphql``, JSON in and out), in
this process, one request at a time, so the figures compare server work only: the wall time
per request (p50) and the process CPU time per request (p50; worker threads included). The
app reads a migrated database (a temporary SQLite file, or a fresh PostgreSQL database at
TIMESIDE_TEST_DATABASE_URL) seeded with ``items`` public items x ``results`` results, each
result with its own preset and a processor; the bare schema returns the same shape from
lists in memory, with plain attributes and no loaders. ``--profile N`` prints a cProfile
profile of the app at N items instead.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bare
import sqlalchemy as sa
from bench_core import machine
from sqlmodel import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from timeside_gql.db import models as m  # noqa: E402
from timeside_gql.db.engine import create_engine  # noqa: E402
from timeside_gql.db.migrate import upgrade  # noqa: E402
from timeside_gql.http.app import create_app  # noqa: E402
from timeside_gql.settings import Settings  # noqa: E402

PG_URL = os.environ.get(
    "TIMESIDE_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
QUERY = """query($first: Int!) { items(first: $first) { edges { node {
  id title audioDuration
  results { id status runTime preset { id parameters processor { id pid version } } }
} } } }"""

App = Callable[..., Awaitable[None]]


# ---------------------------------------------------------------------------------------------
# The floor: the same shape from memory


def bare_items(count: int, results: int) -> list[bare.Item]:
    processor = bare.Processor(id=uuid.uuid4(), pid="level", version="1.0")
    return [
        bare.Item(
            id=uuid.uuid4(),
            title=f"item {i}",
            audio_duration=60.0,
            results=[
                bare.Result(
                    id=uuid.uuid4(),
                    status=bare.ResultStatus.DONE,
                    run_time=0.5,
                    preset=bare.Preset(id=uuid.uuid4(), parameters={"n": j}, processor=processor),
                )
                for j in range(results)
            ],
        )
        for i in range(count)
    ]


# ---------------------------------------------------------------------------------------------
# The app over a seeded database


def seed(url: str, count: int, results: int) -> None:
    engine = create_engine(url)
    with Session(engine) as session:
        processors = [
            m.Processor(pid=f"proc{j}", version="1.0", kind=m.ProcessorKind.ANALYZER)
            for j in range(3)
        ]
        presets = [
            m.Preset(
                processor_id=processors[j % 3].id, parameters={"n": j}, parameters_hash=f"h{j}"
            )
            for j in range(results)
        ]
        session.add_all([*processors, *presets])
        for i in range(count):
            item = m.Item(title=f"item {i}", audio_duration=60.0)
            session.add(item)
            session.add_all(
                m.Result(item_id=item.id, preset_id=p.id, status=m.ResultStatus.DONE, run_time=0.5)
                for p in presets
            )
        session.commit()
    engine.dispose()


@dataclass
class Database:
    url: str
    cleanup: Callable[[], None]


def database(backend: str, folder: Path) -> Database:
    if backend == "sqlite":
        return Database(f"sqlite:///{folder / 'bench.db'}", lambda: None)
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    name = f"timeside_bench_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")

    def drop() -> None:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE {name} WITH (FORCE)")

    return Database(sa.make_url(PG_URL).set(database=name).render_as_string(False), drop)


# ---------------------------------------------------------------------------------------------
# Measuring


async def post(app: App, body: bytes) -> bytes:
    """One POST /graphql through the ASGI interface; the response body."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"host", b"bench")],
        "client": ("127.0.0.1", 1),
        "server": ("bench", 80),
    }
    sent = False
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return b"".join(chunks)


async def measure(apps: list[App], first: int, runs: int) -> list[tuple[float, float, float]]:
    """p50 wall, p50 CPU and lowest CPU milliseconds of the nested query at ``first`` items,
    per app.

    The apps take turns request by request, so a change in the machine's load (shared here)
    weighs on both sides of a ratio alike; the lowest CPU is the run least disturbed by the
    machine's other users (on a loaded machine the median moves by a fifth between runs).
    """
    body = json.dumps({"query": QUERY, "variables": {"first": first}}).encode()
    for app in apps:
        answer = json.loads(await post(app, body))
        assert "errors" not in answer and len(answer["data"]["items"]["edges"]) == first, answer
        for _ in range(3):
            await post(app, body)
    walls: list[list[float]] = [[] for _ in apps]
    cpus: list[list[float]] = [[] for _ in apps]
    for _ in range(runs):
        for app, app_walls, app_cpus in zip(apps, walls, cpus, strict=True):
            wall, cpu = time.perf_counter(), time.process_time()
            await post(app, body)
            app_cpus.append(time.process_time() - cpu)
            app_walls.append(time.perf_counter() - wall)
    return [
        (statistics.median(w) * 1000, statistics.median(c) * 1000, min(c) * 1000)
        for w, c in zip(walls, cpus, strict=True)
    ]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", default="10,50,100")
    parser.add_argument("--results", type=int, default=10)
    parser.add_argument("--runs", type=int, default=40)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--profile", type=int, default=0, help="profile the app at N items")
    args = parser.parse_args()
    sizes = [int(n) for n in args.items.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        db = database(args.backend, Path(tmp))
        try:
            upgrade(db.url)
            seed(db.url, max([*sizes, args.profile]), args.results)
            settings = Settings(data_dir=Path(tmp), database_url=db.url, playground=False)
            engine = create_engine(db.url)
            app = create_app(settings, engine=engine)
            if args.profile:
                await profile(app, args.profile)
            else:
                await compare(app, sizes, args)
            engine.dispose()
        finally:
            db.cleanup()


async def compare(app: App, sizes: list[int], args: argparse.Namespace) -> None:
    floor = bare.bare_app(bare_items(max(sizes), args.results))
    print(f"Machine: {machine()}; backend {args.backend}; {args.results} results per item")
    print(
        "| items | app p50 ms | app CPU ms p50 (lowest) | floor p50 ms "
        "| floor CPU ms p50 (lowest) | ratio p50 | ratio CPU p50 (lowest) |"
    )
    print("|---|---|---|---|---|---|---|")
    for n in sizes:
        (wall, cpu, low), (bare_wall, bare_cpu, bare_low) = await measure(
            [app, floor], n, args.runs
        )
        print(
            f"| {n} | {wall:.1f} | {cpu:.1f} ({low:.1f}) | {bare_wall:.1f} "
            f"| {bare_cpu:.1f} ({bare_low:.1f}) | {wall / bare_wall:.2f}x "
            f"| {cpu / bare_cpu:.2f}x ({low / bare_low:.2f}x) |"
        )


async def profile(app: App, first: int) -> None:
    body = json.dumps({"query": QUERY, "variables": {"first": first}}).encode()
    await post(app, body)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(10):
        await post(app, body)
    profiler.disable()
    stats = pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "tottime"))
    stats.print_stats(os.environ.get("FILTER", ""), 40)


if __name__ == "__main__":
    asyncio.run(main())
