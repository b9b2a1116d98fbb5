"""Load benchmark: many concurrent API clients against real server processes (loopback only).

    PYTHONPATH=src python bench/bench_load.py [--embedded] [--clients 100 --duration 60]
        [--subscriptions 20] [--items 100] [--serve-workers 1] [--job-workers 2]

Production mode (default): a fresh PostgreSQL database on 127.0.0.1:5432 (user postgres, trust;
dropped at the end), Redis 127.0.0.1:6379 database 13 under a key prefix of its own (deleted at
the end), one ``timeside-gql serve`` (``--workers N`` when ``--serve-workers`` > 1) and
``--job-workers`` ``timeside-gql worker --processes 1`` processes, on free ports. ``--embedded``:
SQLite and the in-process worker of ``serve``, no Redis.

Seeding goes through the public interfaces: a user and token from the ``timeside-gql``
commands, ``--items`` synthetic WAVs uploaded to ``POST /media/items`` (ingested by the
workers: probe and waveform), then by GraphQL the default experience's presets, a selection of
the items and a task over it (10 results per item), and one annotation track per item.

Load: ``--subscriptions`` WebSockets (graphql-transport-ws) follow ``itemUpdates`` while
``--clients`` coroutines (one httpx AsyncClient, HTTP/1.1 keep-alive) send requests back to
back for ``--duration`` seconds with the mix of ``MIX``. Reported: requests per second, p50,
p95 and p99 per kind and overall, errors (count and first messages), RSS of the server and
worker processes, server CPU seconds per request, and the CPU used by this client (a client
near 1.0 core would be the bottleneck). Every process started is killed at exit, and the run
stops by itself: requests time out after ``--timeout`` s, and the whole run after
``--deadline`` s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import soundfile as sf
import websockets

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: shared process helpers

from bench_core import machine, synth_segment
from tests.jobs.live import free_port, wait_for_process

BIN = Path(sys.executable).parent / "timeside-gql"
PG_ADMIN_URL = os.environ.get(
    "TIMESIDE_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("TIMESIDE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")
READY_TIMEOUT_S = 120.0
SR = 22050

# ---------------------------------------------------------------------------------------------
# Queries


def nested_query(first: int) -> str:
    """The frontends' nested read of issue 12: items with their results, presets, processors."""
    return (
        f"{{ items(first: {first}) {{ edges {{ node {{ id title audioDuration results {{ id "
        "status runTime preset { id parameters processor { id pid version } } } } } } }"
    )


ITEM_PAGE = """query($id: UUID!) { item(id: $id) { id title artist album audioDuration samplerate
  channels ingestStatus streamUrl tags { name }
  annotationTracks { id title annotations { id start stop title } }
  results { id status runTime preset { id processor { pid name } } } } }"""
SERIES = """query($id: UUID!, $start: Float!, $stop: Float!) { result(id: $id) {
  series(output: "loudness_itu.momentary", start: $start, stop: $stop, maxPoints: 1000) {
    start stop count step times values } } }"""
WAVEFORM = """query($id: UUID!, $start: Float!, $stop: Float!) { item(id: $id) {
  waveform(start: $start, stop: $stop, pixels: 1000) { start stop step times min max } } }"""
ANNOTATE = """mutation($track: UUID!, $input: AnnotationInput!) {
  createAnnotation(trackId: $track, input: $input) {
    __typename ... on Annotation { id } ... on Error { message } } }"""
PROTOCOL: Any = "graphql-transport-ws"
ITEM_UPDATES = "subscription($id: UUID!) { itemUpdates(itemId: $id) { kind item { id } } }"

#: Share of each kind of request in the load.
MIX: dict[str, float] = {
    "nested50": 0.20,
    "nested10": 0.20,
    "item": 0.20,
    "series": 0.15,
    "waveform": 0.15,
    "annotate": 0.10,
}


# ---------------------------------------------------------------------------------------------
# Processes


