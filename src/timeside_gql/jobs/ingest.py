"""Ingest: once an item has a source, make it audio the server knows, with its waveform.

An item gets a source by upload (already stored and probed by ``storage.intake``), by URL or by
provider and id (downloaded here through ``storage.providers``). The ``ingest_item`` actor then
downloads when needed, probes when the item has no sha1 yet, and computes the waveform result
(``waveform_analyzer``, default parameters) through the same cached, locked path as task jobs
(``jobs.execution.compute``). Its state is ``items.ingest_status``; every change and the
waveform's progress are published on the item's channel (``itemUpdates``).

A source replaced while an ingest runs makes that ingest moot: it stops at its next check and
records nothing, the ingest of the new source does.

A running ingest beats like a job (``jobs.heartbeat``): a duplicate message finds it claimed,
and when its process dies the reconciler puts it back to pending (:func:`release_silent`) and
sends it again.
"""

from __future__ import annotations

import logging
import tempfile
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select, update

from timeside_gql.core.decode import DecodeError, probe
from timeside_gql.db.engine import session_scope
from timeside_gql.db.models import IngestStatus, Item, Preset
from timeside_gql.db.presets import default_preset
from timeside_gql.db.providers import provider_id
from timeside_gql.db.types import utcnow
from timeside_gql.jobs import heartbeat
from timeside_gql.jobs.config import get_engine
from timeside_gql.jobs.execution import CancelProbe, Hooks, JobError, JobPlan, compute, preset_run
from timeside_gql.jobs.lifecycle import lock
from timeside_gql.jobs.notify import Throttle, item_event, publish
from timeside_gql.settings import Settings
from timeside_gql.storage import intake
from timeside_gql.storage.errors import MediaError, NoSourceAccess, NotAudio
from timeside_gql.storage.files import source_path
from timeside_gql.storage.janitor import owner_tag

log = logging.getLogger(__name__)

WAVEFORM_PID = "waveform_analyzer"
ACTIVE = (IngestStatus.PENDING, IngestStatus.RUNNING)


class Superseded(Exception):
    """The item's source changed (or the item went) while this ingest ran."""


def has_remote_source(item: Item) -> bool:
    """Whether ingest can download the item's audio: a URL, or a provider's track id."""
    return bool(item.source_url or (item.provider_id and item.external_id))


def unfinished_ingests(session: Session) -> list[uuid.UUID]:
    """Items whose ingest a stopped process left pending or running (embedded restart)."""
    return list(session.exec(select(Item.id).where(col(Item.ingest_status).in_(ACTIVE))))


def release_silent(session: Session, *, stale_after: float) -> list[uuid.UUID]:
    """Running ingests silent for ``stale_after`` seconds (their process died) → pending; their
    ids, to send again. ``stale_after=0`` releases every running ingest (a restarted embedded
    server: no other process runs them)."""
    cutoff = utcnow() - timedelta(seconds=stale_after)
    beat = func.coalesce(Item.ingest_heartbeat_at, Item.updated_at)
    ids = list(
        session.exec(
            select(Item.id)
            .where(Item.ingest_status == IngestStatus.RUNNING, beat < cutoff)
            .with_for_update(skip_locked=True)
        )
    )
    if ids:
        session.exec(
            update(Item)
            .where(col(Item.id).in_(ids))
            .values(ingest_status=IngestStatus.PENDING, ingest_heartbeat_at=None)
        )
    return ids


# ---------------------------------------------------------------------------------------------
# What the ``ingest_item`` actor runs


def give_up(item_id: uuid.UUID, *, error: str) -> None:
    """Time limit or a bug: the ingest of whatever source the item has now is failed."""
    engine = get_engine()
    with session_scope(engine) as session:
        item = session.get(Item, item_id)
        source = item.source_file if item else None
    finish(engine, item_id, error=error, source=source)


@dataclass(frozen=True, slots=True)
class _Claim:
    source_file: str | None
    sha1: str | None


def ingest(item_id: uuid.UUID, *, settings: Settings) -> None:
    """Run one item's ingest to done or failed (nothing when it is not pending or running)."""
    engine = get_engine()
    claim = _claim(engine, item_id, stale_after=settings.job_stale_s)
    if claim is None:
        return
    source = claim.source_file
    with heartbeat.INGESTS.during(item_id):
        try:
            source = source or _download(engine, settings, item_id)
            sha1 = claim.sha1 or _probe(engine, settings, item_id, source)
            error = _waveform(engine, settings, item_id, source, sha1)
        except Superseded:
            return
        except (MediaError, DecodeError, JobError, OSError) as exc:
            error = str(exc)
        finish(engine, item_id, error=error, source=source)


