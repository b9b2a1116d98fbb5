"""Result rows: the cache key, claiming rows for computation, storing outcomes atomically.

One Result per (item, preset), upserted. Its ``cache_key`` names what it was computed from:
the audio (item sha1), the processor id and version, the canonical parameters. A done result
whose key matches and whose file is on disk is reused without computing: the row's own, or
another row's of the same key (the same audio under another item), whose files are copied.

Two jobs wanting the same (item, preset), or the same key, at once compute it once: each holds
a lock per (item, preset) and per key while it checks and computes, so the second finds the
first one's result done. On PostgreSQL these are session advisory locks, which the server drops
when a killed worker's connection goes; otherwise (SQLite: one process runs every job) they are
in-process locks.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from timeside_gql.core import hdf5
from timeside_gql.db.hooks import remove_after_commit
from timeside_gql.db.models import Result, ResultStatus
from timeside_gql.db.types import utcnow
from timeside_gql.jobs.lifecycle import lock
from timeside_gql.storage import files, store
from timeside_gql.storage.janitor import owner_tag

HDF5_SUFFIX = ".hdf5"


def cache_key(*, sha1: str, pid: str, version: str, parameters_hash: str) -> str:
    """sha1 of what a result is computed from; any change (audio, code, settings) changes it."""
    return hashlib.sha1("\0".join((sha1, pid, version, parameters_hash)).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class PresetRun:
    """One preset of a job, resolved against the processor registry: ``parameters`` are the
    core's validated ``Parameters`` (raw when the installed code refuses them), ``key`` is
    :func:`cache_key` of their hash."""

    preset_id: uuid.UUID
    pid: str
    version: str
    parameters: Mapping[str, Any]
    key: str


@dataclass(frozen=True, slots=True)
class Claimed:
    """The result rows of a job: those reused as they are and those to compute now."""

    reused: list[Result]
    to_compute: list[tuple[PresetRun, Result]]


# ---------------------------------------------------------------------------------------------
# Locks per (item, preset)


class _KeyedLocks:
    """In-process locks by key, dropped when nobody holds or waits for them."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[Any, tuple[threading.Lock, int]] = {}

    @contextmanager
    def hold(self, keys: Sequence[Any], deadline: float | None = None) -> Iterator[None]:
        """Hold every lock of ``keys``; LocksBusy once ``deadline`` (monotonic) passes."""
        acquired: list[Any] = []
        try:
            for key in keys:
                if not self._get(key).acquire(timeout=_remaining(deadline, forever=-1)):
                    self._release(key, held=False)
                    raise LocksBusy("another computation holds these results")
                acquired.append(key)
            yield
        finally:
            for key in reversed(acquired):
                self._release(key)

    def _get(self, key: Any) -> threading.Lock:
        with self._guard:
            lock, users = self._locks.get(key, (threading.Lock(), 0))
            self._locks[key] = (lock, users + 1)
            return lock

    def _release(self, key: Any, *, held: bool = True) -> None:
        with self._guard:
            lock, users = self._locks[key]
            if held:
                lock.release()
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


_local_locks = _KeyedLocks()


def _lock_id(*parts: bytes) -> int:
    digest = hashlib.sha1(b"\0".join(parts)).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class LocksBusy(TimeoutError):
    """Another computation held the results' locks for longer than the caller would wait."""


def _remaining(deadline: float | None, *, forever: float) -> float:
    return forever if deadline is None else max(deadline - time.monotonic(), 0.0)


@contextmanager
def result_locks(
    engine: Engine, item_id: uuid.UUID, runs: Sequence[PresetRun], *, wait: float | None = None
) -> Iterator[None]:
    """Hold the locks of every (item, preset) row and every cache key of ``runs`` (the same
    audio on another item has the same keys), taken in one global order: no deadlock.

    ``wait``: seconds to wait for them before LocksBusy (None: as long as it takes).
    """
    ids = sorted(
        {_lock_id(item_id.bytes, run.preset_id.bytes) for run in runs}
        | {_lock_id(run.key.encode()) for run in runs}
    )
    deadline = None if wait is None else time.monotonic() + wait
    if engine.dialect.name != "postgresql":
        with _local_locks.hold(ids, deadline):
            yield
        return
    connection = _advisory_locks(engine, ids, deadline)
    try:
        yield
    finally:
        try:
            connection.execute(sa.select(sa.func.pg_advisory_unlock_all()))
            connection.commit()
        except sa.exc.DBAPIError:
            connection.invalidate()  # closing the server session releases its locks
        finally:
            connection.close()


