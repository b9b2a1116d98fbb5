"""A populated instance round-tripped SQLite → PostgreSQL → SQLite, every column of every table
and every file compared; loading twice changes nothing; the archive describes itself."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from tests.portability.world import Instance, files, rows, tables
from timeside_gql import __version__
from timeside_gql.db.engine import session_scope
from timeside_gql.db.models import Tag
from timeside_gql.portability.archive import FORMAT_VERSION, ArchiveReader
from timeside_gql.portability.closure import DumpOptions
from timeside_gql.portability.datafiles import FILE_COLUMNS
from timeside_gql.portability.dump import dump, snapshot
from timeside_gql.portability.load import load

NewInstance = Callable[[str], Instance]


@pytest.fixture(scope="module")
def with_users(source: Instance, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("archives") / "with-users.tar"
    dump(source.engine, source.data_dir, out, DumpOptions(with_users=True))
    return out


@pytest.mark.postgres
def test_sqlite_to_postgresql_and_back_keeps_every_row_and_file(
    source: Instance, with_users: Path, new_instance: NewInstance, tmp_path: Path
) -> None:
    expected_rows, expected_files = tables(source), files(source)
    assert all(expected_rows.values())  # every table of the schema has rows to compare
    assert len(expected_files) == 4 + 12  # four sounds, twelve result files

    postgres = new_instance("postgresql")
    load(postgres.engine, postgres.data_dir, with_users)
    assert tables(postgres) == expected_rows
    assert files(postgres) == expected_files

    back = tmp_path / "back.tar"
    dump(postgres.engine, postgres.data_dir, back, DumpOptions(with_users=True))
    sqlite = new_instance("sqlite")
    load(sqlite.engine, sqlite.data_dir, back)
    assert tables(sqlite) == expected_rows
    assert files(sqlite) == expected_files


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_loading_twice_changes_nothing(
    backend: str, with_users: Path, new_instance: NewInstance
) -> None:
    target = new_instance(backend)
    first = load(target.engine, target.data_dir, with_users)
    assert first.counts["items"]["inserted"] == 4 and first.files_placed == 16
    before = tables(target)
    mtimes = {p: p.stat().st_mtime_ns for p in target.data_dir.rglob("*") if p.is_file()}

    again = load(target.engine, target.data_dir, with_users)

    assert tables(target) == before  # row counts, values and updated_at alike
    assert {p: p.stat().st_mtime_ns for p in target.data_dir.rglob("*") if p.is_file()} == mtimes
    assert again.files_placed == 0 and again.files_present == 16
    assert all(set(counts) == {"unchanged"} for counts in again.counts.values())
    assert sum(c["unchanged"] for c in again.counts.values()) == sum(map(len, before.values()))


def test_every_table_is_dumped_or_excluded(archive: Path, with_users: Path) -> None:
    everything = set(SQLModel.metadata.tables)
    with ArchiveReader(archive) as reader:
        manifest = reader.manifest
    instance = {"outbox", "webhooks", "webhook_deliveries"}
    assert set(manifest.excluded_tables) == {"users", "api_tokens", *instance}
    assert set(manifest.tables) == everything - {"users", "api_tokens", *instance}
    with ArchiveReader(with_users) as reader:
        assert set(reader.manifest.tables) == everything - instance
        assert set(reader.manifest.excluded_tables) == instance


def test_manifest_describes_the_archive(source: Instance, archive: Path) -> None:
    with ArchiveReader(archive) as reader:
        manifest = reader.manifest
        jsonl = reader.open("tables/items.jsonl").raw.read().decode()
    assert manifest.format_version == FORMAT_VERSION
    assert manifest.app_version == __version__
    assert manifest.source["database"] == "sqlite"
    assert manifest.source["schema_revision"]
    assert manifest.options == {
        "selection": None,
        "since": None,
        "no_audio": False,
        "with_users": False,
    }
    counts = {name: len(found) for name, found in tables(source).items()}
    assert {name: t.rows for name, t in manifest.tables.items()} == {
        name: n for name, n in counts.items() if name not in {"users", "api_tokens"}
    }
    for relative, entry in manifest.data_files().items():
        data = (source.data_dir / relative).read_bytes()
        assert (entry.sha1, entry.size) == (hashlib.sha1(data).hexdigest(), len(data))
    assert manifest.missing_files == []
    # values are encoded losslessly: UUIDs, aware timestamps, enums by value
    first = jsonl.splitlines()[0]
    assert '"ingest_status": "done"' in first and "+00:00" in first


def test_archive_appears_only_when_complete(source: Instance, tmp_path: Path) -> None:
    out = tmp_path / "dump.tar"
    dump(source.engine, source.data_dir, out, DumpOptions())
    assert os.listdir(tmp_path) == ["dump.tar"]  # no partial file, no work dir left


def test_files_missing_at_dump_time_are_listed(
    origin_and_copy: tuple[Instance, Instance], tmp_path: Path, new_instance: NewInstance
) -> None:
    origin, _ = origin_and_copy
    image = next(r for r in rows(origin, "results") if r["file_path"])
    (origin.data_dir / image["file_path"]).unlink()
    out = tmp_path / "holes.tar"
    manifest = dump(origin.engine, origin.data_dir, out, DumpOptions())
    assert manifest.missing_files == [image["file_path"]]
    target = new_instance("sqlite")
    load(target.engine, target.data_dir, out)
    loaded = {r["id"]: r for r in rows(target, "results")}[image["id"]]
    assert loaded["file_path"] is None and loaded["hdf5_path"] == image["hdf5_path"]


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_dump_reads_one_snapshot_and_never_blocks_writers(
    backend: str, new_instance: NewInstance
) -> None:
    instance = new_instance(backend)
    with session_scope(instance.engine) as s:
        s.add(Tag(name="before"))
    count = sa.select(sa.func.count()).select_from(Tag)
    with snapshot(instance.engine) as connection:
        assert connection.execute(count).scalar() == 1
        # a writer goes through (SQLite: it would wait for the lock, then fail "locked")...
        with session_scope(instance.engine) as s:
            s.add(Tag(name="during"))
        # ...and the dump still sees the state it started with
        assert connection.execute(count).scalar() == 1
    assert sorted(r["name"] for r in rows(instance, "tags")) == ["before", "during"]


def test_every_path_column_is_declared_so_its_files_travel() -> None:
    """A column added later that holds a data-dir path must be listed in FILE_COLUMNS, or its
    files would silently stay behind (names ending in _file or _path by convention)."""
    for table in SQLModel.metadata.tables.values():
        paths = {c.name for c in table.c if c.name.endswith(("_file", "_path"))}
        assert paths == set(FILE_COLUMNS.get(table.name, ())), table.name
