"""``Item.similar``: the items nearest to an item's descriptor, as a connection ordered by
distance (``services.similarity``), with the distance on each edge."""

from __future__ import annotations

import base64
import enum
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import strawberry

from timeside_gql.api.errors import ClientError
from timeside_gql.api.pagination import PageInfo, page_size
from timeside_gql.api.scope import current_scope
from timeside_gql.api.types.base import as_type, loaders
from timeside_gql.core.analyzers.tonal import KEYS
from timeside_gql.db import models as m
from timeside_gql.services import similarity

if TYPE_CHECKING:
    from timeside_gql.api.types.items import Item

_ITEMS = strawberry.lazy("timeside_gql.api.types.items")


@strawberry.enum(description="Which part of the descriptors a similarity compares.")
class SimilarityBy(enum.Enum):
    TIMBRE = "timbre"
    HARMONY = "harmony"
    RHYTHM = "rhythm"
    ALL = "all"


@strawberry.input(description="What similar items must also be.")
class SimilarFilter:
    tempo_min: float | None = strawberry.field(default=None, description="BPM, inclusive.")
    tempo_max: float | None = strawberry.field(default=None, description="BPM, inclusive.")
    key: str | None = strawberry.field(default=None, description='"C major" … "B minor".')
    tags: list[str] | None = strawberry.field(default=None, description="Every one of them.")
    selection_id: UUID | None = strawberry.field(
        default=None, description="Only items of this selection (nested ones included)."
    )


@strawberry.type
class SimilarEdge:
    cursor: str
    node: Annotated[Item, _ITEMS]
    distance: float = strawberry.field(
        description="Euclidean distance of the descriptors' compared part (0: identical)."
    )


@strawberry.type(description="Items nearest first.")
class SimilarConnection:
    edges: list[SimilarEdge]
    page_info: PageInfo


async def item_similar(
    root: strawberry.Parent[Any],
    first: int | None = 10,
    after: str | None = None,
    by: SimilarityBy = SimilarityBy.ALL,
    filter: SimilarFilter | None = None,
) -> SimilarConnection | None:
    """Items the viewer may see, nearest first by ``by``; null until the item's
    ``similarity_descriptors`` result is done."""
    scope = current_scope()
    limit, offset = page_size(first, scope.settings.max_page_size), _offset(after)
    found = await scope.read(
        similarity.similar,
        scope.viewer,
        root.id,
        by=by.value,
        first=limit + 1,
        offset=offset,
        filters=_filters(filter),
    )
    if found is None:
        return None
    page = found[:limit]
    items = await loaders().by_id(m.Item).load_many([item_id for item_id, _ in page])
    edges = [
        SimilarEdge(cursor=_cursor(offset + n + 1), node=as_type(item), distance=distance)
        for n, ((_, distance), item) in enumerate(zip(page, items, strict=True))
        if item is not None
    ]
    end = edges[-1].cursor if edges else None
    return SimilarConnection(
        edges=edges, page_info=PageInfo(has_next_page=len(found) > limit, end_cursor=end)
    )


def _filters(given: SimilarFilter | None) -> similarity.Filters:
    if given is None:
        return similarity.Filters()
    key = None
    if given.key is not None:
        if given.key not in KEYS:
            raise ClientError(f'key must be one of "C major" … "B minor", not {given.key!r}')
        key = KEYS.index(given.key)
    return similarity.Filters(
        tempo_min=given.tempo_min,
        tempo_max=given.tempo_max,
        key=key,
        tags=tuple(given.tags or ()),
        selection_id=given.selection_id,
    )


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"similar:{offset}".encode()).decode()


def _offset(after: str | None) -> int:
    if after is None:
        return 0
    try:
        kind, _, value = base64.urlsafe_b64decode(after.encode()).decode().partition(":")
        if kind == "similar" and value.isdigit():
            return int(value)
    except (ValueError, UnicodeDecodeError):
        pass
    raise ClientError("after is not a cursor of Item.similar")
