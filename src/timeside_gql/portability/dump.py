"""``dump``: rows of every dumped table as JSON lines, then the files they refer to, then the
manifest, into an archive that appears only once complete.

Rows are read in one read transaction (a consistent snapshot on both databases); files are
copied after it, so a dump of a busy instance may hold a result file newer than its row.
"""

from __future__ import annotations

import json
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from timeside_gql import __version__
from timeside_gql.db.types import utcnow
from timeside_gql.portability import closure
from timeside_gql.portability.archive import (
    ArchiveWriter,
    Manifest,
    TableEntry,
    file_member,
    safe_relative,
    table_member,
)
from timeside_gql.portability.closure import DumpOptions, Keys, key_of
from timeside_gql.portability.codec import encode_row
from timeside_gql.portability.datafiles import row_files
from timeside_gql.portability.errors import UnsafePath
from timeside_gql.portability.progress import QUIET, Steps
from timeside_gql.storage import store


def dump(
    engine: Engine, data_dir: Path, out: Path, options: DumpOptions, steps: Steps = QUIET
) -> Manifest:
    writer = ArchiveWriter(out)
    try:
        with tempfile.TemporaryDirectory(dir=out.parent, prefix=".dump-") as work:
            with snapshot(engine) as connection:
                source = _source(connection)
                keep = closure.select_rows(connection, options)
                tables, paths = _write_tables(connection, Path(work), keep, options, steps)
            for name, entry in tables.items():
                writer.add(entry.member, Path(work) / f"{name}.jsonl")
            missing = _add_files(writer, data_dir, paths, steps)
        manifest = Manifest(
            created_at=utcnow().isoformat(),
            app_version=__version__,
            source=source,
            options=options.as_json(),
            tables=tables,
            excluded_tables=closure.excluded_tables(with_users=options.with_users),
            files=writer.files,
            missing_files=missing,
        )
        writer.finish(manifest)
    except BaseException:
        writer.abort()
        raise
    return manifest


@contextmanager
def snapshot(engine: Engine) -> Iterator[sa.Connection]:
    """One read-only transaction seeing one consistent state of every table, that never blocks
    writers: REPEATABLE READ on PostgreSQL; on SQLite a deferred BEGIN (WAL gives it a snapshot
    at its first read), on a connection of its own because the instance's engine begins every
    transaction IMMEDIATE, which would hold the write lock for the whole dump."""
    if engine.dialect.name != "sqlite":
        with engine.connect() as connection:
            connection.execution_options(isolation_level="REPEATABLE READ")
            with connection.begin() as transaction:
                connection.exec_driver_sql("SET TRANSACTION READ ONLY")
                yield connection
                transaction.rollback()
        return
    reader = sa.create_engine(engine.url, poolclass=sa.NullPool)
    try:
        with reader.connect() as connection:
            connection.exec_driver_sql("BEGIN DEFERRED")
            yield connection
            connection.rollback()
    finally:
        reader.dispose()


def _source(connection: sa.Connection) -> dict[str, object]:
    revision = None
    if sa.inspect(connection).has_table("alembic_version"):
        revision = connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    return {
        "host": socket.gethostname(),
        "database": connection.dialect.name,
        "schema_revision": revision,
    }


def _write_tables(
    connection: sa.Connection, work: Path, keep: Keys | None, options: DumpOptions, steps: Steps
) -> tuple[dict[str, TableEntry], set[str]]:
    """One JSON-lines file per table; returns the entries and the files the rows refer to."""
    tables = closure.dumped_tables(with_users=options.with_users)
    advance = steps.step("tables", len(tables))
    entries: dict[str, TableEntry] = {}
    paths: set[str] = set()
    for table in tables:
        wanted = None if keep is None else keep.get(table.name, set())
        count = 0
        with open(work / f"{table.name}.jsonl", "w", encoding="utf-8") as out:
            query = sa.select(table).order_by(*table.primary_key.columns)
            for row in connection.execute(query).mappings():
                if wanted is not None and key_of(table, row) not in wanted:
                    continue
                out.write(json.dumps(encode_row(dict(row)), ensure_ascii=False) + "\n")
                paths.update(p for _, p in row_files(table.name, row, audio=not options.no_audio))
                count += 1
        columns = [c.name for c in table.columns]
        entries[table.name] = TableEntry(
            member=table_member(table.name), rows=count, columns=columns
        )
        advance(1)
    return entries, paths


def _add_files(writer: ArchiveWriter, data_dir: Path, paths: set[str], steps: Steps) -> list[str]:
    """Add each file; those absent (or outside the data dir) are listed as missing."""
    present: dict[str, Path] = {}
    missing = []
    for relative in sorted(paths):
        try:
            path = data_dir / safe_relative(relative)
            store.ensure_local(data_dir, relative, path)
        except UnsafePath:
            path = None
        if path is not None and path.is_file():
            present[relative] = path
        else:
            missing.append(relative)
    advance = steps.step("files", sum(p.stat().st_size for p in present.values()))
    for relative, path in present.items():
        writer.add(file_member(relative), path, advance)
    return missing