def group(leader: int) -> list[int]:
    """The live processes of ``leader``'s process group (each role is started in a session of
    its own, so its forked workers are found with it)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with suppress(OSError, IndexError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[2]) == leader:
                    pids.append(int(entry.name))
    return pids


def cpu_seconds(leader: int) -> float:
    """User + system CPU of the live processes of a group."""
    total = 0
    for pid in group(leader):
        with suppress(OSError, IndexError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / TICKS


def rss_mb(leader: int) -> float:
    total = 0
    for pid in group(leader):
        with suppress(OSError, IndexError):
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return total * PAGE / 2**20


@dataclass
class Stack:
    """A deployment (database, data dir, Redis prefix) and the processes it runs; ``close``
    kills them all by process group and drops the database and the Redis keys."""

    folder: Path
    embedded: bool
    env: dict[str, str] = field(default_factory=dict)
    processes: dict[str, list[subprocess.Popen[bytes]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    db_name: str = ""
    namespace: str = ""
    url: str = ""

    def __post_init__(self) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("TIMESIDE_")}
        self.env.setdefault("NUMBA_CACHE_DIR", str(Path.home() / ".cache" / "numba"))
        self.env["TIMESIDE_DATA_DIR"] = str(self.folder / "data")
        if self.embedded:
            return
        import sqlalchemy as sa

        self.db_name = f"timeside_load_{uuid.uuid4().hex[:8]}"
        with self._admin() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {self.db_name}")
        url = sa.make_url(PG_ADMIN_URL).set(database=self.db_name)
        self.namespace = f"load-{uuid.uuid4().hex[:8]}"
        self.env |= {
            "TIMESIDE_DATABASE_URL": url.render_as_string(hide_password=False),
            "TIMESIDE_REDIS_URL": REDIS_URL,
            "TIMESIDE_REDIS_NAMESPACE": self.namespace,
        }

    @staticmethod
    def _admin() -> Any:
        import sqlalchemy as sa

        engine = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
        return engine.connect()

    def command(self, *args: str, stdin: str = "") -> str:
        """Run a ``timeside-gql`` command to its end; its stdout."""
        done = subprocess.run(
            [str(BIN), *args], env=self.env, input=stdin.encode(), capture_output=True, timeout=300
        )
        if done.returncode:
            raise RuntimeError(f"timeside-gql {args[0]}: {done.stderr.decode()[-2000:]}")
        return done.stdout.decode()

    def spawn(self, role: str, *args: str) -> subprocess.Popen[bytes]:
        log = self.folder / f"{role}-{len(self.processes[role])}.log"
        with open(log, "wb") as out:
            process = subprocess.Popen(
                [str(BIN), *args],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes[role].append(process)
        return process

    def log(self, role: str, n: int = 0) -> str:
        return (self.folder / f"{role}-{n}.log").read_text(errors="replace")

    def serve(self, workers: int) -> str:
        port = free_port()
        extra: tuple[str, ...] = ()
        if workers != 1:
            if "--workers" not in self.command("serve", "--help"):
                raise SystemExit("timeside-gql serve has no --workers option yet")
            extra = ("--workers", str(workers))
        process = self.spawn("serve", "serve", "--port", str(port), *extra)
        self.url = f"http://127.0.0.1:{port}"

        def answers() -> bool:
            try:
                response = httpx.post(f"{self.url}/graphql", json={"query": "{__typename}"})
                return response.is_success
            except httpx.TransportError:
                return False

        wait_for_process(answers, "serve", process, timeout=READY_TIMEOUT_S)
        return self.url

    def worker(self) -> None:
        n = len(self.processes["worker"])
        process = self.spawn("worker", "worker", "--processes", "1", "--threads", "1")
        wait_for_process(
            lambda: "ready for action" in self.log("worker", n),
            "worker",
            process,
            timeout=READY_TIMEOUT_S,
        )

    def close(self) -> None:
        for processes in self.processes.values():
            for process in processes:
                if process.poll() is None:
                    os.killpg(process.pid, signal.SIGTERM)
        for processes in self.processes.values():
            for process in processes:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
        if self.embedded:
            return
        with self._admin() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {self.db_name} WITH (FORCE)")
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{self.namespace}*", count=1000))
        if keys:
            client.delete(*keys)


def start(stack: Stack, *, serve_workers: int, job_workers: int) -> str:
    """Migrate, then start the server and (production) the job workers; the server's URL."""
    stack.command("migrate")
    url = stack.serve(serve_workers)
    if not stack.embedded:
        for _ in range(job_workers):
            stack.worker()
    return url


# ---------------------------------------------------------------------------------------------
# Seeding through the public API


@dataclass
class World:
    """What the load refers to: the token, items with their duration, annotation track and
    loudness result."""

    token: str
    items: list[str]
    durations: dict[str, float]
    tracks: dict[str, str]
    loudness: dict[str, str]


