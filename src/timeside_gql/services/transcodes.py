"""Results computed on demand for delivery: a whole-file transcode is an encoder Result.

Asking for an item as MP3 runs the ``mp3_encoder`` preset of default parameters on it once,
through ``jobs.execution.compute`` like a task's job or the ingest's waveform (same rows, cache
keys, locks and atomic files): the next request, or a job of the same preset, reuses the file;
a new source (new sha1) changes the cache key and the transcode is made again.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import select

from timeside_gql.core.encoders import FORMATS
from timeside_gql.core.registry import all_processors
from timeside_gql.db.engine import session_scope
from timeside_gql.db.models import Item, Preset, Result, ResultStatus
from timeside_gql.db.presets import default_preset
from timeside_gql.jobs.execution import Hooks, JobPlan, compute, preset_run
from timeside_gql.settings import Settings
from timeside_gql.storage.files import source_path

_UNATTENDED = Hooks(progress=lambda _fraction: None, cancelled=lambda: False)


class NoAudio(Exception):
    """The item has no source file, or it was not ingested yet (no sha1)."""


class ComputeFailed(Exception):
    """The processor failed on this item (its Result row is failed, with the error)."""


def encoder_pids() -> dict[str, str]:
    """Audio format name (``mp3``, ``m4a``...) → the pid of its encoder processor."""
    pids = {getattr(cls, "fmt", None): cls.pid for cls in all_processors() if cls.kind == "encoder"}
    return {fmt: pids[fmt] for fmt in FORMATS if fmt in pids}


def source_file(settings: Settings, item: Item) -> Path:
    """The item's audio on disk; NoAudio when it has none yet."""
    if not item.source_file or not item.sha1:
        raise NoAudio(f"item {item.id} has no audio yet")
    return source_path(settings, item)


def ensure_result(
    engine: Engine,
    settings: Settings,
    item: Item,
    preset_id: uuid.UUID,
    *,
    wait: float | None = None,
) -> Result:
    """The done Result of a preset on ``item``: reused when its cache key matches, computed
    now otherwise. Raises ComputeFailed (or JobError for an undecodable source), and
    LocksBusy when another computation of it lasts past ``wait`` seconds."""
    source_file(settings, item)
    with session_scope(engine) as session:
        run = preset_run(session.get_one(Preset, preset_id), str(item.sha1))
    plan = JobPlan(None, None, item.id, Path(str(item.source_file)), [run])
    error = compute(plan, engine=engine, settings=settings, hooks=_UNATTENDED, wait=wait)
    if error:
        raise ComputeFailed(error)
    with session_scope(engine) as session:
        query = select(Result).where(Result.item_id == item.id, Result.preset_id == preset_id)
        return session.exec(query).one()


def transcode_result(
    engine: Engine, settings: Settings, item_id: uuid.UUID, fmt: str, *, wait: float | None = None
) -> Result:
    """The cached whole-file transcode of an item in ``fmt`` (a key of ``encoder_pids()``)."""
    with session_scope(engine) as session:
        item = session.get_one(Item, item_id)
        preset_id = default_preset(session, encoder_pids()[fmt]).id
    return ensure_result(engine, settings, item, preset_id, wait=wait)


def cached_transcode(engine: Engine, item: Item, fmt: str) -> Result | None:
    """The whole-file transcode if it is already made for the current audio; never encodes
    (what a HEAD request may look at)."""
    with session_scope(engine) as session:
        preset = default_preset(session, encoder_pids()[fmt])
        key = preset_run(preset, str(item.sha1)).key
        query = select(Result).where(
            Result.item_id == item.id,
            Result.preset_id == preset.id,
            Result.status == ResultStatus.DONE,
            Result.cache_key == key,
        )
        return session.exec(query).first()
