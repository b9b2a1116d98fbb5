"""End to end with real processes: ``timeside-gql serve`` (uvicorn) and, in production mode,
``timeside-gql worker`` processes on Redis and PostgreSQL; in embedded mode the same flow on
SQLite with the server's in-process worker. Progress is followed over a real WebSocket."""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.db import factories
from tests.jobs.live import Deployment, follow_task, graphql, instance_env
from tests.jobs.world import World, build_world, expected_peak_db, snapshot
from tests.services import need_redis
from timeside_gql.core import hdf5
from timeside_gql.db.engine import create_engine
from timeside_gql.db.migrate import upgrade
from timeside_gql.db.models import Job, Result, ResultStatus, TaskStatus

pytestmark = pytest.mark.slow

RUN = "mutation($id: UUID!) { runTask(id: $id) { __typename ... on Task { status } } }"
#: Short in tests, so a killed worker's messages come back within seconds.
HEARTBEAT_TIMEOUT_S = "2"


@pytest.fixture(params=["production", pytest.param("embedded")])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def deployment(
    mode: str, request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[Deployment, Engine, Path]]:
    """A deployment's environment, its database (migrated) and its data dir; processes are
    started by the test and stopped here."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    extra = {"TIMESIDE_WORKER_HEARTBEAT_TIMEOUT": HEARTBEAT_TIMEOUT_S}
    if mode == "production":
        extra["TIMESIDE_REDIS_URL"] = need_redis()
        server = request.getfixturevalue("postgres_server")
        db_url = server.create()
        # Queues and channels of their own: other runs may share this Redis.
        extra["TIMESIDE_REDIS_NAMESPACE"] = f"test-{secrets.token_hex(4)}"
    else:
        db_url = f"sqlite:///{tmp_path / 'timeside.db'}"
    upgrade(db_url)
    env = instance_env(data_dir, db_url) | extra
    engine = create_engine(db_url)
    live = Deployment(env=env, logs=tmp_path)
    yield live, engine, data_dir
    live.stop()
    engine.dispose()
    if mode == "production":
        server.drop(db_url)


def start(live: Deployment, mode: str, *, workers: int = 1) -> str:
    url = live.serve()
    if mode == "production":
        live.worker(processes=workers)
    return url


def run_and_follow(url: str, token: str, world: World, **kwargs: Any) -> list[dict[str, Any]]:
    """runTask, then follow the task (a re-run may end before the subscription starts)."""
    assert graphql(url, token, RUN, id=str(world.task_id))["runTask"]["status"] == "PENDING"
    return asyncio.run(follow_task(url, token, world.task_id, **kwargs))


def follow_then_run(url: str, token: str, world: World) -> list[dict[str, Any]]:
    """Subscribe to the draft task, then run it once its snapshot arrived: no event missed."""

    async def scenario() -> list[dict[str, Any]]:
        subscribed = asyncio.Event()
        following = asyncio.create_task(
            follow_task(url, token, world.task_id, on_update=lambda _: subscribed.set())
        )
        await subscribed.wait()
        run = await asyncio.to_thread(graphql, url, token, RUN, id=str(world.task_id))
        assert run["runTask"]["status"] == "PENDING"
        return await following

    return asyncio.run(scenario())


def test_selection_task_streams_progress_and_records_the_failing_preset(mode, deployment):
    live, engine, data_dir = deployment
    world = build_world(engine, data_dir, seconds=5.0)
    url = start(live, mode, workers=2)
    updates = follow_then_run(url, factories.token(engine, world.owner_id), world)

    assert updates[0]["kind"] == "SNAPSHOT" and updates[0]["task"]["status"] == "DRAFT"
    progress = [u["job"]["progress"] for u in updates if u["kind"] == "JOB"]
    assert progress and all(0.0 <= p <= 1.0 for p in progress)
    assert sum(u["kind"] == "RESULT" for u in updates) == 3 * 4
    assert updates[-1]["task"] == {
        "status": "FAILED",
        "itemsTotal": 3,
        "itemsDone": 0,
        "itemsFailed": 3,
    }
    _, jobs, results = snapshot(engine, world.task_id)
    assert all(job.error.startswith("1 of 4 presets failed: level: ") for job in jobs)
    for result in results:
        if result.preset_id == world.preset_ids["bad"]:
            assert result.status == ResultStatus.FAILED
            assert "no_such_parameter" in result.error
            continue
        assert result.status == ResultStatus.DONE
        if result.preset_id == world.preset_ids["level"]:
            values = {r.id: r.data.item() for r in hdf5.read(data_dir / result.hdf5_path)}
            peak = expected_peak_db(world.amplitudes[result.item_id])
            assert values["level.max"] == pytest.approx(peak, abs=0.05)


def test_a_second_run_computes_nothing(mode, deployment):
    live, engine, data_dir = deployment
    world = build_world(engine, data_dir, failing=False)
    url = start(live, mode)
    token = factories.token(engine, world.owner_id)
    first = follow_then_run(url, token, world)
    assert first[-1]["task"]["status"] == "DONE"
    _, _, before = snapshot(engine, world.task_id)

    second = run_and_follow(url, token, world)

    assert second[-1]["task"]["status"] == "DONE"
    # Reused results stream as cached (a fast run may end before the client subscribes: then
    # the snapshot alone arrives, already done).
    assert all(u["cached"] for u in second if u["kind"] == "RESULT")
    _, _, after = snapshot(engine, world.task_id)

    def state(rows: list[Result]) -> dict[Any, tuple[Any, ...]]:
        files = [(data_dir / (r.hdf5_path or r.file_path)).stat().st_mtime_ns for r in rows]
        return {r.id: (r.updated_at, r.run_time, f) for r, f in zip(rows, files, strict=True)}

    assert state(after) == state(before)  # no row rewritten, no file rewritten: nothing ran


@pytest.mark.parametrize("mode", ["production"])
def test_a_worker_killed_mid_job_is_replaced_and_the_task_completes(mode, deployment):
    live, engine, data_dir = deployment
    world = build_world(
        engine, data_dir, seconds=90.0, failing=False, pids=("essentia_dissonance", "level")
    )
    url = live.serve()
    first = live.worker()
    killed: list[dict[str, Any]] = []

    subscribed = asyncio.Event()

    def kill_mid_job(update: dict[str, Any]) -> None:
        subscribed.set()
        job = update["job"]
        if not killed and update["kind"] == "JOB" and job and 0 < job["progress"] < 1:
            live.kill(first)
            killed.append(job)

    async def scenario() -> list[dict[str, Any]]:
        token = factories.token(engine, world.owner_id)
        following = asyncio.create_task(
            follow_task(url, token, world.task_id, on_update=kill_mid_job, timeout=180)
        )
        await subscribed.wait()
        await asyncio.to_thread(graphql, url, token, RUN, id=str(world.task_id))
        while not killed and not following.done():
            await asyncio.sleep(0.05)
        await asyncio.to_thread(live.worker)
        return await following

    updates = asyncio.run(scenario())

    assert killed, "the job ended before the worker could be killed mid-way"
    assert updates[-1]["task"]["status"] == "DONE"
    task, _, results = snapshot(engine, world.task_id)
    assert task.status == TaskStatus.DONE and task.items_done == 3
    with Session(engine) as session:
        retried = session.exec(select(Job).where(Job.id == killed[0]["id"])).one()
    assert retried.attempts == 2
    assert Counter((r.item_id, r.preset_id) for r in results) == Counter(
        {(i, p): 1 for i in world.item_ids for p in world.preset_ids.values()}
    )
    assert all(r.status == ResultStatus.DONE for r in results)
    for result in results:
        assert hdf5.read(data_dir / result.hdf5_path)
    assert not list(data_dir.glob("results/**/.*.tmp"))