class Api:
    """A GraphQL client of one token; errors raise."""

    def __init__(self, url: str, token: str) -> None:
        self.client = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60
        )

    def __call__(self, query: str, **variables: Any) -> dict[str, Any]:
        body = self.client.post("/graphql", json={"query": query, "variables": variables}).json()
        if "errors" in body:
            raise RuntimeError(body["errors"])
        return body["data"]

    def mutate(self, query: str, name: str, **variables: Any) -> dict[str, Any]:
        payload = self(query, **variables)[name]
        if "message" in payload:
            raise RuntimeError(f"{name}: {payload}")
        return payload


def user_token(stack: Stack) -> str:
    stack.command("createuser", "bench", "--password-stdin", stdin="bench-password\n")
    return stack.command("token", "issue", "bench", "--name", "load").strip()


def synth_wav(path: Path, seconds: float, seed: int) -> Path:
    """Mono music-like audio (chords, drums, noise) at 22050 Hz, 16-bit."""
    signal_ = synth_segment(np.random.default_rng(seed), seconds, sr=SR)[0]
    sf.write(path, signal_, SR, subtype="PCM_16")
    return path


def upload(stack: Stack, api: Api, count: int, seconds: float) -> list[str]:
    ids = []
    for n in range(count):
        path = synth_wav(stack.folder / "upload.wav", seconds, seed=n)
        response = api.client.post(
            "/media/items",
            params={"title": f"load item {n:03d}", "filename": "item.wav"},
            content=path.read_bytes(),
        )
        response.raise_for_status()
        ids.append(response.json()["id"])
    return ids


