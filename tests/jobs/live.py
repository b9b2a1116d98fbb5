"""A live deployment for end-to-end tests: a real ``timeside-gql serve`` (uvicorn) subprocess,
real ``timeside-gql worker`` subprocesses, and a graphql-transport-ws client (``websockets``).
The one way tests start server processes: tests/jobs, tests/media (ingest) and tests/web use it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets

BIN = Path(sys.executable).parent / "timeside-gql"
READY_TIMEOUT_S = 60.0

UPDATES = """subscription($id: UUID!) { taskUpdates(taskId: $id) {
  kind cached task { status itemsTotal itemsDone itemsFailed }
  job { id status progress } result { id status error } } }"""


def instance_env(data_dir: Path, db_url: str) -> dict[str, str]:
    """The environment of a deployment's processes: this one's, without the ``TIMESIDE_*``
    settings of whoever runs the tests, pointed at this data dir and database."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIMESIDE_")}
    env.setdefault("NUMBA_CACHE_DIR", str(Path.home() / ".cache" / "numba"))
    return env | {"TIMESIDE_DATA_DIR": str(data_dir), "TIMESIDE_DATABASE_URL": db_url}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_process(
    check: Callable[[], bool],
    what: str,
    process: subprocess.Popen[bytes],
    *,
    timeout: float = READY_TIMEOUT_S,
) -> None:
    """Until ``check()`` holds; a process that exits first fails at once, not at the timeout.
    Shared by the tests and the bench scripts that start real processes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        if check():
            return
        time.sleep(0.1)
    raise TimeoutError(f"{what} not ready after {timeout} s")


@dataclass(frozen=True)
class Starting:
    """A worker started, not known to be ready yet."""

    process: subprocess.Popen[bytes]
    log: Path
    processes: int

    def ready(self) -> bool:
        return self.log.read_text(errors="replace").count("ready for action") >= self.processes


@dataclass
class Deployment:
    """Processes sharing one environment (database, data dir, optional Redis); all stopped by
    :meth:`stop`. Each runs in its own process group so a SIGKILL takes its children too."""

    env: dict[str, str]
    logs: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    port: int = 0

    def _spawn(self, name: str, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
        log = self.logs / f"{name}-{len(self.processes)}.log"
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

    def serve(self, *, workers: int = 1) -> str:
        """Start the server (``workers`` processes); returns its base URL once it answers."""
        self.port = free_port()
        args = ("serve", "--port", str(self.port), "--workers", str(workers))
        process, _ = self._spawn("serve", *args)
        url = f"http://127.0.0.1:{self.port}"

        def answers() -> bool:
            try:
                return httpx.post(f"{url}/graphql", json={"query": "{__typename}"}).is_success
            except httpx.TransportError:
                return False

        wait_for_process(answers, "server", process)
        return url

    def worker(self, *, processes: int = 1, threads: int = 1) -> subprocess.Popen[bytes]:
        """Start ``timeside-gql worker``; returns once every worker process is ready."""
        [process] = self.ready(self.spawn_workers(1, processes=processes, threads=threads))
        return process

    def spawn_workers(self, count: int, *, processes: int = 1, threads: int = 1) -> list[Starting]:
        """Start ``count`` workers without waiting (their warm-ups overlap whatever the caller
        starts meanwhile); :meth:`ready` waits for them."""
        args = ("worker", "--processes", str(processes), "--threads", str(threads))
        return [Starting(*self._spawn("worker", *args), processes) for _ in range(count)]

    @staticmethod
    def ready(workers: list[Starting]) -> list[subprocess.Popen[bytes]]:
        """The workers, once every process of each is ready."""
        for worker in workers:
            wait_for_process(worker.ready, "worker", worker.process)
        return [worker.process for worker in workers]

    @staticmethod
    def kill(process: subprocess.Popen[bytes]) -> None:
        """SIGKILL the process and its children (Dramatiq forks its worker processes)."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def stop(self) -> None:
        for process in self.processes:  # the leader forwards SIGTERM to its children
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def wait_until(
    check: Callable[[], bool], what: str, timeout: float = 60.0, *, every: float = 0.2
) -> None:
    """Poll ``check`` every ``every`` seconds; TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} not done after {timeout} s")
        time.sleep(every)


def upload(url: str, token: str, title: str, body: bytes) -> str:
    """POST /media/items: a new item of this audio; its id."""
    response = httpx.post(
        f"{url}/media/items",
        params={"title": title},
        content=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


#: The presets behind Item.audioAnalysis and Item.similar.
STRUCTURE = ("audio_analysis", "similarity_descriptors")
PROCESSOR = "query($pid: String) { processors(pid: $pid) { edges { node { id } } } }"
PRESET = "mutation($p: UUID!) { createPreset(processorId: $p) { ... on Preset { id } } }"
EXPERIENCE = """mutation($ids: [UUID!]) { createExperience(input: {title: "presets",
  presetIds: $ids}) { ... on Experience { id } } }"""
SELECTION = """mutation($ids: [UUID!], $public: Boolean) { createSelection(input: {title: "s",
  itemIds: $ids, isPublic: $public}) { ... on Selection { id } } }"""
TASK = """mutation($e: UUID!, $s: UUID!) { createTask(input: {experienceId: $e,
  selectionId: $s}, run: true) { ... on Task { id status } } }"""
TASK_STATUS = "query($id: UUID!) { task(id: $id) { status error } }"


def run_presets(
    url: str,
    token: str,
    pids: tuple[str, ...],
    item_ids: list[str],
    *,
    public: bool = False,
    timeout: float = 600.0,
) -> str:
    """The default presets of ``pids`` over a selection of the items, run through GraphQL
    to DONE (a FAILED task fails the test); returns the task id."""
    presets = []
    for pid in pids:
        processor = graphql(url, token, PROCESSOR, pid=pid)["processors"]["edges"][0]["node"]
        presets.append(graphql(url, token, PRESET, p=processor["id"])["createPreset"]["id"])
    experience = graphql(url, token, EXPERIENCE, ids=presets)["createExperience"]["id"]
    selection = graphql(url, token, SELECTION, ids=item_ids, public=public)["createSelection"]
    task = graphql(url, token, TASK, e=experience, s=selection["id"])["createTask"]
    assert task["status"] == "PENDING", task

    def ended() -> bool:
        status = graphql(url, token, TASK_STATUS, id=task["id"])["task"]
        assert status["status"] != "FAILED", status
        return bool(status["status"] == "DONE")

    wait_until(ended, "task", timeout)
    return str(task["id"])


def graphql(url: str, token: str, query: str, **variables: Any) -> dict[str, Any]:
    response = httpx.post(
        f"{url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def follow_task(
    url: str,
    token: str,
    task_id: object,
    *,
    on_update: Callable[[dict[str, Any]], None] | None = None,
    timeout: float = 120.0,
) -> list[dict[str, Any]]:
    """Every ``taskUpdates`` payload until the server completes the subscription."""
    ws_url = url.replace("http://", "ws://") + "/graphql"
    updates: list[dict[str, Any]] = []
    async with websockets.connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:
        init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
        await ws.send(json.dumps(init))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        payload = {"query": UPDATES, "variables": {"id": str(task_id)}}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        deadline = time.monotonic() + timeout
        while True:
            raw = await asyncio.wait_for(ws.recv(), max(deadline - time.monotonic(), 0.01))
            message = json.loads(raw)
            if message["type"] == "complete":
                return updates
            assert message["type"] == "next", message
            assert "errors" not in message["payload"], message["payload"]
            update = message["payload"]["data"]["taskUpdates"]
            updates.append(update)
            if on_update is not None:
                on_update(update)
