"""The archive format: one uncompressed tar holding ``tables/<table>.jsonl`` (one JSON object
per row), ``files/<path relative to the data dir>`` (media and result files) and, last,
``manifest.json`` describing all of it with each member's sha1 and size.

Why a tar: one file to copy, checksum or rsync, any tool can list or unpack it, and it can be
written to a temporary name and renamed, so an interrupted dump never leaves a plausible-looking
archive. Uncompressed because audio and HDF5 barely compress and the reader seeks to members.
The manifest comes last so the dump is written in one pass (checksums computed while copying);
a truncated archive therefore has no manifest and is refused.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any

from pydantic import BaseModel, ValidationError

from timeside_gql.portability.errors import (
    ArchiveExists,
    ChecksumMismatch,
    NotAnArchive,
    TruncatedArchive,
    UnsafePath,
    UnsupportedFormat,
)
from timeside_gql.portability.progress import Advance

FORMAT = "timeside-gql-dump"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
TABLES_DIR = "tables"
FILES_DIR = "files"
CHUNK = 1 << 20


def _ignore(_: int) -> None:
    pass


class FileEntry(BaseModel):
    sha1: str
    size: int


class TableEntry(BaseModel):
    member: str
    rows: int
    columns: list[str]


class Manifest(BaseModel):
    format: str = FORMAT
    format_version: int = FORMAT_VERSION
    created_at: str
    app_version: str
    source: dict[str, Any]
    options: dict[str, Any]
    tables: dict[str, TableEntry]
    excluded_tables: dict[str, str]
    files: dict[str, FileEntry]
    missing_files: list[str] = []

    def data_files(self) -> dict[str, FileEntry]:
        """Media and result files, by path relative to the data dir."""
        prefix = f"{FILES_DIR}/"
        return {m.removeprefix(prefix): e for m, e in self.files.items() if m.startswith(prefix)}


def table_member(table: str) -> str:
    return f"{TABLES_DIR}/{table}.jsonl"


def file_member(relative: str) -> str:
    return f"{FILES_DIR}/{safe_relative(relative)}"


#: Where the files of rows live in a data dir; the rest (the database, the secret key) never
#: travels, and a row naming it would have the media routes serve it.
DATA_FOLDERS = ("media", "results")


def safe_relative(relative: str) -> str:
    """A stored path as a clean relative POSIX path under ``media/`` or ``results/``;
    UnsafePath for any other (absolute, climbing with ``..``, the database, the secret key)."""
    path = PurePosixPath(relative)
    if not relative or path.is_absolute() or ".." in path.parts or "\\" in relative:
        raise UnsafePath(f"path {relative!r} is not inside the data directory")
    if len(path.parts) < 2 or path.parts[0] not in DATA_FOLDERS:
        raise UnsafePath(f"path {relative!r} is not in the media or results folder")
    return str(path)


class _Hashing:
    """A file object hashing what is read through it."""

    def __init__(self, raw: IO[bytes], advance: Advance) -> None:
        self.raw, self.advance, self.sha1 = raw, advance, hashlib.sha1()

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.sha1.update(data)
        self.advance(len(data))
        return data


# ---------------------------------------------------------------------------------------------
# Writing


class ArchiveWriter:
    """Adds members with their checksums; the archive appears at ``out`` only once complete."""

    def __init__(self, out: Path) -> None:
        if out.exists():
            raise ArchiveExists(f"{out} exists; a dump never overwrites one")
        out.parent.mkdir(parents=True, exist_ok=True)
        self.out = out
        self.partial = out.with_name(f".{out.name}.{secrets.token_hex(4)}.partial")
        self.tar = tarfile.open(self.partial, "w", format=tarfile.PAX_FORMAT)  # noqa: SIM115 (closed by finish/abort)
        self.files: dict[str, FileEntry] = {}

    def add(self, member: str, path: Path, advance: Advance = _ignore) -> FileEntry:
        info = tarfile.TarInfo(member)
        info.size, info.mtime, info.mode = path.stat().st_size, int(time.time()), 0o644
        with open(path, "rb") as raw:
            reader = _Hashing(raw, advance)
            self.tar.addfile(info, reader)  # type: ignore[arg-type]  # read() is all it needs
        entry = FileEntry(sha1=reader.sha1.hexdigest(), size=info.size)
        self.files[member] = entry
        return entry

    def finish(self, manifest: Manifest) -> None:
        data = manifest.model_dump_json(indent=2).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size, info.mtime, info.mode = len(data), int(time.time()), 0o644
        self.tar.addfile(info, _Bytes(data))  # type: ignore[arg-type]
        self.tar.close()
        with open(self.partial, "rb") as done:
            os.fsync(done.fileno())
        os.replace(self.partial, self.out)

    def abort(self) -> None:
        self.tar.close()
        self.partial.unlink(missing_ok=True)


class _Bytes:
    def __init__(self, data: bytes) -> None:
        self.data, self.offset = data, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self.data) if size < 0 else self.offset + size
        chunk, self.offset = self.data[self.offset : end], end
        return chunk


# ---------------------------------------------------------------------------------------------
# Reading


class ArchiveReader:
    """An archive opened for import: its manifest checked against its members."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.tar = tarfile.open(path, "r:")  # noqa: SIM115 (closed by close)
        except (tarfile.TarError, OSError) as error:
            raise NotAnArchive(f"{path} is not a readable tar archive ({error})") from None
        try:
            members = self.tar.getmembers()
        except (tarfile.TarError, OSError) as error:
            self.tar.close()
            raise TruncatedArchive(f"{path} ends early, it is truncated ({error})") from None
        self.members = {m.name: m for m in members if m.isfile()}
        self.manifest = self._manifest()
        self._check_members()

    def close(self) -> None:
        self.tar.close()

    def __enter__(self) -> ArchiveReader:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _manifest(self) -> Manifest:
        if MANIFEST not in self.members:
            if any(name.startswith(f"{TABLES_DIR}/") for name in self.members):
                raise TruncatedArchive(f"{self.path} has no {MANIFEST}: the archive is truncated")
            raise NotAnArchive(f"{self.path} has no {MANIFEST}: not a timeside-gql dump")
        try:
            raw = json.loads(self._read(MANIFEST))
            version = raw["format_version"] if raw.get("format") == FORMAT else None
        except (ValueError, TypeError, KeyError, AttributeError):
            raise NotAnArchive(f"{self.path}: {MANIFEST} is not a timeside-gql manifest") from None
        if not isinstance(version, int):
            raise NotAnArchive(f"{self.path}: {MANIFEST} is not a timeside-gql manifest")
        if version > FORMAT_VERSION:
            raise UnsupportedFormat(
                f"archive format version {version} is newer than this timeside-gql reads "
                f"({FORMAT_VERSION}); upgrade timeside-gql to load it"
            )
        try:
            return Manifest.model_validate(raw)
        except ValidationError as error:
            raise NotAnArchive(f"{self.path}: malformed {MANIFEST} ({error.errors()[0]})") from None

    def _check_members(self) -> None:
        listed = self.manifest.files
        for name, entry in listed.items():
            member = self.members.get(name)
            if member is None or member.size != entry.size:
                raise TruncatedArchive(
                    f"{self.path}: member {name} is missing or not {entry.size} bytes"
                )
        for name in self.manifest.data_files():
            safe_relative(name)
        unlisted = set(self.members) - set(listed) - {MANIFEST}
        if unlisted:
            raise ChecksumMismatch(f"{self.path}: members not in the manifest: {sorted(unlisted)}")
        for table in self.manifest.tables.values():
            if table.member not in listed:
                raise TruncatedArchive(f"{self.path}: table member {table.member} is not listed")

    def _read(self, name: str) -> bytes:
        stream = self.tar.extractfile(self.members[name])
        assert stream is not None  # regular files only
        return stream.read()

    def verify(self, advance: Advance = _ignore) -> None:
        """Every member's sha1 against the manifest, before anything is written."""
        for name, entry in self.manifest.files.items():
            if self.sha1(name, advance) != entry.sha1:
                raise ChecksumMismatch(f"{self.path}: member {name} does not match its sha1")

    def sha1(self, name: str, advance: Advance = _ignore) -> str:
        with self.open(name, advance) as stream:
            while stream.read(CHUNK):
                pass
            return stream.sha1.hexdigest()

    def open(self, name: str, advance: Advance = _ignore) -> _HashingStream:
        stream = self.tar.extractfile(self.members[name])
        assert stream is not None
        return _HashingStream(stream, advance)

    def rows(self, table: str) -> Iterator[dict[str, Any]]:
        entry = self.manifest.tables[table]
        with self.open(entry.member) as stream:
            for number, line in enumerate(stream.raw, 1):
                try:
                    row = json.loads(line)
                except ValueError:
                    row = None
                if not isinstance(row, dict):
                    raise NotAnArchive(f"{entry.member} line {number} is not a JSON object")
                yield row

    def total_size(self) -> int:
        return sum(entry.size for entry in self.manifest.files.values())


class _HashingStream(_Hashing):
    def __enter__(self) -> _HashingStream:
        return self

    def __exit__(self, *_: object) -> None:
        self.raw.close()
