"""Intake: a stream becomes a stored, probed audio source, and an item's source changes.

Every way audio comes in (GraphQL upload, the streaming route, ``timeside-gql import``, a
provider download) goes through :func:`accept`: the bytes are streamed to a temporary file and
hashed on the way, probed as audio with the core's header probe, and only then renamed into the
media dir under a generated name. A refused file leaves nothing on disk.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from anyio import to_thread
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlmodel import Session, col, delete, select

from timeside_gql.core.decode import AudioInfo, DecodeError, probe
from timeside_gql.db import deletion
from timeside_gql.db.hooks import remove_after_commit
from timeside_gql.db.models import IngestStatus, Item, Result
from timeside_gql.settings import Settings
from timeside_gql.storage import store
from timeside_gql.storage.errors import NotAudio
from timeside_gql.storage.files import (
    CHUNK_SIZE,
    Incoming,
    extension_for,
    place,
    relative_to_data,
)

log = logging.getLogger(__name__)

#: Item fields a provider's metadata may fill (never over a value the user gave).
METADATA_FIELDS = ("title", "artist", "album", "description", "picture_url", "external_uri")


@dataclass(frozen=True, slots=True)
class Stored:
    """A source accepted into the media dir."""

    source_file: str  # relative to the data dir
    info: AudioInfo
    name: str = ""  # the client's file name: for messages and a default title, never a path

    @property
    def title(self) -> str:
        """A title for an item that has none: the file name without its extension."""
        return Path(self.name).stem[: Item.__table__.columns["title"].type.length]  # type: ignore[attr-defined]


def accept(settings: Settings, incoming: Incoming, *, name: str) -> Stored:
    """Probe the received file as audio and keep it; NotAudio (file removed) otherwise.

    ``name`` is the client's file name: for messages and a default title, never a path.
    """
    incoming.close()
    info = _probe_audio(incoming.path, name, sha1=incoming.sha1)
    kept = incoming.keep(extension_for(info.mime_type))
    return _published(settings, kept, info, name)


def adopt(settings: Settings, path: Path) -> Stored:
    """Probe a file already in the media dir's filesystem (a download) and move it in."""
    info = _probe_audio(path, path.name)
    kept = place(path, settings.media_dir, extension_for(info.mime_type))
    return _published(settings, kept, info, path.name)


def _published(settings: Settings, kept: Path, info: AudioInfo, name: str) -> Stored:
    """The kept file, uploaded to the deployment's bucket when it has one."""
    stored = Stored(relative_to_data(settings, kept), info, name)
    try:
        store.publish(settings.data_dir, stored.source_file)
    except BaseException:
        store.remove(settings.data_dir, stored.source_file)
        raise
    return stored


def _probe_audio(path: Path, name: str, *, sha1: str | None = None) -> AudioInfo:
    try:
        return probe(path, sha1=sha1)
    except DecodeError as exc:
        # The client named its file; the server's path of it is not theirs to see.
        reason = str(exc).replace(f"{path}: ", "").replace(f"{path.name}: ", "")
        raise NotAudio(f"{name or 'the file'}: not an audio file ({reason})") from None


def store_stream(settings: Settings, stream: BinaryIO, *, name: str) -> Stored:
    """Store a readable binary stream (an uploaded file, a local file)."""
    with Incoming.for_settings(settings) as incoming:
        incoming.copy_from(stream)
        return accept(settings, incoming, name=name)


def store_file(settings: Settings, path: Path) -> Stored:
    """Copy a local file into the media dir (the original stays where it is)."""
    with open(path, "rb") as stream:
        return store_stream(settings, stream, name=path.name)


async def store_chunks(settings: Settings, chunks: AsyncIterable[bytes], *, name: str) -> Stored:
    """Store a request body as it arrives; blocking file work runs in worker threads."""
    incoming = await to_thread.run_sync(Incoming.for_settings, settings)
    with incoming:
        pending = bytearray()
        async for chunk in chunks:
            pending += chunk
            if len(pending) >= CHUNK_SIZE:  # one thread hop per MiB, not per network read
                await to_thread.run_sync(incoming.write, bytes(pending))
                pending.clear()
        await to_thread.run_sync(incoming.write, bytes(pending))
        return await to_thread.run_sync(lambda: accept(settings, incoming, name=name))


def discard(
    settings: Settings, stored: Stored, sessions: Callable[[], Session] | None = None
) -> None:
    """Remove a freshly stored file that no item took (its transaction failed or was refused).

    A failure may come after the commit (the connection lost while COMMIT was acknowledged):
    given ``sessions``, the file goes only once the database says no item points to it, and
    stays if the database cannot say (an unreferenced file is better than an item without its
    audio). Without, the caller's transaction is still open, so nothing committed uses it.
    """
    if sessions is None or not _maybe_used(stored, sessions):
        store.remove(settings.data_dir, stored.source_file)


def _maybe_used(stored: Stored, sessions: Callable[[], Session]) -> bool:
    try:
        with sessions() as session:
            used = session.exec(select(Item.id).where(Item.source_file == stored.source_file))
            return used.first() is not None
    except (OperationalError, InterfaceError) as error:
        log.warning("kept %s: cannot tell whether an item uses it (%s)", stored.source_file, error)
        return True


@contextlib.contextmanager
def removed_on_failure(
    settings: Settings, stored: Stored, sessions: Callable[[], Session] | None = None
) -> Iterator[Stored]:
    """Remove a freshly stored file if what should reference it (a transaction) fails."""
    try:
        yield stored
    except BaseException:
        discard(settings, stored, sessions)
        raise


def apply_source(session: Session, item: Item, stored: Stored, *, data_dir: Path) -> None:
    """Make ``stored`` the item's source: probed fields set, ingest pending.

    A replaced source takes its results with it (rows deleted, files removed after commit, as
    is the old file when no other item uses it): results of other audio must never pass for
    this audio's.
    """
    if item.source_file and item.source_file != stored.source_file:
        invalidate_results(session, item, data_dir=data_dir)
    info = stored.info
    item.source_file = stored.source_file
    item.sha1, item.mime_type = info.sha1, info.mime_type
    item.audio_duration, item.samplerate, item.channels = (
        info.duration,
        info.samplerate,
        info.channels,
    )
    item.ingest_status, item.ingest_error = IngestStatus.PENDING, None
    session.add(item)


def invalidate_results(session: Session, item: Item, *, data_dir: Path) -> None:
    """Delete the item's results and queue their files (and its own source) for removal."""
    files = deletion.owned_files(session, item, data_dir=data_dir)
    session.exec(delete(Result).where(col(Result.item_id) == item.id))
    remove_after_commit(session, files)


def fill_metadata(item: Item, metadata: Any) -> list[str]:
    """Copy a provider's metadata into the item's EMPTY fields; the names of those filled."""
    filled = []
    for field in METADATA_FIELDS:
        value = getattr(metadata, field, None)
        if value and not getattr(item, field):
            limit = Item.__table__.columns[field].type.length  # type: ignore[attr-defined]
            setattr(item, field, str(value)[:limit] if limit else str(value))
            filled.append(field)
    return filled
