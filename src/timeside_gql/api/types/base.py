"""What every object type shares: construction from a row, the loaders, the common fields."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Any, Self
from uuid import UUID

import strawberry

from timeside_gql.api.loaders import Loaders
from timeside_gql.api.scope import current_scope


def loaders() -> Loaders:
    return current_scope().loaders


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


class FromRow:
    """Builds the type from a table row by copying the fields the two have in common."""

    @classmethod
    def from_row(cls, row: Any) -> Self:
        names = (f.name for f in dataclasses.fields(cls) if f.init)  # type: ignore[arg-type]
        return cls(**{name: getattr(row, name) for name in names})


@strawberry.interface(description="Every stored object: a UUID and its timestamps.")
class Entity(FromRow):
    id: UUID
    created_at: datetime
    updated_at: datetime
