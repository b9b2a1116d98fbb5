"""Damaged or foreign archives are refused before anything is written, and an import that fails
midway leaves the target exactly as it was: rows and files."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.portability.world import Instance, counts, files
from timeside_gql.db.engine import session_scope
from timeside_gql.db.models import Selection, SelectionChild
from timeside_gql.portability import staging
from timeside_gql.portability.archive import MANIFEST
from timeside_gql.portability.errors import (
    ArchiveError,
    ChecksumMismatch,
    ImportConflict,
    NotAnArchive,
    SchemaMismatch,
    TruncatedArchive,
    UnsafePath,
    UnsupportedFormat,
)
from timeside_gql.portability.load import load

NewInstance = Callable[[str], Instance]


def rewrite(
    archive: Path, out: Path, change: Callable[[str, bytes], bytes], *, reseal: bool = False
) -> Path:
    """A copy of ``archive`` whose members went through ``change(name, data)``; ``reseal``
    records the changed members' sha1 and size in the manifest (a consistent forgery)."""
    with tarfile.open(archive) as source:
        members = [(m, change(m.name, source.extractfile(m).read())) for m in source.getmembers()]  # type: ignore[union-attr]
    if reseal:
        manifest = json.loads(members[-1][1])
        for member, data in members[:-1]:
            manifest["files"][member.name] = {
                "sha1": hashlib.sha1(data).hexdigest(),
                "size": len(data),
            }
        members[-1] = (members[-1][0], json.dumps(manifest).encode())
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        for member, data in members:
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    return out


def flip_byte(archive: Path, out: Path, member: str) -> Path:
    """Same size, one byte of ``member`` changed in place."""
    shutil.copyfile(archive, out)
    with tarfile.open(out) as tar:
        offset = tar.getmember(member).offset_data + 100
    with open(out, "r+b") as raw:
        raw.seek(offset)
        byte = raw.read(1)
        raw.seek(offset)
        raw.write(bytes([byte[0] ^ 0xFF]))
    return out


def manifest_with(**changes: object) -> Callable[[str, bytes], bytes]:
    def change(name: str, data: bytes) -> bytes:
        if name != MANIFEST:
            return data
        return json.dumps({**json.loads(data), **changes}).encode()

    return change


def damaged(archive: Path, tmp_path: Path) -> dict[str, tuple[Path, type[ArchiveError], str]]:
    cut = tmp_path / "cut.tar"
    cut.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    shorter = lambda name, data: data[:-10] if name == "files/media/b.wav" else data  # noqa: E731
    return {
        "bad sha1 of a sound": (
            flip_byte(archive, tmp_path / "flip-audio.tar", "files/media/c.wav"),
            ChecksumMismatch,
            "files/media/c.wav does not match its sha1",
        ),
        "bad sha1 of a table": (
            flip_byte(archive, tmp_path / "flip-table.tar", "tables/processors.jsonl"),
            ChecksumMismatch,
            "tables/processors.jsonl",
        ),
        "truncated archive": (cut, TruncatedArchive, "truncated"),
        "truncated member": (
            rewrite(archive, tmp_path / "short.tar", shorter),
            TruncatedArchive,
            "files/media/b.wav is missing or not",
        ),
        "newer format": (
            rewrite(archive, tmp_path / "v2.tar", manifest_with(format_version=2)),
            UnsupportedFormat,
            "archive format version 2 is newer than this timeside-gql reads (1)",
        ),
        "not ours": (
            rewrite(archive, tmp_path / "foreign.tar", manifest_with(format="other")),
            NotAnArchive,
            "not a timeside-gql manifest",
        ),
        "malformed row": (
            rewrite(archive, tmp_path / "uuid.tar", _bad_uuid, reseal=True),
            NotAnArchive,
            "a row of table items is malformed",
        ),
        "not json": (
            rewrite(archive, tmp_path / "json.tar", _not_json, reseal=True),
            NotAnArchive,
            "tables/tags.jsonl line 1 is not a JSON object",
        ),
        "unknown table": (
            rewrite(archive, tmp_path / "schema.tar", _rename_table("tags", "labels")),
            SchemaMismatch,
            "no table labels: migrate it first",
        ),
        # A row's path is served by the media routes: it must never name a file elsewhere.
        "absolute path": (
            rewrite(archive, tmp_path / "abs.tar", _source_file("/etc/passwd"), reseal=True),
            UnsafePath,
            "path '/etc/passwd' is not inside the data directory",
        ),
        "escaping path": (
            rewrite(archive, tmp_path / "up.tar", _source_file("../../etc/passwd"), reseal=True),
            UnsafePath,
            "path '../../etc/passwd' is not inside the data directory",
        ),
        "secret key": (  # would forge every signed URL once served as an item's source
            rewrite(archive, tmp_path / "key.tar", _source_file("secret_key"), reseal=True),
            UnsafePath,
            "path 'secret_key' is not in the media or results folder",
        ),
    }


