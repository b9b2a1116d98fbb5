"""The nested read against the engine's floor (issue 12): the real server vs bare Strawberry.

    PYTHONPATH=src python bench/bench_nested.py [--embedded] [--sizes 10,50,100] [--repeat 30]

Starts and seeds a deployment as bench_load.py does (production: PostgreSQL, Redis, a ``serve``
and job workers; ``--embedded``: SQLite), so that each item has the default experience's 10
results. Then, for each size N, one client sends ``bench_load.nested_query(N)`` ``--repeat``
times (after 3 warm-ups) to (a) the real server and (b) a bare Strawberry schema of the same
shape answering from memory what the real server returned, served the same way (a subprocess
running ``uvicorn.run`` with uvicorn's defaults, as ``serve`` does), alternating between the
two so that both see the same load from the machine's other users. Prints p50 latency and
server CPU per query (user + system of the server's processes; PostgreSQL's own CPU is not
counted) for both, and their ratio; issue 12's target is at most 1.5x. Every bare answer must
equal the real one, so both put the same bytes on the wire.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bare
import httpx
from bench_core import machine
from bench_load import (
    Stack,
    World,
    cpu_seconds,
    deployed,
    deployment_options,
    nested_query,
    wrap,
)
from strawberry.asgi import GraphQL
from tests.jobs.live import free_port, wait_for_process

WARM_UP = 3


# ---------------------------------------------------------------------------------------------
# The floor: the same shape from memory


def bare_app(data: dict[str, Any]) -> GraphQL[Any, Any]:
    """The bare schema (bench/bare.py) answering what the real server returned."""
    return bare.bare_app(bare.items_of(data))


def serve_bare(data_file: Path, port: int) -> None:
    import uvicorn

    uvicorn.run(bare_app(json.loads(data_file.read_text())), host="127.0.0.1", port=port)


def start_bare(stack: Stack, data: dict[str, Any]) -> str:
    """The bare server in a subprocess of the stack (so ``Stack.close`` stops it); its URL."""
    data_file = stack.folder / "floor.json"
    data_file.write_text(json.dumps(data))
    port = free_port()
    with open(stack.folder / "bare.log", "wb") as out:
        process = subprocess.Popen(
            [sys.executable, __file__, "--bare", str(data_file), "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    stack.processes["bare"].append(process)
    url = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            return httpx.post(f"{url}/graphql", json={"query": "{__typename}"}).is_success
        except httpx.TransportError:
            return False

    wait_for_process(answers, "bare server", process)
    return url


# ---------------------------------------------------------------------------------------------
# Measure


@dataclass
class Figures:
    p50_ms: float
    cpu_ms: float

    def __str__(self) -> str:
        return f"p50 {self.p50_ms:.1f} ms, server CPU {self.cpu_ms:.1f} ms per query"


@dataclass
class Server:
    """A server under measure: a client, the process groups whose CPU it uses, a tally."""

    client: httpx.Client
    leaders: list[int]
    latencies: list[float] = field(default_factory=list)
    cpu_s: float = 0.0

    def cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.leaders)

    def ask(self, query: str) -> Any:
        """One query, timed; its data."""
        started = time.perf_counter()
        response = self.client.post("/graphql", json={"query": query})
        self.latencies.append(time.perf_counter() - started)
        body = response.json()
        if "errors" in body:
            raise RuntimeError(body["errors"])
        return body["data"]

    def figures(self) -> Figures:
        latencies, self.latencies = self.latencies, []
        return Figures(1000 * statistics.median(latencies), 1000 * self.cpu_s / len(latencies))


def measure(real: Server, bare: Server, query: str, repeat: int) -> tuple[Figures, Figures, Any]:
    """``repeat`` queries to each server, alternating, so both see the same load from the
    machine's other users; each server's CPU is its own processes' (the other is idle
    meanwhile, except for the request on the wire)."""
    for _ in range(WARM_UP):
        real.ask(query), bare.ask(query)
    real.latencies, bare.latencies = [], []
    before = real.cpu(), bare.cpu()
    for _ in range(repeat):
        data, floor = real.ask(query), bare.ask(query)
        if data != floor:
            raise RuntimeError("the bare answer differs from the real one")
    real.cpu_s, bare.cpu_s = real.cpu() - before[0], bare.cpu() - before[1]
    return real.figures(), bare.figures(), data


def compare(stack: Stack, world: World, sizes: list[int], repeat: int) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {world.token}"}
    client = httpx.Client(base_url=stack.url, headers=headers, timeout=60)
    real = Server(client, [p.pid for p in stack.processes["serve"]])
    bare_url = start_bare(stack, real.ask(nested_query(max(sizes))))
    bare = Server(httpx.Client(base_url=bare_url, timeout=60), [stack.processes["bare"][0].pid])
    runs = []
    for size in sizes:
        served, floor, data = measure(real, bare, nested_query(size), repeat)
        runs.append({"size": size, "real": served, "bare": floor, "data": data})
        print(f"  {size} items: real {served}; bare {floor}", flush=True)
    return runs


def report(mode: str, runs: list[dict[str, Any]], repeat: int) -> str:
    def row(run: dict[str, Any]) -> str:
        real, bare = run["real"], run["bare"]
        results = sum(len(e["node"]["results"]) for e in run["data"]["items"]["edges"])
        return (
            f"| {run['size']} | {results} | {real.p50_ms:.1f} | {bare.p50_ms:.1f} "
            f"| **{real.p50_ms / bare.p50_ms:.1f}x** | {real.cpu_ms:.1f} | {bare.cpu_ms:.1f} "
            f"| **{real.cpu_ms / bare.cpu_ms:.1f}x** |"
        )

    return "\n".join(
        [
            f"**{mode}**, {repeat} queries per size to each server, alternating, one client:",
            "",
            "| items | results | p50 ms | floor p50 ms | ratio | server CPU ms/query "
            "| floor CPU ms/query | ratio |",
            "|---|---|---|---|---|---|---|---|",
            *(row(run) for run in runs),
        ]
    )


def main() -> None:
    parser = deployment_options(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    parser.add_argument("--sizes", default="10,50,100", help="items per query")
    parser.add_argument("--repeat", type=int, default=30, help="queries per size and server")
    parser.add_argument("--bare", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        serve_bare(args.bare, args.port)
        return
    sizes = sorted(int(n) for n in args.sizes.split(","))
    if not 0 < args.repeat <= 1000 or sizes[-1] > args.items:
        raise SystemExit("--repeat in (0, 1000], sizes at most --items")
    with tempfile.TemporaryDirectory(prefix="timeside-nested-") as folder:
        runs = deployed(
            args, Path(folder), lambda stack, world: compare(stack, world, sizes, args.repeat)
        )
    mode = "Embedded (SQLite)" if args.embedded else "Production (PostgreSQL)"
    print(f"Machine: {machine()}\n\n{wrap(report(mode, runs, args.repeat))}")


if __name__ == "__main__":
    main()