def _advisory_locks(engine: Engine, ids: Sequence[int], deadline: float | None) -> sa.Connection:
    """A connection holding the session advisory locks ``ids``, taken by trying: a waiter
    gives its connection back to the pool between tries (blocked in ``pg_advisory_lock``, 20
    requests for one transcode held 20 pooled connections and starved the API)."""
    pause = 0.05
    while True:
        connection = engine.connect()
        try:
            if _try_locks(connection, ids):
                return connection
        except BaseException:
            connection.invalidate()
            connection.close()
            raise
        connection.close()
        if deadline is not None and time.monotonic() >= deadline:
            raise LocksBusy("another computation holds these results")
        time.sleep(min(pause, _remaining(deadline, forever=pause)))
        pause = min(pause * 2, 1.0)


def _try_locks(connection: sa.Connection, ids: Sequence[int]) -> bool:
    """Take every lock or none (session-level locks outlive the transaction)."""
    for lock_id in ids:
        if not connection.execute(sa.select(sa.func.pg_try_advisory_lock(lock_id))).scalar():
            connection.execute(sa.select(sa.func.pg_advisory_unlock_all()))
            connection.commit()
            return False
    connection.commit()
    return True


# ---------------------------------------------------------------------------------------------
# Rows


def _insert(session: Session) -> Any:
    return (postgresql if session.get_bind().dialect.name == "postgresql" else sqlite).insert


def upsert_results(
    session: Session, item_id: uuid.UUID, preset_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Result]:
    """The (item, preset) rows, created pending where missing; safe against concurrent inserts."""
    if preset_ids:
        now = utcnow()
        rows = [
            {
                "id": uuid.uuid4(),
                "item_id": item_id,
                "preset_id": preset_id,
                "status": ResultStatus.PENDING,
                "created_at": now,
                "updated_at": now,
            }
            for preset_id in preset_ids
        ]
        statement = _insert(session)(Result).values(rows)
        session.exec(statement.on_conflict_do_nothing(index_elements=["item_id", "preset_id"]))
    found = session.exec(
        select(Result)
        .where(Result.item_id == item_id, col(Result.preset_id).in_(preset_ids))
        .execution_options(populate_existing=True)
    )
    return {result.preset_id: result for result in found}


def is_reusable(result: Result, key: str, data_dir: Path) -> bool:
    if result.status != ResultStatus.DONE or result.cache_key != key:
        return False
    paths = [p for p in (result.hdf5_path, result.file_path) if p]
    return bool(paths) and all(store.exists(data_dir, p) for p in paths)


def claim_results(
    session: Session, item_id: uuid.UUID, runs: Sequence[PresetRun], *, data_dir: Path
) -> Claimed:
    """Split the job's presets into reusable results and results to compute (marked running).

    Call it holding :func:`result_locks` for these presets.
    """
    rows = upsert_results(session, item_id, [run.preset_id for run in runs])
    claimed = Claimed(reused=[], to_compute=[])
    for run in runs:
        result = rows[run.preset_id]
        if is_reusable(result, run.key, data_dir):
            claimed.reused.append(result)
            continue
        twin = _done_twin(session, result, run.key, data_dir)
        if twin is not None:
            _adopt(result, twin, data_dir)
            session.add(result)
            claimed.reused.append(result)
            continue
        result.status = ResultStatus.RUNNING
        result.cache_key = run.key
        result.processor_version = run.version
        result.error = None
        session.add(result)
        claimed.to_compute.append((run, result))
    return claimed


