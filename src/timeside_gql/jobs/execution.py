"""What the actors do: fan a task out into jobs, and run one job (every preset on one item).

A job runs the experience's presets with ONE core ``pipeline.run`` (one decode, shared
intermediates) over the presets whose result cannot be reused. Each transaction is short: the
claim, each stored result, the end; computing happens outside any transaction.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, update

from timeside_gql.core import pipeline
from timeside_gql.core.decode import DecodeError
from timeside_gql.core.params import ParameterError, validate_parameters
from timeside_gql.core.registry import UnknownProcessor, get_processor
from timeside_gql.db.engine import session_scope
from timeside_gql.db.models import (
    Experience,
    Item,
    Job,
    JobStatus,
    Preset,
    ResultStatus,
    Task,
    TaskStatus,
)
from timeside_gql.jobs import descriptors, heartbeat, lifecycle, outbox
from timeside_gql.jobs.config import get_engine
from timeside_gql.jobs.middleware import describe
from timeside_gql.jobs.notify import Throttle, job_event, publish, result_event, task_event
from timeside_gql.jobs.results import (
    Claimed,
    PresetRun,
    cache_key,
    claim_results,
    fail_results,
    result_locks,
    store_outcome,
)
from timeside_gql.settings import Settings
from timeside_gql.storage.files import data_file
from timeside_gql.storage.janitor import owner_tag

#: Seconds between reads of the task's status: a cancelled job stops within this plus a block.
CANCEL_POLL_S = 0.2


class JobError(Exception):
    """The job cannot run at all (no audio, undecodable file, cancelled): recorded, not retried."""


@dataclass(frozen=True, slots=True)
class JobPlan:
    """What to compute on one item; ``job_id``/``task_id`` are None outside a task (ingest)."""

    job_id: uuid.UUID | None
    task_id: uuid.UUID | None
    item_id: uuid.UUID
    source: Path
    runs: list[PresetRun]


# ---------------------------------------------------------------------------------------------
# Tasks


def fan_out(task_id: uuid.UUID) -> list[uuid.UUID]:
    """Create the task's jobs (pending → running), their messages in the same transaction
    (sent once it commits); the ids of the jobs."""
    with session_scope(get_engine()) as session:
        job_ids = lifecycle.start_jobs(session, task_id)
        for job_id in job_ids:
            outbox.record(session, outbox.RUN_JOB, job_id)
        task = session.get(Task, task_id)
        event = task_event(task) if task else None
    if event:
        publish(event)
    return job_ids


def fail_task(task_id: uuid.UUID, error: str) -> None:
    with session_scope(get_engine()) as session:
        task = lifecycle.fail_task(session, task_id, error)
        event = task_event(task) if task else None
    if event:
        publish(event)


# ---------------------------------------------------------------------------------------------
# Jobs


def run_job(job_id: uuid.UUID, *, settings: Settings) -> None:
    """Claim the job, compute what the cache lacks, end the job and settle its task."""
    engine = get_engine()
    with session_scope(engine) as session:
        job = lifecycle.claim_job(
            session,
            job_id,
            max_attempts=settings.job_max_retries + 1,
            stale_after=settings.job_stale_s,
        )
        event = job_event(job) if job else None
    if job is None or event is None:
        return
    publish(event)
    with heartbeat.JOBS.during(job_id):
        try:
            with session_scope(engine) as session:
                plan = plan_job(session, job)
            error = compute(plan, engine=engine, settings=settings)
        except JobError as exc:
            error = str(exc)
        end_job(job_id, error=error)


def end_job(job_id: uuid.UUID, *, error: str | None) -> None:
    """running → done/failed (no-op when already ended), then recount the task."""
    with session_scope(get_engine()) as session:
        job, task = lifecycle.end_job(session, job_id, error=error)
        events = [job_event(job)] if job else []
        events += [task_event(task)] if task else []
    for event in events:
        publish(event)


def plan_job(session: Session, job: Job) -> JobPlan:
    item = session.get(Item, job.item_id)
    task = session.get(Task, job.task_id)
    if item is None or task is None:
        raise JobError("its item or task was deleted")
    if not item.source_file or not item.sha1:
        raise JobError(f"item {item.id} has no audio yet (not uploaded or not ingested)")
    experience = session.get(Experience, task.experience_id)
    presets = experience.presets if experience else []
    runs = [preset_run(preset, item.sha1) for preset in presets]
    return JobPlan(job.id, task.id, item.id, Path(item.source_file), runs)


def preset_run(preset: Preset, sha1: str) -> PresetRun:
    """The preset as it will run: its stored parameters validated once by the core against the
    installed processor; the cache key and the result's provenance both use that hash (the
    row's own, unless the row predates the processor's present schema).

    A preset the installed code cannot run (processor gone, parameters it refuses) keeps its
    raw parameters and row hash: the pipeline fails it with a readable error.
    """
    pid = preset.processor.pid
    try:
        version = str(get_processor(pid).version)
    except UnknownProcessor:
        version = ""
    parameters: Mapping[str, Any]
    try:
        parameters = validate_parameters(pid, preset.parameters)
        digest = parameters.hash
    except (UnknownProcessor, ParameterError):
        parameters, digest = dict(preset.parameters), preset.parameters_hash
    key = cache_key(sha1=sha1, pid=pid, version=version, parameters_hash=digest)
    return PresetRun(preset.id, pid, version, parameters, key)


def compute(
    plan: JobPlan,
    *,
    engine: Engine,
    settings: Settings,
    hooks: Hooks | None = None,
    wait: float | None = None,
) -> str | None:
    """Reuse or compute every result of the plan; the error summary when some failed.

    ``hooks`` default to the plan's job (progress on its row) and task (cancellation);
    ``wait`` bounds the wait for another computation of the same results (LocksBusy).
    """
    hooks = hooks or job_hooks(engine, plan)
    with result_locks(engine, plan.item_id, plan.runs, wait=wait):
        with session_scope(engine) as session:
            _check_source(session, plan)
            claimed = claim_results(session, plan.item_id, plan.runs, data_dir=settings.data_dir)
            descriptors.record(session, plan.runs, claimed.reused, data_dir=settings.data_dir)
        for result in claimed.reused:
            publish(result_event(result, task_id=plan.task_id, cached=True))
        failures = _compute(plan, claimed, hooks, engine=engine, settings=settings)
    if not failures:
        return None
    return f"{len(failures)} of {len(plan.runs)} presets failed: " + "; ".join(failures)


def _check_source(session: Session, plan: JobPlan) -> None:
    """JobError when the item's audio changed since the plan was made (while the job waited
    for its locks): results of the old audio must never be recorded for the new one."""
    item = session.get(Item, plan.item_id)
    if item is None or item.source_file is None or Path(item.source_file) != plan.source:
        raise JobError("the item's audio was replaced or removed after this job was planned")


@dataclass(frozen=True, slots=True)
class Hooks:
    """Where a computation reports its progress (0..1) and asks whether to stop."""

    progress: Callable[[float], None]
    cancelled: Callable[[], bool]


def job_hooks(engine: Engine, plan: JobPlan) -> Hooks:
    if plan.job_id is None or plan.task_id is None:
        raise ValueError("a computation outside a task needs its own hooks")
    return Hooks(
        Throttle(partial(_report_progress, engine, plan.job_id)),
        CancelProbe(partial(task_stopped, engine, plan.task_id)),
    )


def _compute(
    plan: JobPlan, claimed: Claimed, hooks: Hooks, *, engine: Engine, settings: Settings
) -> list[str]:
    if not claimed.to_compute:
        return []
    data_dir = settings.data_dir
    work_root = data_dir / "results"
    work_root.mkdir(parents=True, exist_ok=True)
    result_ids = [row.id for _, row in claimed.to_compute]
    try:
        prefix = f".work-{owner_tag()}-"
        with tempfile.TemporaryDirectory(dir=work_root, prefix=prefix) as workdir:
            outcomes = pipeline.run(
                data_file(data_dir, str(plan.source), folder="media"),
                [(run.pid, run.parameters) for run, _ in claimed.to_compute],
                progress=hooks.progress,
                cancelled=hooks.cancelled,
                workdir=workdir,
            )
            failures = []
            for (run, row), outcome in zip(claimed.to_compute, outcomes, strict=True):
                with session_scope(engine) as session:
                    stored = store_outcome(session, row, outcome, data_dir=data_dir)
                    descriptors.record(
                        session, [run], [stored] if stored else [], data_dir=data_dir
                    )
                    event = result_event(stored, task_id=plan.task_id) if stored else None
                if stored is None or event is None:
                    continue
                publish(event)
                if stored.status == ResultStatus.FAILED:
                    failures.append(f"{run.pid}: {stored.error}")
            return failures
    except (DecodeError, pipeline.Cancelled) as exc:
        _abandon(engine, plan.task_id, result_ids, describe(exc))
        raise JobError(describe(exc)) from exc
    except BaseException as exc:  # time limit, crash of a processor, lost database: re-raised
        _abandon(engine, plan.task_id, result_ids, describe(exc))
        raise


def _abandon(
    engine: Engine, task_id: uuid.UUID | None, result_ids: list[uuid.UUID], error: str
) -> None:
    """Best effort: results whose computation was cut short are failed, not left running."""
    try:
        with session_scope(engine) as session:
            failed = fail_results(session, result_ids, error)
            events = [result_event(result, task_id=task_id) for result in failed]
    except Exception:  # the database may be what failed; the next claim recomputes them anyway
        return
    for event in events:
        publish(event)


def _report_progress(engine: Engine, job_id: uuid.UUID, fraction: float) -> None:
    with session_scope(engine) as session:
        session.exec(
            update(Job)
            .where(col(Job.id) == job_id, col(Job.status) == JobStatus.RUNNING)
            .values(progress=min(max(fraction, 0.0), 1.0))
        )
        job = session.get(Job, job_id, populate_existing=True)
        event = job_event(job) if job else None
    if event:
        publish(event)


class CancelProbe:
    """``cancelled()`` for the pipeline: ``stopped()`` read at most twice a second, and once
    true, true for good."""

    def __init__(self, stopped: Callable[[], bool]) -> None:
        self.stopped = stopped
        self._checked = 0.0
        self._cancelled = False

    def __call__(self) -> bool:
        now = time.monotonic()
        if not self._cancelled and now - self._checked >= CANCEL_POLL_S:
            self._checked = now
            self._cancelled = self.stopped()
        return self._cancelled


def task_stopped(engine: Engine, task_id: uuid.UUID) -> bool:
    """The task was cancelled or deleted: its jobs stop computing."""
    with session_scope(engine) as session:
        task = session.get(Task, task_id)
        return task is None or task.status != TaskStatus.RUNNING
