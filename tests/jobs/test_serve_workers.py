"""``serve --workers N``: several server processes on one port, in production mode only."""

from __future__ import annotations

import asyncio
import re
import secrets
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PostgresServer
from tests.db import factories
from tests.jobs.live import BIN, Deployment, follow_task, graphql, instance_env
from tests.jobs.world import build_world
from tests.services import need_redis
from timeside_gql.db.engine import create_engine
from timeside_gql.db.migrate import upgrade

pytestmark = pytest.mark.slow

RUN = "mutation($id: UUID!) { runTask(id: $id) { __typename ... on Task { status } } }"


def test_several_processes_are_refused_without_redis_and_postgresql(tmp_path: Path) -> None:
    env = instance_env(tmp_path, f"sqlite:///{tmp_path / 'timeside.db'}")
    done = subprocess.run(
        [str(BIN), "serve", "--workers", "2"], env=env, capture_output=True, timeout=60
    )
    assert done.returncode == 2
    assert "TIMESIDE_REDIS_URL" in done.stderr.decode()
    assert "PostgreSQL" in done.stderr.decode()


@pytest.mark.postgres
def test_two_processes_answer_and_each_subscription_follows_the_task(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    db_url = postgres_server.create()
    upgrade(db_url)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    namespace = f"test-{secrets.token_hex(4)}"
    env = instance_env(data_dir, db_url) | {
        "TIMESIDE_REDIS_URL": need_redis(),
        "TIMESIDE_REDIS_NAMESPACE": namespace,
    }
    engine = create_engine(db_url)
    live = Deployment(env=env, logs=tmp_path)
    try:
        world = build_world(engine, data_dir, failing=False)
        token = factories.token(engine, world.owner_id)
        url = live.serve(workers=2)
        live.worker()
        log = (tmp_path / "serve-0.log").read_text(errors="replace")
        assert len(set(re.findall(r"Started server process \[(\d+)\]", log))) == 2, log
        for _ in range(8):  # fresh connections, spread over both processes by the kernel
            with httpx.Client() as client:
                body = client.post(f"{url}/graphql", json={"query": "{ __typename }"}).json()
                assert body == {"data": {"__typename": "Query"}}
        streams = asyncio.run(follow_twice_then_run(url, token, world.task_id))
        for updates in streams:
            assert updates[0]["kind"] == "SNAPSHOT"
            assert updates[-1]["task"]["status"] == "DONE", updates[-1]
            assert sum(u["kind"] == "RESULT" for u in updates) == 3 * 3
    finally:
        live.stop()
        engine.dispose()
        postgres_server.drop(db_url)


async def follow_twice_then_run(url: str, token: str, task_id: Any) -> list[list[dict[str, Any]]]:
    """Two subscriptions on two WebSocket connections, then runTask on a third connection."""
    ready = [asyncio.Event(), asyncio.Event()]
    follows = [
        asyncio.create_task(follow_task(url, token, task_id, on_update=lambda _, e=e: e.set()))
        for e in ready
    ]
    await asyncio.gather(*(e.wait() for e in ready))
    run = await asyncio.to_thread(graphql, url, token, RUN, id=str(task_id))
    assert run["runTask"]["status"] == "PENDING"
    return list(await asyncio.gather(*follows))
