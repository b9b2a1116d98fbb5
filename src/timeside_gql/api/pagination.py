"""Relay-style connections with keyset cursors over (created_at, id), newest first.

A cursor names the last row seen, so pages stay stable while rows are added; ``totalCount``
runs its COUNT only when asked for.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

import sqlalchemy as sa
import strawberry
from sqlmodel import Session, col, select

from timeside_gql.api.errors import ClientError
from timeside_gql.api.loaders import newest_first
from timeside_gql.api.scope import OperationScope, current_scope
from timeside_gql.db import models as m
from timeside_gql.db.snapshots import columns, snapshots

Node = TypeVar("Node")
Row = TypeVar("Row", bound=m.Entity)


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[Node]):
    cursor: str
    node: Node


@strawberry.type
class Connection(Generic[Node]):
    edges: list[Edge[Node]]
    page_info: PageInfo
    _count: strawberry.Private[Callable[[], Awaitable[int]]]

    @strawberry.field(description="Rows matching the filters, all pages together.")
    async def total_count(self) -> int:
        return await self._count()

    @strawberry.field(description="The nodes of `edges`, for clients that need no cursor.")
    def nodes(self) -> list[Node]:
        return [edge.node for edge in self.edges]


#: What a page's read also loads, in its session: the relations the operation selects below.
Prefetch = Callable[[Session, list[Any]], None]


def _page(
    session: Session, stmt: Any, model: type[Row], scope: OperationScope, prefetch: Prefetch
) -> list[Row]:
    """The rows of a page, recorded in the loaders (they answer lookups by id), with what
    ``prefetch`` loads below them."""
    rows = snapshots(session, stmt, model)
    scope.loaders.loaded(session, rows)
    prefetch(session, rows)
    return rows


def _nothing(session: Session, rows: list[Any]) -> None:
    """No prefetch."""


def encode_cursor(row: Any) -> str:
    raw = f"{row.created_at.isoformat()}|{row.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        created, ident = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        when = datetime.fromisoformat(created)
        if when.tzinfo is None:
            raise ValueError("naive timestamp")
        return when, UUID(ident)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ClientError(f"invalid cursor {cursor!r}") from exc


def page_size(first: int | None, limit: int) -> int:
    if first is None:
        return limit
    if not 0 <= first <= limit:
        raise ClientError(f"`first` must be between 0 and {limit}")
    return first


async def paginate(
    model: type[Row],
    where: list[Any],
    *,
    convert: Callable[[Row], Node],
    first: int | None,
    after: str | None,
    prefetch: Prefetch = _nothing,
) -> Connection[Node]:
    """One page of the visible ``model`` rows matching ``where`` (visibility included by
    caller), read with what ``prefetch`` loads below them in the same worker-thread hop."""
    scope = current_scope()
    limit = page_size(first, scope.settings.max_page_size)
    stmt = sa.select(*columns(model)).where(*where)
    if after is not None:
        created, ident = decode_cursor(after)
        stmt = stmt.where(
            sa.or_(
                col(model.created_at) < created,
                sa.and_(col(model.created_at) == created, col(model.id) < ident),
            )
        )
    stmt = stmt.order_by(*newest_first(model)).limit(limit + 1)
    rows = await scope.read(_page, stmt, model, scope, prefetch)
    edges = [Edge(cursor=encode_cursor(row), node=convert(row)) for row in rows[:limit]]

    async def count() -> int:
        counted = select(sa.func.count()).select_from(model).where(*where)
        return await scope.read(lambda session: session.exec(counted).one())

    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=len(rows) > limit, end_cursor=edges[-1].cursor if edges else None
        ),
        _count=count,
    )
