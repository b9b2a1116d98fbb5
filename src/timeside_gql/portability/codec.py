"""Column values to JSON and back, losslessly, whatever the database.

Encoding goes by the Python value a row holds (SQLAlchemy has already turned the database's
representation into UUIDs, aware datetimes, enum members, JSON documents); decoding goes by
the column type of this instance's schema, so the same text loads into SQLite or PostgreSQL.
Floats go through ``repr`` (the json module's), which round-trips every double exactly.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from timeside_gql.db.types import UTCDateTime

_PLAIN = (str, int, float, bool, dict, list)


class UnsupportedValue(TypeError):
    """A column type the archive format has no encoding for (a schema change must add one)."""


def encode(value: Any) -> Any:
    if value is None or (isinstance(value, _PLAIN) and not isinstance(value, enum.Enum)):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise UnsupportedValue("naive datetime: every timestamp column is UTC-aware")
        return value.isoformat()
    raise UnsupportedValue(f"no archive encoding for {type(value).__name__}")


def decode(column: sa.Column[Any], value: Any) -> Any:
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, UTCDateTime):
        return datetime.fromisoformat(value)
    if isinstance(kind, sa.Uuid):
        return uuid.UUID(value)
    if isinstance(kind, sa.Enum) and kind.enum_class is not None:
        return kind.enum_class(value)
    return value


def encode_row(row: dict[str, Any]) -> dict[str, Any]:
    return {name: encode(value) for name, value in row.items()}


def decode_row(table: sa.Table, row: dict[str, Any]) -> dict[str, Any]:
    return {name: decode(table.c[name], value) for name, value in row.items()}
