"""Source files under ``<data dir>/media``: streamed in, hashed on the way, renamed when whole.

Names are generated (a UUID and an extension from the probed format): nothing a client sends
becomes part of a path. An incoming file is written to a hidden temporary name in the media
directory itself, so the final ``os.replace`` is an atomic rename on one filesystem, and it is
removed whenever it is not kept (refused, too large, interrupted).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Protocol

from timeside_gql.settings import Settings
from timeside_gql.storage import store
from timeside_gql.storage.errors import TooLarge
from timeside_gql.storage.janitor import owner_tag

CHUNK_SIZE = 1 << 20
MIB = 1 << 20

# Probed mime type (core.decode) -> extension of the stored file.
EXTENSIONS: dict[str, str] = {
    "audio/wav": ".wav",
    "audio/flac": ".flac",
    "audio/ogg": ".ogg",
    "audio/mpeg": ".mp3",
    "audio/aiff": ".aiff",
    "audio/mp4": ".m4a",
    "audio/webm": ".webm",
    "audio/x-matroska": ".mka",
    "audio/x-caf": ".caf",
    "audio/x-w64": ".w64",
}
FALLBACK_EXTENSION = ".audio"


class HasSource(Protocol):
    source_file: str | None


def extension_for(mime_type: str) -> str:
    return EXTENSIONS.get(mime_type, FALLBACK_EXTENSION)


def upload_limit(settings: Settings) -> int:
    """TIMESIDE_MAX_UPLOAD_MB in bytes."""
    return settings.max_upload_mb * MIB


def source_path(settings: Settings, item: HasSource) -> Path:
    """Absolute path of an item's source; refuses a stored path outside the media dir (the
    database and the secret key live in the data dir too, and routes serve sources)."""
    if not item.source_file:
        raise FileNotFoundError("the item has no source file")
    return data_file(settings.data_dir, item.source_file, folder="media")


def result_path(data_dir: Path, relative: str) -> Path:
    """Absolute path of a result's stored file; refuses one outside the results dir."""
    return data_file(data_dir, relative, folder="results")


def data_file(data_dir: Path, relative: str, *, folder: str) -> Path:
    """``relative`` (as rows store it) resolved inside ``data_dir/folder`` only: a row's path
    never reaches the database, the secret key or anything else the data dir holds. With a
    bucket, the file is fetched into the data dir first (``storage.store``)."""
    root = (data_dir / folder).resolve()
    path = (data_dir.resolve() / relative).resolve()
    if not path.is_relative_to(root):
        raise FileNotFoundError(f"{relative} is outside the {folder} dir")
    store.ensure_local(data_dir, path.relative_to(data_dir.resolve()).as_posix(), path)
    return path


def relative_to_data(settings: Settings, path: Path) -> str:
    """How rows store a path: relative to the data dir, POSIX separators."""
    return path.resolve().relative_to(settings.data_dir.resolve()).as_posix()


def place(path: Path, media_dir: Path, extension: str) -> Path:
    """Move a complete file (on the media dir's filesystem) to a generated name there."""
    target = media_dir / f"{uuid.uuid4().hex}{extension}"
    os.replace(path, target)
    return target


class Incoming:
    """A file being received: a temporary file in the media dir, its sha1 and size so far.

    Used as a context manager: the temporary file is removed on exit unless :meth:`keep`
    renamed it.
    """

    def __init__(self, media_dir: Path, max_bytes: int) -> None:
        media_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(
            dir=media_dir, prefix=f".incoming-{owner_tag()}-", suffix=".part"
        )
        self.media_dir = media_dir
        self.path = Path(name)
        self.max_bytes = max_bytes
        self.size = 0
        self._file: BinaryIO | None = os.fdopen(fd, "wb")
        self._sha1 = hashlib.sha1()
        self._kept = False

    @classmethod
    def for_settings(cls, settings: Settings) -> Incoming:
        return cls(settings.media_dir, upload_limit(settings))

    @property
    def sha1(self) -> str:
        return self._sha1.hexdigest()

    def write(self, chunk: bytes) -> None:
        """Append ``chunk``; TooLarge as soon as the limit is passed (nothing more is written)."""
        if self._file is None:
            raise ValueError("the incoming file is closed")
        self.size += len(chunk)
        if self.size > self.max_bytes:
            limit = self.max_bytes / MIB
            raise TooLarge(f"the file is larger than the limit of {limit:g} MiB")
        self._sha1.update(chunk)
        self._file.write(chunk)

    def copy_from(self, stream: BinaryIO) -> None:
        while chunk := stream.read(CHUNK_SIZE):
            self.write(chunk)

    def close(self) -> None:
        """Flush to disk: a kept file is complete even after a crash."""
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None

    def keep(self, extension: str) -> Path:
        """Rename to its final, generated name; returns the new path."""
        self.close()
        target = place(self.path, self.media_dir, extension)
        self._kept = True
        return target

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if not self._kept:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> Incoming:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.discard()