def _bad_uuid(name: str, data: bytes) -> bytes:
    if name != "tables/items.jsonl":
        return data
    row = json.loads(data.splitlines()[-1])
    row["provider_id"] = "not-a-uuid"
    return b"\n".join([*data.splitlines()[:-1], json.dumps(row).encode()]) + b"\n"


def _source_file(path: str) -> Callable[[str, bytes], bytes]:
    def change(name: str, data: bytes) -> bytes:
        if name != "tables/items.jsonl":
            return data
        rows = [json.loads(line) for line in data.splitlines()]
        for row in rows:
            row["source_file"] = path
        return b"".join(json.dumps(row).encode() + b"\n" for row in rows)

    return change


def _not_json(name: str, data: bytes) -> bytes:
    return b"[1, 2]\n" + data if name == "tables/tags.jsonl" else data


def _rename_table(old: str, new: str) -> Callable[[str, bytes], bytes]:
    def change(name: str, data: bytes) -> bytes:
        if name != MANIFEST:
            return data
        manifest = json.loads(data)
        manifest["tables"][new] = manifest["tables"].pop(old)
        return json.dumps(manifest).encode()

    return change


CASES = [
    "bad sha1 of a sound",
    "bad sha1 of a table",
    "truncated archive",
    "truncated member",
    "newer format",
    "not ours",
    "malformed row",
    "not json",
    "unknown table",
    "absolute path",
    "escaping path",
    "secret key",
]


@pytest.mark.parametrize("case", CASES)
def test_damaged_archive_is_refused_with_nothing_imported(
    case: str, archive: Path, tmp_path: Path, new_instance: NewInstance
) -> None:
    path, error, message = damaged(archive, tmp_path)[case]
    target = new_instance("sqlite")
    before = counts(target)
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        load(target.engine, target.data_dir, path)
    assert counts(target) == before
    assert files(target) == {}


def test_not_a_tar_is_refused(tmp_path: Path, new_instance: NewInstance) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"RIFF" + bytes(2000))
    target = new_instance("sqlite")
    with pytest.raises(NotAnArchive, match="not a readable tar archive"):
        load(target.engine, target.data_dir, junk)


def test_conflict_midway_rolls_back_rows_and_staged_files(
    source: Instance, archive: Path, new_instance: NewInstance
) -> None:
    """The target nests the selections the other way round: the archive's edge would close a
    cycle, discovered after the files were staged and most rows written."""
    target = new_instance("sqlite")
    outer, inner = source.ids["outer"], source.ids["inner"]
    with session_scope(target.engine) as s:
        s.add_all([Selection(id=outer, title="o"), Selection(id=inner, title="i")])
        s.flush()
        s.add(SelectionChild(parent_id=inner, child_id=outer))
    before = counts(target)

    with pytest.raises(ImportConflict, match="would create a cycle"):
        load(target.engine, target.data_dir, archive)

    assert counts(target) == before
    assert files(target) == {}
    assert not target.data_dir.exists() or not any(target.data_dir.iterdir())  # no empty dirs


def test_failure_after_files_are_placed_restores_them(
    archive: Path, new_instance: NewInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files renamed into place before the commit go again when it fails; a file they
    replaced comes back."""
    target = new_instance("sqlite")
    stray = target.data_dir / "media" / "a.wav"
    stray.parent.mkdir(parents=True)
    stray.write_bytes(b"the target's own bytes")
    place = staging.Staging.place

    def place_then_fail(self: staging.Staging, relatives: object) -> int:
        assert place(self, relatives) == 16  # type: ignore[arg-type]
        assert stray.read_bytes() != b"the target's own bytes"
        raise OSError("disk full")

    monkeypatch.setattr(staging.Staging, "place", place_then_fail)
    before = counts(target)
    with pytest.raises(OSError, match="disk full"):
        load(target.engine, target.data_dir, archive)
    assert counts(target) == before
    assert files(target) == {"media/a.wav": files(target)["media/a.wav"]}
    assert stray.read_bytes() == b"the target's own bytes"

    monkeypatch.setattr(staging.Staging, "place", place)
    load(target.engine, target.data_dir, archive)  # succeeds: the archive's file wins
    assert stray.read_bytes() != b"the target's own bytes"
    assert not [p for p in target.data_dir.rglob(".*") if p.is_file()]  # no temp or backup left