def poll(check: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not done after {timeout} s")
        time.sleep(1.0)


def ingested(api: Api, count: int) -> bool:
    nodes = api("{ items(first: 100) { nodes { ingestStatus } } }")["items"]["nodes"]
    failed = [n for n in nodes if n["ingestStatus"] == "FAILED"]
    if failed:
        raise RuntimeError(f"{len(failed)} ingests failed")
    return sum(n["ingestStatus"] == "DONE" for n in nodes) == count


def default_experience(api: Api) -> str:
    """The core's default experience (10 presets) created through GraphQL."""
    from timeside_gql.core.experience import DEFAULT_EXPERIENCE

    found = api("{ processors(first: 100) { nodes { id pid } } }")["processors"]["nodes"]
    processors = {p["pid"]: p["id"] for p in found}
    create = """mutation($p: UUID!, $params: JSON) { createPreset(processorId: $p,
      parameters: $params) { __typename ... on Preset { id } ... on Error { message } } }"""
    presets = [
        api.mutate(create, "createPreset", p=processors[pid], params=params)["id"]
        for pid, params in DEFAULT_EXPERIENCE
    ]
    experience = """mutation($input: ExperienceInput!) { createExperience(input: $input) {
      __typename ... on Experience { id } ... on Error { message } } }"""
    input_ = {"title": "default", "presetIds": presets}
    return api.mutate(experience, "createExperience", input=input_)["id"]


def run_task(api: Api, items: list[str], timeout: float) -> None:
    selection = """mutation($input: SelectionInput!) { createSelection(input: $input) {
      __typename ... on Selection { id } ... on Error { message } } }"""
    selection_id = api.mutate(
        selection, "createSelection", input={"title": "load", "itemIds": items}
    )["id"]
    task = """mutation($input: TaskInput!) { createTask(input: $input, run: true) {
      __typename ... on Task { id } ... on Error { message } } }"""
    input_ = {"experienceId": default_experience(api), "selectionId": selection_id}
    task_id = api.mutate(task, "createTask", input=input_)["id"]

    def ended() -> bool:
        state = api("query($id: UUID!) { task(id: $id) { status error } }", id=task_id)["task"]
        if state["status"] in {"FAILED", "CANCELLED"}:
            raise RuntimeError(f"task {state}")
        return state["status"] == "DONE"

    poll(ended, "task", timeout)


def annotation_tracks(api: Api, items: list[str]) -> dict[str, str]:
    create = """mutation($item: UUID!) { createAnnotationTrack(itemId: $item,
      input: {title: "load", overlapping: true}) {
      __typename ... on AnnotationTrack { id } ... on Error { message } } }"""
    return {i: api.mutate(create, "createAnnotationTrack", item=i)["id"] for i in items}


def seed(stack: Stack, url: str, *, items: int, seconds: float, timeout: float) -> World:
    token = user_token(stack)
    api = Api(url, token)
    ids = upload(stack, api, items, seconds)
    poll(lambda: ingested(api, items), "ingest", timeout)
    run_task(api, ids, timeout)
    query = """{ items(first: 100) { nodes { id audioDuration
      results { id status preset { processor { pid } } } } } }"""
    nodes = api(query)["items"]["nodes"]
    results = sum(len(n["results"]) for n in nodes)
    done = sum(r["status"] == "DONE" for n in nodes for r in n["results"])
    print(f"  seeded {len(nodes)} items, {results} results ({done} done)", flush=True)
    return World(
        token=token,
        items=ids,
        durations={n["id"]: n["audioDuration"] for n in nodes},
        tracks=annotation_tracks(api, ids),
        loudness={
            n["id"]: r["id"]
            for n in nodes
            for r in n["results"]
            if r["preset"]["processor"]["pid"] == "loudness_itu"
        },
    )


# ---------------------------------------------------------------------------------------------
# Load


@dataclass
class Tally:
    """Latencies per kind of the requests started before the deadline, and errors."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    in_window: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    error_kinds: Counter[str] = field(default_factory=Counter)

    def error(self, kind: str, message: str) -> None:
        self.error_kinds[kind] += 1
        self.errors[message[:160]] += 1


def window(rng: random.Random, duration: float) -> tuple[float, float]:
    """A random player window: 2 s to the whole item."""
    length = rng.uniform(min(2.0, duration), duration)
    start = rng.uniform(0, duration - length)
    return round(start, 3), round(start + length, 3)


def request_for(kind: str, world: World, rng: random.Random) -> dict[str, Any]:
    item = rng.choice(world.items)
    duration = world.durations[item]
    if kind in {"nested50", "nested10"}:
        return {"query": nested_query(int(kind.removeprefix("nested")))}
    if kind == "item":
        return {"query": ITEM_PAGE, "variables": {"id": item}}
    if kind in {"series", "waveform"}:
        start, stop = window(rng, duration)
        target = world.loudness[item] if kind == "series" else item
        query = SERIES if kind == "series" else WAVEFORM
        return {"query": query, "variables": {"id": target, "start": start, "stop": stop}}
    start, stop = sorted(round(rng.uniform(0, duration), 3) for _ in range(2))
    annotation = {"start": start, "stop": stop, "title": "load"}
    return {"query": ANNOTATE, "variables": {"track": world.tracks[item], "input": annotation}}


def problem(response: httpx.Response) -> str | None:
    """Why a GraphQL answer is a failure, or None."""
    if response.status_code != 200:
        return f"HTTP {response.status_code}: {response.text[:120]}"
    body = response.json()
    if body.get("errors"):
        return str(body["errors"][0].get("message"))
    data = body.get("data") or {}
    for value in data.values():
        if value is None:
            return "null data"
        if isinstance(value, dict) and "message" in value:
            return f"{value.get('__typename')}: {value['message']}"
    return None


async def client_loop(
    client: httpx.AsyncClient, world: World, tally: Tally, deadline: float, seed_: int
) -> None:
    rng = random.Random(seed_)
    kinds, weights = list(MIX), list(MIX.values())
    while time.monotonic() < deadline:
        kind = rng.choices(kinds, weights)[0]
        body = request_for(kind, world, rng)
        started = time.monotonic()
        try:
            response = await client.post("/graphql", json=body)
            failure = problem(response)
        except httpx.HTTPError as error:
            failure = f"{type(error).__name__}: {error}"
        ended = time.monotonic()
        tally.latencies[kind].append(ended - started)
        tally.in_window += ended <= deadline
        if failure:
            tally.error(kind, failure)


@dataclass
class Subscriptions:
    opened: int = 0
    messages: int = 0
    snapshot_s: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


async def subscribe(url: str, world: World, item: str, subs: Subscriptions, stop: asyncio.Event):
    """Follow one item's updates until ``stop``; counts messages, records a failure."""
    ws_url = url.replace("http://", "ws://") + "/graphql"
    init = {"type": "connection_init", "payload": {"authorization": f"Bearer {world.token}"}}
    payload = {"query": ITEM_UPDATES, "variables": {"id": item}}
    try:
        async with websockets.connect(ws_url, subprotocols=[PROTOCOL]) as ws:
            started = time.monotonic()
            await ws.send(json.dumps(init))
            if json.loads(await ws.recv())["type"] != "connection_ack":
                raise RuntimeError("no connection_ack")
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            subs.opened += 1
            stopped = asyncio.ensure_future(stop.wait())
            while True:
                received = asyncio.ensure_future(ws.recv())
                await asyncio.wait({received, stopped}, return_when=asyncio.FIRST_COMPLETED)
                if not received.done():
                    received.cancel()
                    break
                message = json.loads(received.result())
                if message["type"] != "next" or message["payload"].get("errors"):
                    raise RuntimeError(str(message)[:160])
                if started:
                    subs.snapshot_s.append(time.monotonic() - started)
                    started = 0.0
                subs.messages += 1
            await ws.send(json.dumps({"id": "1", "type": "complete"}))
    except Exception as error:  # reported: one socket must not end the run
        subs.failures.append(f"{type(error).__name__}: {str(error)[:160]}")


async def sample(stack: Stack, peaks: dict[str, float], stop: asyncio.Event) -> None:
    """Peak RSS per role, sampled every second."""
    while not stop.is_set():
        for role, processes in stack.processes.items():
            now = sum(rss_mb(p.pid) for p in processes)
            peaks[role] = max(peaks.get(role, 0.0), now)
        with suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)


