"""Which tables and rows a dump holds, computed from the schema's foreign keys.

Every table of the metadata is dumped except users and API tokens (unless ``--with-users``),
so tables added later are covered without touching this module.

Subsets (``--selection``, ``--since``) are closed under references: every row a dumped row
points to is dumped too (authors excepted when users stay out), so an archive always loads on
its own. A selection's subset walks foreign keys both ways:

- *down*: a row joins when every non-null foreign key it has to a content table points into
  the subset (results, jobs, tasks, annotation tracks, links between included rows...); a row
  with foreign keys to shared tables only is a *part* of the rows its CASCADE keys point to
  (an experience's preset list, a user's tokens);
- *up*: the rows referenced by included rows (presets, processors, experiences, tags, providers).

SHARED tables hold definitions that many corpora use: they enter a subset only because an
included row refers to them, never because they refer to one (a preset does not bring every
result computed with it).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import SQLModel

from timeside_gql.db import models  # noqa: F401  (every table on the metadata)
from timeside_gql.portability.errors import NotFound

USER_TABLES: dict[str, str] = {
    "users": "accounts stay on their instance unless --with-users",
    "api_tokens": "credentials stay on their instance unless --with-users",
}
#: State of this instance's processes, meaningless on another: never dumped.
INSTANCE_TABLES: dict[str, str] = {
    "outbox": "messages to this instance's broker are its own",
    "webhooks": "endpoints and their secrets are this instance's: register them on the other",
    "webhook_deliveries": "the log of this instance's deliveries",
}
SHARED = frozenset(
    {"users", "providers", "processors", "presets", "tags", "experiences", "analyses"}
)

Key = tuple[Any, ...]
Keys = dict[str, set[Key]]


@dataclass(frozen=True, slots=True)
class DumpOptions:
    selection: uuid.UUID | None = None
    since: datetime | None = None
    no_audio: bool = False
    with_users: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "selection": str(self.selection) if self.selection else None,
            "since": self.since.isoformat() if self.since else None,
            "no_audio": self.no_audio,
            "with_users": self.with_users,
        }


def excluded_tables(*, with_users: bool) -> dict[str, str]:
    return dict(INSTANCE_TABLES) | ({} if with_users else dict(USER_TABLES))


def dumped_tables(*, with_users: bool) -> list[sa.Table]:
    """Parents before children (the order load inserts them in)."""
    excluded = excluded_tables(with_users=with_users)
    return [t for t in SQLModel.metadata.sorted_tables if t.name not in excluded]


def key_of(table: sa.Table, row: Mapping[Any, Any]) -> Key:
    return tuple(row[c.name] for c in table.primary_key)


def select_rows(connection: sa.Connection, options: DumpOptions) -> Keys | None:
    """The primary keys to dump per table, or None for every row."""
    if options.selection is None and options.since is None:
        return None
    graph = Graph(connection, dumped_tables(with_users=options.with_users))
    keep = graph.selection(options.selection) if options.selection else None
    if options.since is not None:
        keep = graph.since(options.since, within=keep)
    assert keep is not None
    return keep


class Graph:
    """The keys, foreign keys and update times of every dumped row, walked in memory."""

    def __init__(self, connection: sa.Connection, tables: list[sa.Table]) -> None:
        self.tables = tables
        names = {t.name for t in tables}
        self.fks = {
            t.name: [fk for fk in t.foreign_keys if fk.column.table.name in names] for t in tables
        }
        self.rows: dict[str, dict[Key, Mapping[Any, Any]]] = {}
        for table in tables:
            columns = {*table.primary_key.columns, *(fk.parent for fk in self.fks[table.name])}
            if "updated_at" in table.c:
                columns.add(table.c.updated_at)
            found = connection.execute(sa.select(*columns)).mappings()
            self.rows[table.name] = {key_of(table, row): row for row in found}

    # -- subsets -------------------------------------------------------------------------------

    def selection(self, selection_id: uuid.UUID) -> Keys:
        if (selection_id,) not in self.rows["selections"]:
            raise NotFound(f"no selection {selection_id}")
        keep: Keys = defaultdict(set)
        keep["selections"] = self._descendants(selection_id)
        for row in self.rows["selection_items"].values():
            if (row["selection_id"],) in keep["selections"]:
                keep["items"].add((row["item_id"],))
        while self._down(keep) | self._up(keep):
            pass
        return keep

    def since(self, since: datetime, *, within: Keys | None) -> Keys:
        """Rows updated since ``since``; links touching one; and what they all refer to."""
        keep: Keys = defaultdict(set)
        for table in self.tables:
            rows = self._candidates(table.name, within)
            if "updated_at" in table.c:
                keep[table.name] = {k for k, r in rows.items() if r["updated_at"] >= since}
        for table in self.tables:
            if "updated_at" not in table.c:
                rows = self._candidates(table.name, within)
                keep[table.name] = {k for k, r in rows.items() if self._touches(table, r, keep)}
        while self._up(keep):
            pass
        return keep

    def _candidates(self, name: str, within: Keys | None) -> dict[Key, Mapping[Any, Any]]:
        rows = self.rows[name]
        return rows if within is None else {k: rows[k] for k in within.get(name, ())}

    def _touches(self, table: sa.Table, row: Mapping[Any, Any], keep: Keys) -> bool:
        return any(
            (row[fk.parent.name],) in keep[fk.column.table.name] for fk in self.fks[table.name]
        )

    def _descendants(self, root: uuid.UUID) -> set[Key]:
        children: dict[Any, list[Any]] = defaultdict(list)
        for row in self.rows["selection_children"].values():
            children[row["parent_id"]].append(row["child_id"])
        seen, todo = {root}, [root]
        while todo:
            for child in children[todo.pop()]:
                if child not in seen:
                    seen.add(child)
                    todo.append(child)
        return {(s,) for s in seen}

    # -- walking -------------------------------------------------------------------------------

    def _down(self, keep: Keys) -> bool:
        grew = False
        for table in self.tables:
            if table.name in SHARED:
                continue
            owners = [fk for fk in self.fks[table.name] if fk.column.table.name not in SHARED]
            if not owners:
                owners = [fk for fk in self.fks[table.name] if fk.ondelete == "CASCADE"]
            if not owners:
                continue
            for key, row in self.rows[table.name].items():
                if key not in keep[table.name] and _all_in(row, owners, keep):
                    keep[table.name].add(key)
                    grew = True
        return grew

    def _up(self, keep: Keys) -> bool:
        grew = False
        for table in self.tables:
            rows = self.rows[table.name]
            for fk in self.fks[table.name]:
                target = keep[fk.column.table.name]
                for value in _values(rows, keep[table.name], fk.parent.name):
                    if (value,) not in target:
                        target.add((value,))
                        grew = True
        return grew


def _all_in(row: Mapping[Any, Any], fks: Iterable[sa.ForeignKey], keep: Keys) -> bool:
    values = [(row[fk.parent.name], fk.column.table.name) for fk in fks]
    present = [(v, t) for v, t in values if v is not None]
    return bool(present) and all((v,) in keep[t] for v, t in present)


def _values(rows: Mapping[Key, Mapping[Any, Any]], keys: set[Key], column: str) -> set[Any]:
    return {rows[k][column] for k in keys if rows[k][column] is not None}
