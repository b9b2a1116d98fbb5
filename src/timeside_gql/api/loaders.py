"""Per-operation DataLoaders: every relation of the graph is one batched, visibility-filtered
SELECT per level of a query, whatever the number of parents.

Loaders are keyed by what they load (model and column), created on first use and dropped with
the operation, so nothing is cached across requests or across the writes of a mutation.

Each loader also keeps what it has loaded (:class:`Batch`), and rows read for one purpose are
recorded for the others: a page's rows answer lookups by id, and results come with their
presets and processors (catalogue rows, one joined SELECT in the same worker-thread hop). A
resolver whose data is on hand then answers without an await (:meth:`Batch.get`):
graphql-core completes a plain value in a fraction of the time of an awaitable, and a nested
read of 50 items x 10 results otherwise awaits a thousand of them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from typing import Any, Generic, TypeVar
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Session, col
from strawberry.dataloader import DataLoader

from timeside_gql.db import models as m
from timeside_gql.db.selections import descendants
from timeside_gql.db.snapshots import columns, keyed_snapshots, rows, snapshot, snapshots
from timeside_gql.db.visibility import Viewer, visible

Row = TypeVar("Row", bound=m.Entity)
K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")

# Keys per SELECT ... IN (...): far below the bind-parameter limits of SQLite and PostgreSQL.
MAX_BATCH = 1000
Reader = Callable[..., Awaitable[Any]]


def newest_first(model: type[m.Entity]) -> tuple[Any, ...]:
    """The order of every list: newest first, id to break ties (cursor pagination relies on it)."""
    return (col(model.created_at).desc(), col(model.id).desc())


class Batch(Generic[K, V]):
    """One relation of one operation: a DataLoader, and every value loaded so far."""

    def __init__(
        self, read: Reader, load: Callable[[Session, list[K]], list[V]], loaded: Recorder
    ) -> None:
        self._load = load
        self._loaded = loaded
        self.found: dict[K, V] = {}
        self._made: dict[K, Any] = {}

        async def batch(keys: list[K]) -> list[V]:
            return await read(self.fill, list(keys))

        self._loader: DataLoader[K, V] = DataLoader(batch, max_batch_size=MAX_BATCH)

    def fill(self, session: Session, keys: list[K]) -> list[V]:
        """Load ``keys`` now (in the worker thread holding ``session``) and keep the values."""
        values = self._load(session, keys)
        self.found.update(zip(keys, values, strict=True))
        self._loaded(session, values)
        return values

    async def load(self, key: K) -> V:
        if key in self.found:
            return self.found[key]
        return await self._loader.load(key)

    async def load_many(self, keys: Iterable[K]) -> list[V]:
        keys = list(keys)
        if missing := [key for key in keys if key not in self.found]:
            await self._loader.load_many(missing)
        return [self.found[key] for key in keys]

    def get(self, key: K, convert: Callable[[V], T]) -> T | Awaitable[T]:
        """``convert`` of the value, at once when it is loaded, else an awaitable of it.

        A batch is always read through the same ``convert``: it runs once per key (the preset
        of 500 results is converted once).
        """
        if key in self._made:
            return self._made[key]  # type: ignore[no-any-return]
        if key in self.found:
            made = self._made[key] = convert(self.found[key])
            return made
        return _converted(self._loader.load(key), convert)


async def _converted(value: Awaitable[V], convert: Callable[[V], T]) -> T:
    return convert(await value)


Recorder = Callable[[Session, list[Any]], None]


class Loaders:
    """Factory and cache of the loaders of one operation."""

    def __init__(self, read: Reader, viewer: Viewer) -> None:
        self._read = read
        self._viewer = viewer
        self._cache: dict[Hashable, Batch[Any, Any]] = {}
        self._fields: dict[Hashable, Batch[Any, Any]] = {}

    def relation(self, field: Hashable, batch: Callable[[Loaders], Batch[K, V]]) -> Batch[K, V]:
        """``batch(self)``, kept under ``field`` (a relation field read once per object of a
        page asks here rather than naming its loader again)."""
        found = self._fields.get(field)
        if found is None:
            found = self._fields[field] = batch(self)
        return found

    def _get(self, key: Hashable, load: Callable[[Session, list[Any]], list[Any]]) -> Batch:
        batch = self._cache.get(key)
        if batch is None:
            batch = self._cache[key] = Batch(self._read, load, self.loaded)
        return batch

    def loaded(self, session: Session, values: list[Any]) -> None:
        """Record rows read (in the worker thread): they answer lookups by id, and results
        and analyses bring their presets and processors along (one SELECT for all)."""
        flat = [row for value in values for row in (value if isinstance(value, list) else [value])]
        by_model: dict[type[Any], dict[Any, Any]] = {}
        for row in flat:
            if isinstance(row, m.Entity):
                model = type(row)
                if model not in by_model:
                    by_model[model] = self.by_id(model).found
                by_model[model].setdefault(row.id, row)
        presets = self.by_id(m.Preset).found
        wanted = {
            row.preset_id
            for row in flat
            if isinstance(row, m.Result | m.Analysis) and row.preset_id not in presets
        }
        if wanted:
            processors = self.by_id(m.Processor).found
            stmt = (
                sa.select(*columns(m.Preset), *columns(m.Processor))
                .join(m.Processor, col(m.Processor.id) == col(m.Preset.processor_id))
                .where(col(m.Preset.id).in_(wanted))
            )
            split = len(columns(m.Preset))
            for row in rows(session, stmt):
                preset = snapshot(m.Preset, row[:split])
                processor = snapshot(m.Processor, row[split:])
                presets[preset.id] = preset
                processors[processor.id] = processor

    def by_id(self, model: type[Row]) -> Batch[UUID, Row | None]:
        """Rows by primary key; ``None`` for ids that do not exist or are not visible."""
        viewer = self._viewer

        def load(session: Session, ids: list[UUID]) -> list[Row | None]:
            stmt = sa.select(*columns(model)).where(col(model.id).in_(ids), visible(model, viewer))
            found = {row.id: row for row in snapshots(session, stmt, model)}
            return [found.get(i) for i in ids]

        return self._get(("id", model), load)

    def by_column(
        self, model: type[Row], column: str, *, order_by: Sequence[Any] | None = None
    ) -> Batch[UUID, list[Row]]:
        """Visible rows whose ``column`` equals each key (the reverse side of a foreign key)."""
        viewer = self._viewer

        def load(session: Session, keys: list[UUID]) -> list[list[Row]]:
            key = col(getattr(model, column))
            stmt = sa.select(key, *columns(model)).where(key.in_(keys), visible(model, viewer))
            stmt = stmt.order_by(*_order(model, order_by))
            return _group(keys, keyed_snapshots(session, stmt, model))

        return self._get(("column", model, column, _key(order_by)), load)

    def linked(
        self,
        link: type[Any],
        source: str,
        target: str,
        model: type[Row],
        *,
        order_by: Sequence[Any] | None = None,
    ) -> Batch[UUID, list[Row]]:
        """Visible ``model`` rows reached through the many-to-many table ``link``."""
        viewer = self._viewer

        def load(session: Session, keys: list[UUID]) -> list[list[Row]]:
            src, dst = col(getattr(link, source)), col(getattr(link, target))
            stmt = (
                sa.select(src, *columns(model))
                .select_from(link)
                .join(model, col(model.id) == dst)
                .where(src.in_(keys), visible(model, viewer))
                .order_by(*_order(model, order_by))
            )
            return _group(keys, keyed_snapshots(session, stmt, model))

        return self._get(("link", link, source, target, model, _key(order_by)), load)

    def selection_items(self) -> Batch[UUID, list[m.Item]]:
        """Every visible item of each selection and of its visible sub-selections, once each."""
        viewer = self._viewer

        def load(session: Session, keys: list[UUID]) -> list[list[m.Item]]:
            tree = selection_tree(keys, viewer)
            stmt = (
                sa.select(tree.c.root, *columns(m.Item))
                .join(m.SelectionItem, col(m.SelectionItem.selection_id) == tree.c.selection_id)
                .join(m.Item, col(m.Item.id) == col(m.SelectionItem.item_id))
                .where(visible(m.Item, viewer))
                .order_by(*newest_first(m.Item))
            )
            grouped = _group(keys, keyed_snapshots(session, stmt, m.Item))
            return [list({item.id: item for item in items}.values()) for items in grouped]

        return self._get("selection_items", load)

    def task_results(self) -> Batch[UUID, list[m.Result]]:
        """Results of each task: its experience's presets on the items of its jobs."""
        viewer = self._viewer

        def load(session: Session, keys: list[UUID]) -> list[list[m.Result]]:
            stmt = (
                sa.select(col(m.Job.task_id), *columns(m.Result))
                .select_from(m.Job)
                .join(m.Task, col(m.Task.id) == col(m.Job.task_id))
                .join(
                    m.ExperiencePreset,
                    col(m.ExperiencePreset.experience_id) == col(m.Task.experience_id),
                )
                .join(
                    m.Result,
                    sa.and_(
                        col(m.Result.item_id) == col(m.Job.item_id),
                        col(m.Result.preset_id) == col(m.ExperiencePreset.preset_id),
                    ),
                )
                .where(col(m.Job.task_id).in_(keys), visible(m.Result, viewer))
                .order_by(*newest_first(m.Result))
            )
            return _group(keys, keyed_snapshots(session, stmt, m.Result))

        return self._get("task_results", load)


def selection_tree(roots: Sequence[UUID], viewer: Viewer) -> sa.CTE:
    """(root, selection_id) for each visible root and its visible descendants."""
    return descendants(roots, only=visible(m.Selection, viewer))


def _order(model: type[m.Entity], order_by: Sequence[Any] | None) -> Sequence[Any]:
    return newest_first(model) if order_by is None else order_by


def _key(order_by: Sequence[Any] | None) -> tuple[str, ...] | None:
    """A hashable name of an ORDER BY (columns: cheap to name), so differently ordered loaders
    are cached apart; None is newest first."""
    return None if order_by is None else tuple(str(clause) for clause in order_by)


def _group(keys: list[Any], pairs: Any) -> list[list[Any]]:
    groups: dict[Any, list[Any]] = defaultdict(list)
    for key, row in pairs:
        groups[key].append(row)
    return [groups.get(key, []) for key in keys]
