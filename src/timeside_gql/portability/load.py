"""``load``: import an archive into this instance, all or nothing.

Order: the manifest and every member's sha1 are checked; files are staged beside their targets
(see staging); then ONE transaction upserts the rows table by table, parents first, and the
staged files are renamed into place just before it commits. Any failure rolls both back.

Reconciling rows with the target's (docs/operations.md has the user-facing rules):

- a row is matched by primary key, else by a natural key (a unique constraint: processor
  pid+version, preset processor+parameters hash, provider pid, tag name, result item+preset...),
  in which case the archive's id is remapped to the target's for every row referring to it;
- matched rows equal but for timestamps are left alone (loading twice changes nothing); rows
  that differ take the archive's values when its ``updated_at`` is newer, except processors and
  providers, which each instance syncs from its own code, and accounts: the target's stand;
- link tables (no id of their own) are insert-if-absent;
- references to tables the archive left out (authors, when users stayed out) keep a value the
  target knows, else become the ``--author`` user or NULL, and never change an existing row.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from timeside_gql.db.auth import get_user
from timeside_gql.db.engine import session_scope
from timeside_gql.db.errors import DataError, UnknownUser
from timeside_gql.db.models import Selection
from timeside_gql.db.selections import add_child
from timeside_gql.portability.archive import ArchiveReader, Manifest, safe_relative
from timeside_gql.portability.closure import Key, key_of
from timeside_gql.portability.codec import decode_row
from timeside_gql.portability.datafiles import row_files
from timeside_gql.portability.errors import (
    ImportConflict,
    NotAnArchive,
    NotFound,
    SchemaMismatch,
)
from timeside_gql.portability.progress import QUIET, Advance, Steps
from timeside_gql.portability.staging import Staging

BATCH = 500
# The target's rows stand, ids are mapped: processors and providers are synced from each
# instance's own code at migrate; accounts (passwords, rights, tokens) never change by import.
TARGET_WINS = frozenset({"processors", "providers", "users", "api_tokens"})
_NOT_COMPARED = frozenset({"id", "created_at", "updated_at"})


@dataclass
class LoadReport:
    counts: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    files_placed: int = 0
    files_present: int = 0


def load(
    engine: Engine,
    data_dir: Path,
    archive: Path,
    *,
    author: str | None = None,
    steps: Steps = QUIET,
) -> LoadReport:
    with ArchiveReader(archive) as reader:
        manifest = reader.manifest
        reader.verify(steps.step("verifying", reader.total_size()))
        tables = target_tables(manifest)
        files = manifest.data_files()
        staging = Staging(data_dir)
        try:
            staging.stage(reader, files, steps.step("files", sum(e.size for e in files.values())))
            with session_scope(engine) as session:
                importer = Importer(
                    session, staging, set(manifest.tables), _author(session, author)
                )
                advance = steps.step("rows", sum(t.rows for t in manifest.tables.values()))
                for table in tables:
                    importer.load(table, reader.rows(table.name), advance)
                placed = staging.place(importer.files)
        except (sa.exc.IntegrityError, DataError) as error:
            staging.rollback()
            raise ImportConflict(
                f"the archive conflicts with this instance: {_line(error)}"
            ) from None
        except BaseException:
            staging.rollback()
            raise
        staging.finish()
    return LoadReport(importer.counts, placed, len(staging.present))


def target_tables(manifest: Manifest) -> list[sa.Table]:
    """This instance's tables for the archive's, parents first; refuses what it cannot hold."""
    metadata = SQLModel.metadata
    unknown = sorted(set(manifest.tables) - set(metadata.tables))
    if unknown:
        raise SchemaMismatch(f"this instance has no table {', '.join(unknown)}: migrate it first")
    for name, entry in manifest.tables.items():
        table = metadata.tables[name]
        extra = sorted(set(entry.columns) - set(table.c.keys()))
        if extra:
            raise SchemaMismatch(
                f"this instance has no column {name}.{', '.join(extra)}: migrate it first"
            )
        lacking = [
            c.name
            for c in table.c
            if c.name not in entry.columns and not c.nullable and c.default is None
        ]
        if lacking:
            raise SchemaMismatch(f"the archive lacks required column {name}.{', '.join(lacking)}")
    return [t for t in metadata.sorted_tables if t.name in manifest.tables]


def _author(session: Session, username: str | None) -> Any:
    if username is None:
        return None
    try:
        return get_user(session, username).id
    except UnknownUser:
        raise NotFound(f"no user {username!r} on this instance (--author)") from None


def _line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error)
    return text.strip().splitlines()[0] if text.strip() else type(error).__name__


class Importer:
    """Upserts one table at a time, remapping references to rows matched by natural key."""

    def __init__(self, session: Session, staging: Staging, archived: set[str], author: Any) -> None:
        self.session, self.staging, self.archived, self.author = session, staging, archived, author
        self.remap: dict[str, dict[Any, Any]] = defaultdict(dict)
        self.known: dict[str, dict[Any, bool]] = defaultdict(dict)
        self.counts: dict[str, Counter[str]] = defaultdict(Counter)
        self.files: set[str] = set()
        self.new_users: set[Any] = set()  # accounts inserted by this load

    def load(self, table: sa.Table, rows: Iterable[dict[str, Any]], advance: Advance) -> None:
        for batch in _batches(rows, BATCH):
            self._batch(table, [self._decoded(table, row) for row in batch])
            advance(len(batch))

    def _foreign_credential(self, table: sa.Table, row: dict[str, Any]) -> bool:
        """A new token of an account this load did not create: one that met an existing
        account here (by username, or by id: user ids are public) would let its holder in."""
        return table.name == "api_tokens" and row["user_id"] not in self.new_users

    def _decoded(self, table: sa.Table, row: dict[str, Any]) -> dict[str, Any]:
        try:
            decoded = self._remapped(table, decode_row(table, row))
        except (KeyError, ValueError, TypeError, AttributeError) as error:
            raise NotAnArchive(f"a row of table {table.name} is malformed ({error!r})") from None
        for _, path in row_files(table.name, decoded):
            safe_relative(path)  # routes serve these files: never one outside the data dir
        return decoded

    def _remapped(self, table: sa.Table, row: dict[str, Any]) -> dict[str, Any]:
        for fk in table.foreign_keys:
            mapping = self.remap.get(fk.column.table.name)
            if mapping and row.get(fk.parent.name) in mapping:
                row[fk.parent.name] = mapping[row[fk.parent.name]]
        return row

    def _batch(self, table: sa.Table, rows: list[dict[str, Any]]) -> None:
        found = self._existing(table, rows)
        inserts = []
        for row in rows:
            old = found.get(key_of(table, row))
            if old is not None:
                self._merge(table, row, old)
            elif self._foreign_credential(table, row):
                self.counts[table.name]["skipped"] += 1
            else:
                inserts.append(self._new(table, row))
        if inserts:
            if table.name == "users":
                self.new_users.update(row["id"] for row in inserts)
            INSERTERS.get(table.name, _insert)(self.session, table, inserts)
            self.counts[table.name]["inserted"] += len(inserts)

    # -- matching ------------------------------------------------------------------------------

    def _existing(
        self, table: sa.Table, rows: list[dict[str, Any]]
    ) -> dict[Key, Mapping[str, Any]]:
        """Target rows matching ``rows``, by the rows' keys; natural-key matches remap ids."""
        pk = list(table.primary_key.columns)
        found = {
            key_of(table, old): old
            for old in self._select(table, pk, [key_of(table, r) for r in rows])
        }
        loose = [row for row in rows if key_of(table, row) not in found]
        for columns in _natural_keys(table):
            if not loose:
                break
            values = [tuple(row[c.name] for c in columns) for row in loose]
            olds = {
                tuple(o[c.name] for c in columns): o for o in self._select(table, columns, values)
            }
            still = []
            for row, value in zip(loose, values, strict=True):
                old = olds.get(value)
                if old is None:
                    still.append(row)
                    continue
                if "id" in table.c and row["id"] != old["id"]:
                    self.remap[table.name][row["id"]] = row["id"] = old["id"]
                    self.counts[table.name]["remapped"] += 1
                found[key_of(table, row)] = old
            loose = still
        return found

    def _select(
        self, table: sa.Table, columns: Sequence[sa.Column[Any]], values: list[Key]
    ) -> list[Mapping[Any, Any]]:
        found: list[Mapping[Any, Any]] = []
        for chunk in _batches(values, BATCH):
            if len(columns) == 1:
                where = columns[0].in_([v[0] for v in chunk])
            else:
                where = sa.tuple_(*columns).in_(chunk)
            found += self.session.execute(sa.select(table).where(where)).mappings().all()
        return found

    # -- writing -------------------------------------------------------------------------------

    def _new(self, table: sa.Table, row: dict[str, Any]) -> dict[str, Any]:
        for fk in self._outside(table):
            row[fk.parent.name] = self._foreign(table, fk, row[fk.parent.name])
        for column, path in row_files(table.name, row):
            if self.staging.exists(path):
                self.files.add(path)
            else:  # neither in the archive (--no-audio) nor here: this instance lacks the file
                row[column] = None
        return row

    def _merge(self, table: sa.Table, row: dict[str, Any], old: Mapping[str, Any]) -> None:
        for fk in self._outside(table):  # ownership is local when users stayed out
            row[fk.parent.name] = old[fk.parent.name]
        for column, path in row_files(table.name, row):
            if not self.staging.exists(path):
                row[column] = old[column]
        changed = {
            c: v
            for c, v in row.items()
            if c not in _NOT_COMPARED and c not in table.primary_key.columns and v != old[c]
        }
        if not changed:
            self.counts[table.name]["unchanged"] += 1
            self.files.update(
                p for _, p in row_files(table.name, row) if not (self.staging.root / p).is_file()
            )
        elif not _archive_wins(table, row, old):
            self.counts[table.name]["kept"] += 1
        else:
            changed["updated_at"] = row["updated_at"]
            match = [c == old[c.name] for c in table.primary_key.columns]
            self.session.execute(sa.update(table).where(*match).values(changed))
            self.files.update(p for _, p in row_files(table.name, row))
            self.counts[table.name]["updated"] += 1

    def _outside(self, table: sa.Table) -> list[sa.ForeignKey]:
        return [fk for fk in table.foreign_keys if fk.column.table.name not in self.archived]

    def _foreign(self, table: sa.Table, fk: sa.ForeignKey, value: Any) -> Any:
        """A reference to a row the archive does not hold: kept when this instance has it."""
        if value is None or self._knows(fk.column, value):
            return value
        if fk.column.table.name == "users" and self.author is not None:
            return self.author
        if fk.parent.nullable:
            return None
        raise ImportConflict(
            f"{table.name}.{fk.parent.name} refers to {fk.column.table.name} {value}, "
            "which is neither in the archive nor on this instance"
        )

    def _knows(self, column: sa.Column[Any], value: Any) -> bool:
        known = self.known[column.table.name]
        if value not in known:
            query = sa.select(column).where(column == value)
            known[value] = self.session.execute(query).first() is not None
        return known[value]


def _archive_wins(table: sa.Table, row: Mapping[str, Any], old: Mapping[str, Any]) -> bool:
    if table.name in TARGET_WINS or "updated_at" not in table.c or "id" not in table.c:
        return False  # link tables are insert-if-absent
    return bool(row["updated_at"] > old["updated_at"])


def _natural_keys(table: sa.Table) -> list[list[sa.Column[Any]]]:
    return [
        list(c.columns)
        for c in table.constraints
        if isinstance(c, sa.UniqueConstraint) and set(c.columns) != set(table.primary_key.columns)
    ]


def _insert(session: Session, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    session.execute(sa.insert(table), rows)


def _insert_edges(session: Session, _: sa.Table, rows: list[dict[str, Any]]) -> None:
    """Selection nesting goes through db.selections, which refuses a cycle the merge of two
    graphs would close."""
    for row in rows:
        parent = session.get(Selection, row["parent_id"])
        assert parent is not None  # parents are loaded first, and foreign keys hold
        add_child(session, parent, row["child_id"])


INSERTERS: dict[str, Callable[[Session, sa.Table, list[dict[str, Any]]], None]] = {
    "selection_children": _insert_edges,
}


def _batches(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch
