"""Read-only rows without the ORM: what the API reads, at a third of the cost.

Loading a row through the ORM session (identity map, instance state, events) costs about three
times reading its columns: 25 ms of CPU for 500 results, against 10 ms for the same values as
model instances built here. A snapshot is an instance of its model whose columns sit in its
``__dict__``, so attribute reads, ``isinstance`` and ``type`` work as on a loaded row; it has no
session, relationships or change tracking, and must never be added to a session: the API reads
these, services write through rows of their own session.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session

Model = TypeVar("Model")


_COLUMNS: dict[type[Any], tuple[tuple[str, ...], tuple[sa.ColumnElement[Any], ...]]] = {}


def _columns(model: type[Any]) -> tuple[tuple[str, ...], tuple[sa.ColumnElement[Any], ...]]:
    """(attribute names, columns) of ``model``'s mapped columns."""
    if model not in _COLUMNS:
        attrs = sa.inspect(model).column_attrs
        _COLUMNS[model] = tuple(a.key for a in attrs), tuple(a.columns[0] for a in attrs)
    return _COLUMNS[model]


def columns(model: type[Any]) -> tuple[sa.ColumnElement[Any], ...]:
    """The columns to select for :func:`snapshots` of ``model``, in order."""
    return _columns(model)[1]


def snapshot(model: type[Model], values: Sequence[Any]) -> Model:
    """A ``model`` instance holding ``values`` (in :func:`columns` order)."""
    names = _columns(model)[0]
    row = model.__new__(model)
    row.__dict__.update(zip(names, values, strict=True))
    # pydantic's own slots, as a validated instance has them (repr, model_dump).
    object.__setattr__(row, "__pydantic_fields_set__", set(names))
    object.__setattr__(row, "__pydantic_extra__", None)
    object.__setattr__(row, "__pydantic_private__", None)
    return row


def snapshots(session: Session, stmt: sa.Select[Any], model: type[Model]) -> list[Model]:
    """The ``model`` rows of ``stmt``, which selects :func:`columns` of ``model``."""
    return [snapshot(model, values) for values in session.execute(stmt)]


def keyed_snapshots(
    session: Session, stmt: sa.Select[Any], model: type[Model]
) -> Iterator[tuple[Any, Model]]:
    """(key, row) of ``stmt``, which selects a key and then :func:`columns` of ``model``."""
    for values in session.execute(stmt):
        yield values[0], snapshot(model, values[1:])