def _done_twin(session: Session, result: Result, key: str, data_dir: Path) -> Result | None:
    """A done result of the same key on another row: the same audio under another item."""
    twins = session.exec(
        select(Result)
        .where(Result.cache_key == key, Result.status == ResultStatus.DONE, Result.id != result.id)
        .limit(3)
    )
    return next((twin for twin in twins if is_reusable(twin, key, data_dir)), None)


def _adopt(result: Result, twin: Result, data_dir: Path) -> None:
    """Copy the twin's files to this result's own paths (deleting one never breaks the other)."""
    for field in ("hdf5_path", "file_path"):
        source = getattr(twin, field)
        target = result_path(result, Path(source).suffix) if source else None
        if target is not None:
            place_file(data_dir / target, source=files.result_path(data_dir, source))
            store.publish(data_dir, target.as_posix())
        setattr(result, field, str(target) if target else None)
    result.mime_type, result.run_time = twin.mime_type, twin.run_time
    result.processor_version, result.cache_key = twin.processor_version, twin.cache_key
    result.status, result.error = ResultStatus.DONE, None


def fail_results(session: Session, result_ids: Sequence[uuid.UUID], error: str) -> list[Result]:
    """Mark results still running failed (their computation was cut short)."""
    failed = []
    for result_id in result_ids:
        result = lock(session, Result, result_id)
        if result is not None and result.status == ResultStatus.RUNNING:
            result.status, result.error, result.cache_key = ResultStatus.FAILED, error, None
            session.add(result)
            failed.append(result)
    return failed


# ---------------------------------------------------------------------------------------------
# Files


def result_path(result: Result, suffix: str) -> Path:
    """Relative to the data dir: ``results/<item id>/<result id><suffix>``."""
    return Path("results") / str(result.item_id) / f"{result.id}{suffix}"


def place_file(target: Path, *, data: bytes | None = None, source: Path | None = None) -> None:
    """Write ``data`` (or copy ``source``) to ``target`` atomically: a reader, or a process
    killed midway, sees the old file or the new one, never part of one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{owner_tag()}.{threading.get_ident()}.tmp")
    try:
        with open(temporary, "wb") as out:
            if data is not None:
                out.write(data)
            elif source is not None:
                with open(source, "rb") as src:
                    shutil.copyfileobj(src, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def store_outcome(
    session: Session, result: Result, outcome: Any, *, data_dir: Path
) -> Result | None:
    """Record one preset's outcome (core ``PresetOutcome``) on its row; files are written first,
    outside the row lock, so a crash in between leaves a running row that is recomputed.

    None when the row went meanwhile (its item or preset was deleted): its files go too.
    """
    files = {} if outcome.error else _write_files(result, outcome, data_dir)
    row = lock(session, Result, result.id)
    if row is None:
        written = [files[field] for field in ("hdf5_path", "file_path") if field in files]
        remove_after_commit(session, [data_dir / path for path in written])
        return None
    row.run_time = outcome.run_time
    if outcome.error:
        row.status, row.error, row.cache_key = ResultStatus.FAILED, outcome.error, None
    else:
        for field, value in files.items():
            setattr(row, field, value)
        row.status, row.error = ResultStatus.DONE, None
    session.add(row)
    return row


def _write_files(result: Result, outcome: Any, data_dir: Path) -> dict[str, str]:
    """The files of an outcome, written; returns the row's new path fields (and mime type)."""
    files: dict[str, str] = {}
    if outcome.results:
        relative = result_path(result, HDF5_SUFFIX)
        (data_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        hdf5.write(data_dir / relative, outcome.results)
        store.publish(data_dir, relative.as_posix())
        files["hdf5_path"] = str(relative)
    for artifact in outcome.artifacts[:1]:  # a Result holds one file: the processor's product
        relative = result_path(result, Path(artifact.name).suffix)
        place_file(data_dir / relative, data=artifact.data, source=artifact.path)
        store.publish(data_dir, relative.as_posix())
        files["file_path"] = str(relative)
        files["mime_type"] = artifact.mime_type
    return files
