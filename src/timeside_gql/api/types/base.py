"""What every object type shares: construction from a row, the loaders, the common fields."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Any, Self
from uuid import UUID

import strawberry

from timeside_gql.api.loaders import Batch, Loaders
from timeside_gql.api.scope import current_scope


def loaders() -> Loaders:
    return current_scope().loaders


class _Relation:
    """The value of a relation field, read on access: the object(s) themselves when the
    operation has loaded them, else an awaitable (graphql-core awaits what a field returns).

    To Strawberry the field is a plain attribute, so a relation already loaded costs an
    attribute read, not a resolver call (Info, arguments, extensions: a third of the CPU of a
    nested read of 50 items x 10 results went there).
    """

    def __init__(self, read: Callable[[Any], Any]) -> None:
        self._read = read

    def __get__(self, obj: Any, owner: type[Any] | None = None) -> Any:
        return self if obj is None else self._read(obj)

    def __set__(self, obj: Any, value: Any) -> None:
        """The dataclass ``__init__`` stores the default (this object): nothing to keep."""


def to_one(model: type[Any], key: str, **field: Any) -> Any:
    """A field holding the visible ``model`` row whose id is in the ``key`` attribute; null
    when there is none."""

    def read(obj: Any) -> Any:
        id = getattr(obj, key)
        return None if id is None else loaders().by_id(model).get(id, as_type)

    return strawberry.field(default=_Relation(read), **field)


def to_many(batch: Callable[[Loaders], Batch[UUID, list[Any]]], **field: Any) -> Any:
    """A field holding the rows ``batch`` (of the operation's loaders) finds for the id."""
    return strawberry.field(
        default=_Relation(lambda obj: batch(loaders()).get(obj.id, as_types)), **field
    )


_TYPES: dict[type[Any], type[FromRow]] = {}


def maps(model: type[Any]) -> Any:
    """Register the decorated type as the GraphQL face of ``model`` (for :func:`as_type`)."""

    def register(cls: type[FromRow]) -> type[FromRow]:
        _TYPES[model] = cls
        return cls

    return register


def as_type(row: Any | None) -> Any:
    """The GraphQL object of a row, whatever its model; lets families refer to each other
    without importing each other."""
    return None if row is None else _TYPES[type(row)].from_row(row)


def as_types(rows: list[Any]) -> list[Any]:
    return [as_type(row) for row in rows]


_FIELDS: dict[type[Any], tuple[str, ...]] = {}


class FromRow:
    """Builds the type from a table row by copying the fields the two have in common."""

    @classmethod
    def from_row(cls, row: Any) -> Self:
        names = _FIELDS.get(cls)
        if names is None:
            fields = dataclasses.fields(cls)  # type: ignore[arg-type]
            names = tuple(f.name for f in fields if f.init and not isinstance(f.default, _Relation))
            _FIELDS[cls] = names
        # Loaded columns sit in the instance's __dict__: reading them there skips SQLAlchemy's
        # attribute machinery, a third of the cost of a nested read.
        loaded = row.__dict__
        return cls(**{n: loaded[n] if n in loaded else getattr(row, n) for n in names})


@strawberry.interface(description="Every stored object: a UUID and its timestamps.")
class Entity(FromRow):
    id: UUID
    created_at: datetime
    updated_at: datetime
