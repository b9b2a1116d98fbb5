"""Measure ``dump`` and ``load``: rows per second and file throughput, SQLite and PostgreSQL.

    python bench/bench_portability.py [--items 2000] [--files 20 --file-mb 10] [--postgres URL]

A synthetic instance (rows written in bulk, no audio analysis): N items in one selection, three
results per item, a track of ten annotations per item, a tag per item, and F items with a
random source file of S MiB. Timed: a full dump of it; a load into an empty SQLite instance;
the same load again (everything unchanged: the idempotency pass); with --postgres (default: the
test server, skipped when unreachable) a load into an empty PostgreSQL database and a dump of it.
"""

from __future__ import annotations

import argparse
import os
import secrets
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from bench_core import machine
from sqlmodel import SQLModel, col, select

from timeside_gql.core.params import parameters_hash
from timeside_gql.core.registry import all_processors
from timeside_gql.db.engine import create_engine, session_scope
from timeside_gql.db.migrate import upgrade
from timeside_gql.db.models import Preset, Processor, Selection
from timeside_gql.db.processors import sync_processors
from timeside_gql.db.types import utcnow
from timeside_gql.portability.closure import DumpOptions
from timeside_gql.portability.dump import dump
from timeside_gql.portability.load import load

DEFAULT_POSTGRES = os.environ.get(
    "TIMESIDE_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def table(name: str) -> sa.Table:
    return SQLModel.metadata.tables[name]


def stamp() -> dict[str, Any]:
    now = utcnow()
    return {"id": uuid.uuid4(), "created_at": now, "updated_at": now}


def populate(engine: sa.Engine, data_dir: Path, items: int, files: int, file_mb: int) -> None:
    with session_scope(engine) as s:
        sync_processors(s, all_processors())
        pids = ("level", "mean_dc_shift", "waveform_simple")
        found = s.exec(select(Processor).where(col(Processor.pid).in_(pids)))
        processors = {p.pid: p.id for p in found}
        presets = [
            Preset(processor_id=processors[p], parameters={}, parameters_hash=parameters_hash({}))
            for p in pids
        ]
        selection = Selection(title="all")
        s.add_all([*presets, selection])
        s.flush()
        item_rows = [
            {**stamp(), "title": f"item {n}", "description": "", "source_file": None}
            for n in range(items)
        ]
        media = data_dir / "media"
        media.mkdir(parents=True, exist_ok=True)
        for n, row in enumerate(item_rows[:files]):
            (media / f"{n}.bin").write_bytes(os.urandom(file_mb << 20))
            row["source_file"] = f"media/{n}.bin"
        s.execute(sa.insert(table("items")), item_rows)
        ids = [row["id"] for row in item_rows]
        s.execute(
            sa.insert(table("selection_items")),
            [{"selection_id": selection.id, "item_id": i} for i in ids],
        )
        s.execute(
            sa.insert(table("results")),
            [
                {**stamp(), "item_id": i, "preset_id": p.id, "status": "done", "run_time": 0.5}
                for i in ids
                for p in presets
            ],
        )
        tracks = [{**stamp(), "item_id": i, "title": "t", "description": ""} for i in ids]
        s.execute(sa.insert(table("annotation_tracks")), tracks)
        s.execute(
            sa.insert(table("annotations")),
            [
                {
                    **stamp(),
                    "track_id": t["id"],
                    "start": k,
                    "stop": k + 1,
                    "title": "",
                    "description": "",
                }
                for t in tracks
                for k in range(10)
            ],
        )
        tags = [{**stamp(), "name": f"tag {n}"} for n in range(items)]
        s.execute(sa.insert(table("tags")), tags)
        s.execute(
            sa.insert(table("item_tags")),
            [{"item_id": i, "tag_id": t["id"]} for i, t in zip(ids, tags, strict=True)],
        )


def timed(label: str, action: Callable[[], Any], rows: int, size: int) -> None:
    start = time.perf_counter()
    action()
    seconds = time.perf_counter() - start
    print(f"| {label} | {seconds:.2f} | {rows / seconds:,.0f} | {size / seconds / 2**20:,.0f} |")


def postgres_database(url: str) -> tuple[str, Callable[[], None]] | None:
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    name = f"bench_portability_{secrets.token_hex(3)}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
    except sa.exc.OperationalError:
        return None

    def drop() -> None:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    return sa.make_url(url).set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--files", type=int, default=20)
    parser.add_argument("--file-mb", type=int, default=10)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-portability-"))
    print(machine())

    def instance(name: str, url: str | None = None) -> tuple[sa.Engine, Path]:
        url = url or f"sqlite:///{root / name / 'timeside.db'}"
        upgrade(url)
        return create_engine(url), root / name / "data"

    source, source_dir = instance("source")
    populate(source, source_dir, args.items, args.files, args.file_mb)
    archive = root / "full.tar"
    rows = args.items * (1 + 1 + 3 + 1 + 10 + 1 + 1) + 3 + len(all_processors()) + 1
    size = args.files * (args.file_mb << 20)
    print(f"{rows} rows, {args.files} files of {args.file_mb} MiB")
    print("| step | s | rows/s | MiB/s |\n|---|---|---|---|")
    timed("dump SQLite", lambda: dump(source, source_dir, archive, DumpOptions()), rows, size)
    target, target_dir = instance("target")
    timed("load into empty SQLite", lambda: load(target, target_dir, archive), rows, size)
    timed("load again (unchanged)", lambda: load(target, target_dir, archive), rows, size)
    database = postgres_database(args.postgres)
    if database is None:
        print(f"(PostgreSQL unreachable at {args.postgres}: skipped)")
        return
    url, drop = database
    try:
        pg, pg_dir = instance("pg", url)
        timed("load into empty PostgreSQL", lambda: load(pg, pg_dir, archive), rows, size)
        timed("load again (unchanged)", lambda: load(pg, pg_dir, archive), rows, size)
        back = root / "back.tar"
        timed("dump PostgreSQL", lambda: dump(pg, pg_dir, back, DumpOptions()), rows, size)
        pg.dispose()
    finally:
        drop()


if __name__ == "__main__":
    main()