async def timed(awaitable: Awaitable[Any], timeout: float) -> None:
    with suppress(TimeoutError):
        await asyncio.wait_for(awaitable, timeout)


async def load(stack: Stack, world: World, args: argparse.Namespace) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    headers = {"Authorization": f"Bearer {world.token}"}
    stop = asyncio.Event()
    subs = Subscriptions()
    peaks: dict[str, float] = {}
    sampler = asyncio.ensure_future(sample(stack, peaks, stop))
    followers = [
        asyncio.ensure_future(subscribe(stack.url, world, item, subs, stop))
        for item in world.items[: args.subscriptions]
    ]
    await asyncio.sleep(1.0)
    tally = Tally()
    serve_leaders = [p.pid for p in stack.processes["serve"]]
    async with httpx.AsyncClient(
        base_url=stack.url, headers=headers, limits=limits, timeout=args.timeout
    ) as client:
        cpu_before = sum(cpu_seconds(pid) for pid in serve_leaders)
        client_before = time.process_time()
        started = time.monotonic()
        deadline = started + args.duration
        clients = [
            client_loop(client, world, tally, deadline, seed_=n) for n in range(args.clients)
        ]
        await timed(asyncio.gather(*clients), args.duration + args.timeout + 5)
        elapsed = time.monotonic() - started
        client_cpu = time.process_time() - client_before
        serve_cpu = sum(cpu_seconds(pid) for pid in serve_leaders) - cpu_before
    stop.set()
    await timed(asyncio.gather(*followers, sampler), 10)
    total = sum(len(v) for v in tally.latencies.values())
    return {
        "tally": tally,
        "subs": subs,
        "rss": peaks,
        "rate": tally.in_window / args.duration,
        "elapsed": elapsed,
        "requests": total,
        "serve_cpu_per_request_ms": 1000 * serve_cpu / max(total, 1),
        "serve_cores": serve_cpu / elapsed,
        "client_cores": client_cpu / elapsed,
    }


# ---------------------------------------------------------------------------------------------
# Report


def percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples) or [float("nan")]

    def at(q: float) -> float:
        return ordered[min(int(q * len(ordered)), len(ordered) - 1)] * 1000

    return {"p50": at(0.5), "p95": at(0.95), "p99": at(0.99)}


