"""Benchmark the multi-host layout: workers that share no disk, against one shared data dir.

    python bench/bench_hosts.py [--items 8 --seconds 60 --workers 2] [--write docs/performance.md]

Needs PostgreSQL and Redis (URLs as in tests/services.py, Redis database 14 by default) and
moto's S3 server (``moto_server``, from the test extras). For each layout it starts real
processes on a fresh database: one ``timeside-gql serve`` and ``--workers`` ``timeside-gql
worker`` processes, either all on one data dir (shared disk) or each on its own empty data dir
behind one bucket; uploads ``--items`` synthetic music-like files through the server, runs the
core's default experience over a selection of them and times upload, ingest and task.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: shared process helpers

from bench_core import machine, write_synthetic
from bench_workers import REDIS_URL, write_section
from tests.jobs.live import free_port

BIN = Path(sys.executable).parent
PG_URL = os.environ.get(
    "TIMESIDE_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SECTION = "## Several hosts"
CREDENTIALS = {"TIMESIDE_S3_ACCESS_KEY_ID": "bench", "TIMESIDE_S3_SECRET_ACCESS_KEY": "bench"}


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)


def wait(check: Any, what: str, timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.2)


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code < 500
    except httpx.TransportError:
        return False


class Layout:
    """A fresh database and the environment of each process (``bucket``: own data dirs)."""

    def __init__(self, folder: Path, *, bucket: str | None, endpoint: str, workers: int) -> None:
        self.admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
        self.db_name = f"timeside_bench_{uuid.uuid4().hex[:8]}"
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {self.db_name}")
        db_url = sa.make_url(PG_URL).set(database=self.db_name).render_as_string(False)
        base = {k: v for k, v in os.environ.items() if not k.startswith("TIMESIDE_")} | {
            "TIMESIDE_DATABASE_URL": db_url,
            "TIMESIDE_REDIS_URL": REDIS_URL,
            "TIMESIDE_REDIS_NAMESPACE": f"bench-{uuid.uuid4().hex[:8]}",
            "TIMESIDE_SECRET_KEY": secrets.token_urlsafe(32),
        }
        if bucket:
            base |= CREDENTIALS | {
                "TIMESIDE_S3_BUCKET": bucket,
                "TIMESIDE_S3_ENDPOINT_URL": endpoint,
                "TIMESIDE_S3_REGION": "us-east-1",
                "TIMESIDE_S3_PREFIX": self.db_name,
            }
        names = ["server", *(f"worker-{n}" for n in range(workers))]
        self.envs = {
            name: base | {"TIMESIDE_DATA_DIR": str(folder / (name if bucket else "shared"))}
            for name in names
        }
        self.folder = folder
        self.processes: list[subprocess.Popen[bytes]] = []
        migrate = [str(BIN / "timeside-gql"), "migrate"]
        subprocess.run(migrate, env=self.envs["server"], check=True, capture_output=True)

    def start(self) -> str:
        port = free_port()
        cli = str(BIN / "timeside-gql")
        for name, env in self.envs.items():
            args = [cli, "serve", "--port", str(port)] if name == "server" else [cli, "worker"]
            self.processes.append(spawn(args, env, self.folder / f"{name}.log"))
        url = f"http://127.0.0.1:{port}"
        wait(lambda: answers(f"{url}/graphql"), "server")
        return url

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=30)
        with self.admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE {self.db_name} WITH (FORCE)")


def owner_token(db_url: str) -> str:
    """A user and an API token, written directly (the bench measures the work, not login)."""
    from timeside_gql.db import auth
    from timeside_gql.db.engine import create_engine, session_scope

    engine = create_engine(db_url)
    with session_scope(engine) as session:
        user = auth.create_user(session, "bench", secrets.token_urlsafe(12))
        secret = auth.issue_token(session, user, name="bench")[1]
    engine.dispose()
    return secret


def graphql(url: str, token: str, query: str, **variables: Any) -> dict[str, Any]:
    response = httpx.post(
        f"{url}/graphql",
        json={"query": query, "variables": variables},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


PROCESSOR = "query($pid: String) { processors(pid: $pid) { edges { node { id } } } }"
PRESET = """mutation($p: UUID!, $params: JSON) {
  createPreset(processorId: $p, parameters: $params) { ... on Preset { id } } }"""
EXPERIENCE = """mutation($ids: [UUID!]) { createExperience(input: {title: "default",
  presetIds: $ids}) { ... on Experience { id } } }"""
SELECTION = """mutation($ids: [UUID!]) { createSelection(input: {title: "bench", itemIds: $ids}) {
  ... on Selection { id } } }"""
TASK = """mutation($e: UUID!, $s: UUID!) { createTask(input: {experienceId: $e, selectionId: $s},
  run: true) { ... on Task { id } } }"""
STATUS = "query($id: UUID!) { task(id: $id) { status itemsDone itemsTotal } }"
INGESTED = "query($id: UUID!) { item(id: $id) { ingestStatus } }"


def run(layout: Layout, files: list[Path]) -> dict[str, float]:
    """Upload, ingest and the default experience over all files; seconds for each phase."""
    from timeside_gql.core.experience import DEFAULT_EXPERIENCE

    url = layout.start()
    token = owner_token(layout.envs["server"]["TIMESIDE_DATABASE_URL"])
    started = time.perf_counter()
    ids = []
    for path in files:
        response = httpx.post(
            f"{url}/media/items",
            params={"title": path.stem},
            content=path.read_bytes(),
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
        )
        ids.append(response.json()["id"])
    uploaded = time.perf_counter()
    for item_id in ids:
        wait(
            lambda i=item_id: (
                graphql(url, token, INGESTED, id=i)["item"]["ingestStatus"] in {"DONE", "FAILED"}
            ),
            "ingest",
        )
    ingested = time.perf_counter()
    presets = []
    for pid, params in DEFAULT_EXPERIENCE:
        node = graphql(url, token, PROCESSOR, pid=pid)["processors"]["edges"][0]["node"]
        presets.append(
            graphql(url, token, PRESET, p=node["id"], params=params)["createPreset"]["id"]
        )
    experience = graphql(url, token, EXPERIENCE, ids=presets)["createExperience"]["id"]
    selection = graphql(url, token, SELECTION, ids=ids)["createSelection"]["id"]
    task = graphql(url, token, TASK, e=experience, s=selection)["createTask"]["id"]
    queued = time.perf_counter()
    wait(
        lambda: graphql(url, token, STATUS, id=task)["task"]["status"] in {"DONE", "FAILED"},
        "task",
        3600,
    )
    status = graphql(url, token, STATUS, id=task)["task"]
    assert status["itemsDone"] == status["itemsTotal"] == len(files), status
    ended = time.perf_counter()
    return {
        "upload": uploaded - started,
        "ingest": ingested - uploaded,
        "task": ended - queued,
    }


def moto(port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait(lambda: answers(f"http://127.0.0.1:{port}"), "moto_server", 60)
    return process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--write", type=Path)
    args = parser.parse_args()
    import boto3

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = moto(port)
    rows = {}
    try:
        boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="bench",
            aws_secret_access_key="bench",
        ).create_bucket(Bucket="bench")
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            files = [
                write_synthetic(folder / f"track-{n}.wav", args.seconds, seed=n)
                for n in range(args.items)
            ]
            for name, bucket in (
                ("one shared data dir", None),
                ("own data dirs + bucket", "bench"),
            ):
                work = folder / name.replace(" ", "-")
                work.mkdir()
                layout = Layout(work, bucket=bucket, endpoint=endpoint, workers=args.workers)
                try:
                    rows[name] = run(layout, files)
                finally:
                    layout.stop()
                print(name, {k: round(v, 2) for k, v in rows[name].items()}, flush=True)
    finally:
        server.terminate()
        server.wait(timeout=10)
    text = report(rows, args)
    print(text)
    if args.write:
        write_section(args.write, text, SECTION)


def report(rows: dict[str, dict[str, float]], args: argparse.Namespace) -> str:
    lines = [
        SECTION,
        "",
        f"`python bench/bench_hosts.py --items {args.items} --seconds {args.seconds:g} "
        f"--workers {args.workers}`: one `serve` and {args.workers} `worker` processes on "
        f"PostgreSQL and Redis; {args.items} synthetic tracks of {args.seconds:g} s uploaded "
        "through the server, ingested, then the default experience over a selection of them. "
        "The bucket is moto's S3 server on loopback.",
        "",
        f"Machine: {machine()}",
        "",
        "| layout | upload (s) | ingest (s) | task (s) |",
        "|---|---|---|---|",
    ]
    for name, row in rows.items():
        lines.append(f"| {name} | {row['upload']:.1f} | {row['ingest']:.1f} | {row['task']:.1f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
