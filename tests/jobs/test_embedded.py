"""The whole flow in embedded mode (stub broker, in-process worker), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import pytest
from dramatiq import Worker
from sqlmodel import delete, select
from starlette.testclient import TestClient

from tests.jobs.conftest import events_until_end
from tests.jobs.world import build_world, expected_peak_db, snapshot
from timeside_gql.core import hdf5, pipeline
from timeside_gql.db.engine import session_scope
from timeside_gql.db.models import Item, JobStatus, Result, ResultStatus, Task, TaskStatus
from timeside_gql.db.visibility import SYSTEM
from timeside_gql.http.app import create_app
from timeside_gql.jobs import execution, lifecycle
from timeside_gql.jobs.broker import build_broker, set_broker
from timeside_gql.jobs.results import claim_results, store_outcome
from timeside_gql.services import tasks
from timeside_gql.storage import intake


def run(engine, task_id) -> None:
    with session_scope(engine) as session:
        tasks.run_task(session, SYSTEM, task_id)


async def test_selection_task_runs_every_preset_once_per_item(embedded, engine, data_dir):
    world = build_world(engine, data_dir)
    listening = asyncio.create_task(events_until_end(embedded, world.task_id))
    await asyncio.sleep(0)
    await asyncio.to_thread(run, engine, world.task_id)
    events = await listening

    task, jobs, results = snapshot(engine, world.task_id)
    assert task.status == TaskStatus.FAILED  # the bad preset failed on every item
    assert (task.items_total, task.items_done, task.items_failed) == (3, 0, 3)
    assert sorted(job.item_id for job in jobs) == sorted(world.item_ids)
    assert all(job.status == JobStatus.FAILED and job.progress == 1.0 for job in jobs)
    assert all("1 of 4 presets failed: level: " in job.error for job in jobs)

    assert len(results) == 3 * 4
    by_key = {(r.item_id, r.preset_id): r for r in results}
    for item_id, amplitude in world.amplitudes.items():
        bad = by_key[item_id, world.preset_ids["bad"]]
        assert bad.status == ResultStatus.FAILED
        assert "no_such_parameter" in bad.error
        level = by_key[item_id, world.preset_ids["level"]]
        assert level.status == ResultStatus.DONE
        assert level.hdf5_path == f"results/{item_id}/{level.id}.hdf5"
        values = {r.id: r.data.item() for r in hdf5.read(data_dir / level.hdf5_path)}
        assert values["level.max"] == pytest.approx(expected_peak_db(amplitude), abs=0.05)
        assert values["level.rms"] == pytest.approx(expected_peak_db(amplitude) - 3.01, abs=0.05)
        png = by_key[item_id, world.preset_ids["waveform_simple"]]
        assert png.mime_type == "image/png"
        assert (data_dir / png.file_path).read_bytes().startswith(b"\x89PNG")
    assert not list(data_dir.glob("results/**/.*.tmp"))

    kinds = [event["type"] for event in events]
    assert kinds[0] == "task" and events[0]["status"] == "pending"
    assert {"job", "result"} <= set(kinds)
    progress = [e["progress"] for e in events if e["type"] == "job" and e["status"] == "running"]
    assert progress and max(progress) <= 1.0
    assert sum(e["type"] == "result" for e in events) == 12


async def test_second_run_reuses_every_result_without_computing(embedded, engine, data_dir):
    world = build_world(engine, data_dir, failing=False, pids=("level", "mean_dc_shift"))
    first = asyncio.create_task(events_until_end(embedded, world.task_id))
    await asyncio.sleep(0)
    await asyncio.to_thread(run, engine, world.task_id)
    await first
    _, _, before = snapshot(engine, world.task_id)
    stamps = {r.id: (r.updated_at, (data_dir / r.hdf5_path).stat().st_mtime_ns) for r in before}

    second = asyncio.create_task(events_until_end(embedded, world.task_id))
    await asyncio.sleep(0)
    await asyncio.to_thread(run, engine, world.task_id)
    events = await second

    task, _, after = snapshot(engine, world.task_id)
    assert task.status == TaskStatus.DONE and task.items_done == 3
    assert {r.id: (r.updated_at, (data_dir / r.hdf5_path).stat().st_mtime_ns) for r in after} == (
        stamps
    )
    results = [e for e in events if e["type"] == "result"]
    assert len(results) == 6 and all(e["cached"] for e in results)


def test_cancel_stops_the_running_job_and_the_queued_ones(runtime, settings, engine, data_dir):
    """Driven step by step (no worker): the job is claimed, the task cancelled, then the job
    computes; its pipeline checks for cancellation before the first block and gives up."""
    world = build_world(engine, data_dir, failing=False)
    with session_scope(engine) as session:
        tasks.run_task(session, SYSTEM, world.task_id)
    job_ids = execution.fan_out(world.task_id)
    with session_scope(engine) as session:
        running = lifecycle.claim_job(session, job_ids[0], max_attempts=3)
        plan = execution.plan_job(session, running)
    with session_scope(engine) as session:
        tasks.cancel_task(session, SYSTEM, world.task_id)

    with pytest.raises(execution.JobError, match="cancelled"):
        execution.compute(plan, engine=engine, settings=settings)
    for job_id in job_ids:
        execution.run_job(job_id, settings=settings)  # queued messages still arrive: no-ops

    task, jobs, results = snapshot(engine, world.task_id)
    assert task.status == TaskStatus.CANCELLED and task.finished_at is not None
    assert [job.status for job in jobs] == [JobStatus.CANCELLED] * 3
    assert results and all(r.item_id == running.item_id for r in results)
    assert all(r.status == ResultStatus.FAILED and "cancelled" in r.error for r in results)


def test_a_job_planned_before_its_item_got_new_audio_records_nothing(
    runtime, settings, engine, data_dir
):
    """The source is replaced while a planned job waits for its locks: it computes nothing
    (no result of the old audio, nor a failure of it, stands for the new audio)."""
    world = build_world(engine, data_dir, failing=False, pids=("level",))
    with session_scope(engine) as session:
        tasks.run_task(session, SYSTEM, world.task_id)
    job_ids = execution.fan_out(world.task_id)
    with session_scope(engine) as session:
        job = lifecycle.claim_job(session, job_ids[0], max_attempts=3)
        plan = execution.plan_job(session, job)
    with session_scope(engine) as session:
        item = session.get_one(Item, plan.item_id)
        stored = intake.store_file(settings, data_dir / str(item.source_file))
        intake.apply_source(session, item, stored, data_dir=data_dir)

    with pytest.raises(execution.JobError, match="replaced"):
        execution.compute(plan, engine=engine, settings=settings)
    with session_scope(engine) as session:
        assert session.exec(select(Result).where(Result.item_id == plan.item_id)).all() == []


def test_a_running_task_cannot_be_run_again(runtime, engine, data_dir):
    world = build_world(engine, data_dir)
    with session_scope(engine) as session:
        lifecycle.mark_pending(session, world.task_id)
        lifecycle.start_jobs(session, world.task_id)
    with pytest.raises(lifecycle.TaskStateError, match="is running"), session_scope(engine) as s:
        lifecycle.mark_pending(s, world.task_id)


def test_jobs_left_by_a_dead_process_run_when_the_server_starts(settings, engine, data_dir):
    """A task pending and a job running when the process died: the next start finishes both."""
    world = build_world(engine, data_dir, failing=False, pids=("level",))
    other = build_world(engine, data_dir, failing=False, pids=("level",))
    with session_scope(engine) as session:
        lifecycle.mark_pending(session, world.task_id)
        lifecycle.mark_pending(session, other.task_id)
        [job_id, *_] = lifecycle.start_jobs(session, other.task_id)
        lifecycle.claim_job(session, job_id, max_attempts=3)  # its worker then died

    with TestClient(create_app(settings, engine=engine)):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            statuses = {snapshot(engine, w.task_id)[0].status for w in (world, other)}
            if statuses == {TaskStatus.DONE}:
                break
            time.sleep(0.1)
    assert statuses == {TaskStatus.DONE}
    _, jobs, _ = snapshot(engine, other.task_id)
    assert {job.id: job.attempts for job in jobs}[job_id] == 2


def test_a_job_over_its_time_limit_fails_without_retry(runtime, settings, engine, data_dir):
    # 300 s of dissonance takes ~9 s of CPU, far past the 1-s limit, which the watchdog
    # enforces between 1 and 2 s (60 s, ~1.7 s, could finish first)
    world = build_world(
        engine, data_dir, seconds=300.0, amplitudes=(0.5,), failing=False,
        pids=("essentia_dissonance",),
    )  # fmt: skip
    limited = settings.model_copy(update={"job_time_limit": 1.0})
    broker = set_broker(build_broker(limited))
    broker.emit_after("process_boot")  # starts the time limit's watchdog, as a worker does
    worker = Worker(broker, worker_threads=1, worker_timeout=50)
    worker.start()
    try:
        with session_scope(engine) as session:
            tasks.run_task(session, SYSTEM, world.task_id)
        deadline = time.monotonic() + 60
        while snapshot(engine, world.task_id)[0].status != TaskStatus.FAILED:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        worker.stop()
    _, [job], [result] = snapshot(engine, world.task_id)
    assert job.status == JobStatus.FAILED and job.error == "TimeLimitExceeded"
    assert job.attempts == 1
    assert result.status == ResultStatus.FAILED and result.error == "TimeLimitExceeded"


async def test_two_tasks_wanting_the_same_results_compute_them_once(embedded, engine, data_dir):
    """Two tasks on one item run at once on two worker threads: each (item, preset) is computed
    by one job, the other job waits for it and reuses it."""
    world = build_world(engine, data_dir, amplitudes=(0.5,), failing=False)
    with session_scope(engine) as session:
        twin = Task(
            experience_id=world.experience_id, item_id=world.item_ids[0], author_id=world.owner_id
        )
        session.add(twin)
    listening = [
        asyncio.create_task(events_until_end(embedded, task_id))
        for task_id in (world.task_id, twin.id)
    ]
    await asyncio.sleep(0)
    with session_scope(engine) as session:
        tasks.run_task(session, SYSTEM, world.task_id)
        tasks.run_task(session, SYSTEM, twin.id)
    events = [event for done in await asyncio.gather(*listening) for event in done]

    results = [e for e in events if e["type"] == "result"]
    computed = Counter(e["presetId"] for e in results if not e["cached"])
    assert computed == Counter({str(preset_id): 1 for preset_id in world.preset_ids.values()})
    assert len(results) == 2 * len(world.preset_ids)
    _, _, rows = snapshot(engine, world.task_id)
    assert len(rows) == len(world.preset_ids)
    assert all(row.status == ResultStatus.DONE for row in rows)


async def test_the_same_audio_under_two_items_is_computed_once(runtime, settings, engine, data_dir):
    world = build_world(engine, data_dir, amplitudes=(0.5, 0.5), failing=False)

    def drive() -> None:  # the jobs one after the other, as one worker thread would
        with session_scope(engine) as session:
            tasks.run_task(session, SYSTEM, world.task_id)
        job_ids = execution.fan_out(world.task_id)
        for job_id in job_ids:
            execution.run_job(job_id, settings=settings)

    listening = asyncio.create_task(events_until_end(runtime, world.task_id))
    await asyncio.sleep(0)
    await asyncio.to_thread(drive)
    received = await listening

    results = [e for e in received if e["type"] == "result"]
    assert [e["cached"] for e in results] == [False] * 3 + [True] * 3
    _, _, rows = snapshot(engine, world.task_id)
    first, second = ({r.preset_id: r for r in rows if r.item_id == i} for i in world.item_ids)
    for preset_id, original in first.items():
        copy = second[preset_id]
        assert copy.status == ResultStatus.DONE and copy.cache_key == original.cache_key
        for field in ("hdf5_path", "file_path"):
            if getattr(original, field):
                assert getattr(copy, field) != getattr(original, field)
                a, b = (data_dir / getattr(r, field) for r in (original, copy))
                assert a.read_bytes() == b.read_bytes()


def test_an_item_deleted_mid_job_leaves_no_result_files(runtime, settings, engine, data_dir):
    world = build_world(
        engine, data_dir, amplitudes=(0.5,), failing=False, pids=("level", "waveform_simple")
    )
    with session_scope(engine) as session:
        tasks.run_task(session, SYSTEM, world.task_id)
    [job_id] = _fanned_out(world.task_id)
    with session_scope(engine) as session:
        plan = execution.plan_job(session, lifecycle.claim_job(session, job_id, max_attempts=3))
    with session_scope(engine) as session:
        claimed = claim_results(session, plan.item_id, plan.runs, data_dir=data_dir)
    outcomes = pipeline.run(data_dir / plan.source, [(r.pid, r.parameters) for r in plan.runs])
    with session_scope(engine) as session:
        session.exec(delete(Item).where(Item.id == plan.item_id))

    for (_, row), outcome in zip(claimed.to_compute, outcomes, strict=True):
        with session_scope(engine) as session:
            assert store_outcome(session, row, outcome, data_dir=data_dir) is None
    assert [p for p in (data_dir / "results").rglob("*") if p.is_file()] == []


def _fanned_out(task_id) -> list:
    return execution.fan_out(task_id)