def _claim(engine: Engine, item_id: uuid.UUID, *, stale_after: float) -> _Claim | None:
    """pending (or running with no heartbeat for ``stale_after`` seconds: its worker died) →
    running; None for a duplicate message of an ingest a live process runs."""
    with session_scope(engine) as session:
        item = lock(session, Item, item_id)
        if item is None or item.ingest_status not in ACTIVE:
            return None
        now = utcnow()
        beat = item.ingest_heartbeat_at
        alive = beat is not None and beat > now - timedelta(seconds=stale_after)
        if item.ingest_status == IngestStatus.RUNNING and alive:
            return None
        item.ingest_status, item.ingest_error = IngestStatus.RUNNING, None
        item.ingest_heartbeat_at = now
        session.add(item)
        claim = _Claim(item.source_file, item.sha1)
    publish(item_event(item_id, IngestStatus.RUNNING))
    return claim


def finish(engine: Engine, item_id: uuid.UUID, *, error: str | None, source: str | None) -> None:
    """running → done, or failed with ``error``; nothing if the source is no longer
    ``source`` (a newer ingest owns the item) or the ingest is not running."""
    status = IngestStatus.FAILED if error else IngestStatus.DONE
    with session_scope(engine) as session:
        item = lock(session, Item, item_id)
        if item is None or item.ingest_status != IngestStatus.RUNNING:
            return
        if item.source_file != source:
            return
        item.ingest_status, item.ingest_error = status, error
        session.add(item)
    publish(item_event(item_id, status))


def _current(session: Session, item_id: uuid.UUID, source: str | None) -> Item:
    """The item, write-locked, if its source is still ``source``; Superseded otherwise."""
    item = lock(session, Item, item_id)
    if item is None or item.source_file != source:
        raise Superseded
    return item


# ---------------------------------------------------------------------------------------------
# Steps


def _download(engine: Engine, settings: Settings, item_id: uuid.UUID) -> str:
    """Fetch the audio of a URL or provider source into the media dir; the new source_file."""
    from timeside_gql.storage import providers
    from timeside_gql.storage.fetch import Fetcher

    with session_scope(engine) as session:
        item = session.get(Item, item_id)
        if item is None:
            raise Superseded
        if not has_remote_source(item):
            raise NotAudio("the item has no source: upload a file or give a URL or provider id")
        pid = item.provider.pid if item.provider else None
        url, external_id = item.source_url, item.external_id
    ref = providers.resolve(url, provider=pid, external_id=external_id)
    provider = providers.get_provider(ref.provider)
    fetcher = Fetcher.from_settings(settings)
    metadata = provider.metadata(ref, fetcher)
    with session_scope(engine) as session:
        item = _current(session, item_id, None)
        intake.fill_metadata(item, metadata)
        item.external_id = item.external_id or ref.external_id
        item.provider_id = item.provider_id or provider_id(session, ref.provider)
        session.add(item)
    if not provider.source_access:
        raise NoSourceAccess(f"{provider.name or ref.provider} gives metadata only, no audio")
    settings.media_dir.mkdir(parents=True, exist_ok=True)
    # Downloaded next to the media dir's files: moved in by a rename, not copied.
    with tempfile.TemporaryDirectory(
        dir=settings.media_dir, prefix=f".download-{owner_tag()}-"
    ) as folder:
        stored = intake.adopt(settings, provider.download(ref, Path(folder), fetcher))
    with (
        intake.removed_on_failure(settings, stored, partial(Session, engine)),
        session_scope(engine) as session,
    ):
        item = _current(session, item_id, None)
        intake.apply_source(session, item, stored, data_dir=settings.data_dir)
        item.ingest_status = IngestStatus.RUNNING
    return stored.source_file


def _probe(engine: Engine, settings: Settings, item_id: uuid.UUID, source: str) -> str:
    """Hash and probe a source stored without them (e.g. loaded from a dump); its sha1."""
    with session_scope(engine) as session:
        path = source_path(settings, _current(session, item_id, source))
    info = probe(path)
    with session_scope(engine) as session:
        item = _current(session, item_id, source)
        item.sha1, item.mime_type = info.sha1, info.mime_type
        item.audio_duration, item.samplerate = info.duration, info.samplerate
        item.channels = info.channels
        session.add(item)
    return info.sha1


def _waveform(
    engine: Engine, settings: Settings, item_id: uuid.UUID, source: str, sha1: str
) -> str | None:
    """Compute (or reuse) the waveform result; the error when it failed."""
    with session_scope(engine) as session:
        run = preset_run(waveform_preset(session), sha1)
    plan = JobPlan(None, None, item_id, Path(source), [run])
    hooks = Hooks(
        progress=Throttle(partial(_progress, item_id)),
        cancelled=CancelProbe(partial(_replaced, engine, item_id, source)),
    )
    return compute(plan, engine=engine, settings=settings, hooks=hooks)


def waveform_preset(session: Session) -> Preset:
    """The shared preset of the installed ``waveform_analyzer`` with default parameters."""
    return default_preset(session, WAVEFORM_PID)


def _progress(item_id: uuid.UUID, fraction: float) -> None:
    publish(item_event(item_id, IngestStatus.RUNNING, progress=fraction))


def _replaced(engine: Engine, item_id: uuid.UUID, source: str) -> bool:
    with session_scope(engine) as session:
        item = session.get(Item, item_id)
        return item is None or item.source_file != source