def report(mode: str, figures: dict[str, Any], args: argparse.Namespace) -> str:
    tally: Tally = figures["tally"]
    subs: Subscriptions = figures["subs"]
    everything = [x for values in tally.latencies.values() for x in values]
    rows = [(kind, tally.latencies[kind]) for kind in MIX] + [("all", everything)]

    def row(kind: str, samples: list[float]) -> str:
        p = percentiles(samples)
        errors = sum(tally.error_kinds.values()) if kind == "all" else tally.error_kinds[kind]
        return (
            f"| {kind} | {len(samples)} | {p['p50']:.0f} | {p['p95']:.0f} | {p['p99']:.0f} "
            f"| {errors} |"
        )

    rss = ", ".join(f"{role} {mb:.0f} MB" for role, mb in figures["rss"].items())
    first = "; ".join(f"{n}x {message}" for message, n in tally.errors.most_common(3)) or "none"
    snapshot = percentiles(subs.snapshot_s)["p50"]
    return "\n".join(
        [
            f"**{mode}**: {args.clients} clients for {args.duration:g} s: "
            f"**{figures['rate']:.1f} req/s**, {figures['requests']} requests, "
            f"{sum(tally.error_kinds.values())} errors (first: {first}).",
            "",
            "| kind | requests | p50 ms | p95 ms | p99 ms | errors |",
            "|---|---|---|---|---|---|",
            *(row(kind, samples) for kind, samples in rows),
            "",
            f"Server CPU: {figures['serve_cpu_per_request_ms']:.1f} ms per request "
            f"({figures['serve_cores']:.2f} cores); peak RSS: {rss}; client CPU: "
            f"{figures['client_cores']:.2f} cores. Subscriptions: {subs.opened}/"
            f"{args.subscriptions} open, {subs.messages} messages, first message p50 "
            f"{snapshot:.0f} ms, {len(subs.failures)} failed"
            + (f" ({subs.failures[0]})" if subs.failures else "")
            + ".",
        ]
    )


def wrap(text: str, width: int = 92) -> str:
    """Prose wrapped like the rest of performance.md; table rows left whole."""
    return "\n".join(
        line if line.startswith("|") else textwrap.fill(line, width, break_on_hyphens=False)
        for line in text.splitlines()
    )


def deployment_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of :func:`deployed`, shared with bench_nested.py."""
    parser.add_argument("--embedded", action="store_true", help="SQLite, in-process worker")
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--audio-seconds", type=float, default=20.0, help="length of each item")
    parser.add_argument("--serve-workers", type=int, default=1, help="serve --workers N")
    parser.add_argument("--job-workers", type=int, default=2, help="worker processes")
    parser.add_argument("--seed-timeout", type=float, default=900.0, help="ingest, analysis")
    return parser


def parser() -> argparse.ArgumentParser:
    parser = deployment_options(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--subscriptions", type=int, default=20)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    return parser


def bounded(args: argparse.Namespace) -> None:
    """Refuse runs that would not stop in reasonable time or would overload the machine."""
    limits = {"clients": 1000, "duration": 600, "subscriptions": 100}
    for name, most in limits.items():
        if not 0 < getattr(args, name) <= most:
            raise SystemExit(f"--{name} must be in (0, {most}]")
    if args.subscriptions > args.items:
        raise SystemExit("--subscriptions follow distinct items: at most --items")


def deployed(args: argparse.Namespace, folder: Path, run: Callable[[Stack, World], Any]) -> Any:
    """Start a stack, seed it, ``run`` on it; everything started is stopped whatever happens
    (SIGTERM included: it becomes SystemExit, so the ``finally`` runs)."""
    if not 0 < args.items <= 100:
        raise SystemExit("--items must be in (0, 100]: one page of items(first: 100)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    stack = Stack(folder, embedded=args.embedded)
    try:
        url = start(stack, serve_workers=args.serve_workers, job_workers=args.job_workers)
        print(f"seeding {args.items} items", flush=True)
        world = seed(
            stack, url, items=args.items, seconds=args.audio_seconds, timeout=args.seed_timeout
        )
        return run(stack, world)
    finally:
        stack.close()


def main() -> None:
    args = parser().parse_args()
    bounded(args)
    with tempfile.TemporaryDirectory(prefix="timeside-load-") as folder:

        def run(stack: Stack, world: World) -> dict[str, Any]:
            print(f"load: {args.clients} clients, {args.duration:g} s", flush=True)
            return asyncio.run(load(stack, world, args))

        figures = deployed(args, Path(folder), run)
    mode = (
        "Embedded (SQLite, in-process worker)"
        if args.embedded
        else f"Production (PostgreSQL, Redis, {args.serve_workers} serve process(es), "
        f"{args.job_workers} workers)"
    )
    text = wrap(report(mode, figures, args))
    print(f"Machine: {machine()}\n\n{text}")


if __name__ == "__main__":
    main()
