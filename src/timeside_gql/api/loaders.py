"""Per-operation DataLoaders: every relation of the graph is one batched, visibility-filtered
SELECT per level of a query, whatever the number of parents.

Loaders are keyed by what they load (model and column), created on first use and dropped with
the operation, so nothing is cached across requests or across the writes of a mutation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any, TypeVar
from uuid import UUID

import sqlalchemy as sa
from sqlmodel import Session, col, select
from strawberry.dataloader import DataLoader

from timeside_gql.db import models as m
from timeside_gql.db.selections import descendants
from timeside_gql.db.visibility import Viewer, visible

Row = TypeVar("Row", bound=m.Entity)

# Keys per SELECT ... IN (...): far below the bind-parameter limits of SQLite and PostgreSQL.
MAX_BATCH = 1000
Reader = Callable[..., Awaitable[Any]]


def newest_first(model: type[m.Entity]) -> tuple[Any, ...]:
    """The order of every list: newest first, id to break ties (cursor pagination relies on it)."""
    return (col(model.created_at).desc(), col(model.id).desc())


class Loaders:
    """Factory and cache of the DataLoaders of one operation."""

    def __init__(self, read: Reader, viewer: Viewer) -> None:
        self._read = read
        self._viewer = viewer
        self._cache: dict[Hashable, DataLoader[Any, Any]] = {}

    def _get(self, key: Hashable, load: Callable[[Session, list[Any]], list[Any]]) -> DataLoader:
        loader = self._cache.get(key)
        if loader is None:

            async def batch(keys: list[Any]) -> list[Any]:
                return await self._read(load, list(keys))

            loader = self._cache[key] = DataLoader(batch, max_batch_size=MAX_BATCH)
        return loader

    def by_id(self, model: type[Row]) -> DataLoader[UUID, Row | None]:
        """Rows by primary key; ``None`` for ids that do not exist or are not visible."""
        viewer = self._viewer

        def load(session: Session, ids: list[UUID]) -> list[Row | None]:
            rows = session.exec(select(model).where(col(model.id).in_(ids), visible(model, viewer)))
            found = {row.id: row for row in rows}
            return [found.get(i) for i in ids]

        return self._get(("id", model), load)

    def by_column(
        self, model: type[Row], column: str, *, order_by: Sequence[Any] | None = None
    ) -> DataLoader[UUID, list[Row]]:
        """Visible rows whose ``column`` equals each key (the reverse side of a foreign key)."""
        viewer = self._viewer
        key = col(getattr(model, column))
        order = order_by if order_by is not None else newest_first(model)

        def load(session: Session, keys: list[UUID]) -> list[list[Row]]:
            stmt = select(model).where(key.in_(keys), visible(model, viewer)).order_by(*order)
            return _group(keys, ((getattr(r, column), r) for r in session.exec(stmt)))

        return self._get(("column", model, column, _key(order)), load)

    def linked(
        self,
        link: type[Any],
        source: str,
        target: str,
        model: type[Row],
        *,
        order_by: Sequence[Any] | None = None,
    ) -> DataLoader[UUID, list[Row]]:
        """Visible ``model`` rows reached through the many-to-many table ``link``."""
        viewer = self._viewer
        src, dst = col(getattr(link, source)), col(getattr(link, target))
        order = order_by if order_by is not None else newest_first(model)

        def load(session: Session, keys: list[UUID]) -> list[list[Row]]:
            stmt = (
                select(src, model)
                .select_from(link)
                .join(model, col(model.id) == dst)
                .where(src.in_(keys), visible(model, viewer))
                .order_by(*order)
            )
            return _group(keys, session.exec(stmt))

        return self._get(("link", link, source, target, model, _key(order)), load)

    def selection_items(self) -> DataLoader[UUID, list[m.Item]]:
        """Every visible item of each selection and of its visible sub-selections, once each."""
        viewer = self._viewer

        def load(session: Session, keys: list[UUID]) -> list[list[m.Item]]:
            tree = selection_tree(keys, viewer)
            stmt = (
                select(tree.c.root, m.Item)
                .join(m.SelectionItem, col(m.SelectionItem.selection_id) == tree.c.selection_id)
                .join(m.Item, col(m.Item.id) == col(m.SelectionItem.item_id))
                .where(visible(m.Item, viewer))
                .order_by(*newest_first(m.Item))
            )
            grouped = _group(keys, session.exec(stmt))
            return [list({item.id: item for item in items}.values()) for items in grouped]

        return self._get("selection_items", load)

    def task_results(self) -> DataLoader[UUID, list[m.Result]]:
        """Results of each task: its experience's presets on the items of its jobs."""
        viewer = self._viewer

        def load(session: Session, keys: list[UUID]) -> list[list[m.Result]]:
            stmt = (
                select(m.Job.task_id, m.Result)
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
            return _group(keys, session.exec(stmt))

        return self._get("task_results", load)


def selection_tree(roots: Sequence[UUID], viewer: Viewer) -> sa.CTE:
    """(root, selection_id) for each visible root and its visible descendants."""
    return descendants(roots, only=visible(m.Selection, viewer))


def _key(order: Sequence[Any]) -> tuple[str, ...]:
    """A hashable name of an ORDER BY, so differently ordered loaders are cached apart."""
    return tuple(str(clause) for clause in order)


def _group(keys: list[Any], pairs: Any) -> list[list[Any]]:
    groups: dict[Any, list[Any]] = defaultdict(list)
    for key, row in pairs:
        groups[key].append(row)
    return [groups.get(key, []) for key in keys]
