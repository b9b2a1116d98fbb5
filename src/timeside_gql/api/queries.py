"""The Query root: the caller, lookups by id and filtered connections.

Every field goes through :class:`CanRead` (TIMESIDE_REQUIRE_LOGIN) and every row through
``visible``: a private object of someone else is absent, never an error.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import sqlalchemy as sa
import strawberry
from sqlmodel import Session, col, select

from timeside_gql.api.loaders import selection_tree
from timeside_gql.api.pagination import Connection, paginate
from timeside_gql.api.permissions import CanRead, IsAdmin
from timeside_gql.api.scope import current_scope
from timeside_gql.api.tags import has_tags
from timeside_gql.api.types.annotations import Annotation, AnnotationTrack
from timeside_gql.api.types.base import as_type, as_types, loaders, prefetcher
from timeside_gql.api.types.catalog import Preset, Processor, Provider, Tag
from timeside_gql.api.types.enums import ProcessorKind, ResultStatus, TaskStatus
from timeside_gql.api.types.experiences import Experience
from timeside_gql.api.types.items import Item, Selection
from timeside_gql.api.types.tasks import Result, Task
from timeside_gql.api.types.users import ApiToken, User
from timeside_gql.api.types.webhooks import Webhook
from timeside_gql.db import models as m
from timeside_gql.db.visibility import visible


def read(resolver: Any) -> Any:
    """A query field open to readers (everyone, or logged-in users under require_login)."""
    return strawberry.field(resolver, permission_classes=[CanRead])


@strawberry.input(description="Items matching every given criterion.")
class ItemFilter:
    search: str | None = strawberry.field(
        default=None, description="Case-insensitive text in title, artist or album."
    )
    provider_pid: str | None = None
    external_id: str | None = None
    sha1: str | None = None
    selection: UUID | None = strawberry.field(
        default=None, description="Items of this selection, nested selections included."
    )
    tags: list[str] | None = strawberry.field(
        default=None, description="Items carrying every one of these tag names."
    )

    def where(self) -> list[Any]:
        clauses: list[Any] = []
        if self.search:
            clauses.append(
                sa.or_(
                    *(
                        col(column).icontains(self.search, autoescape=True)
                        for column in (m.Item.title, m.Item.artist, m.Item.album)
                    )
                )
            )
        if self.provider_pid is not None:
            providers = select(m.Provider.id).where(m.Provider.pid == self.provider_pid)
            clauses.append(col(m.Item.provider_id).in_(providers))
        if self.external_id is not None:
            clauses.append(m.Item.external_id == self.external_id)
        if self.sha1 is not None:
            clauses.append(m.Item.sha1 == self.sha1)
        if self.selection is not None:
            tree = selection_tree([self.selection], current_scope().viewer)
            members = select(m.SelectionItem.item_id).join(
                tree, col(m.SelectionItem.selection_id) == tree.c.selection_id
            )
            clauses.append(col(m.Item.id).in_(members))
        clauses.extend(has_tags(m.Item.id, m.ItemTag, "item_id", self.tags or []))
        return clauses


@strawberry.input
class ResultFilter:
    item: UUID | None = None
    preset: UUID | None = None
    processor_pid: str | None = None
    status: ResultStatus | None = None

    def where(self) -> list[Any]:
        clauses: list[Any] = []
        if self.item is not None:
            clauses.append(m.Result.item_id == self.item)
        if self.preset is not None:
            clauses.append(m.Result.preset_id == self.preset)
        if self.processor_pid is not None:
            presets = (
                select(m.Preset.id)
                .join(m.Processor, col(m.Processor.id) == col(m.Preset.processor_id))
                .where(m.Processor.pid == self.processor_pid)
            )
            clauses.append(col(m.Result.preset_id).in_(presets))
        if self.status is not None:
            clauses.append(m.Result.status == self.status)
        return clauses


async def _lookup(model: type[Any], id: UUID, info: strawberry.Info) -> Any:
    """The visible row, read with the relations the operation selects below it."""
    scope = current_scope()
    batch = scope.loaders.by_id(model)
    if id not in batch.found:
        fetch = prefetcher(info)

        def read(session: Session) -> None:
            fetch(session, [row for row in batch.fill(session, [id]) if row is not None])

        await scope.read(read)
    return as_type(batch.found[id])


#: Where a connection's rows are below it.
NODES = (("edges", "node"), ("nodes",))


async def _list(
    model: type[Any], where: list[Any], first: int | None, after: str | None, info: strawberry.Info
) -> Connection[Any]:
    clauses = [visible(model, current_scope().viewer), *where]
    return await paginate(
        model, clauses, convert=as_type, first=first, after=after, prefetch=prefetcher(info, *NODES)
    )


@strawberry.type
class Query:
    @strawberry.field(description="The caller; null when anonymous.")
    async def me(self, info: strawberry.Info) -> User | None:
        user_id = info.context.viewer.user_id
        return None if user_id is None else await _lookup(m.User, user_id, info)

    @strawberry.field(description="The caller's API tokens, revoked ones included.")
    async def my_tokens(self, info: strawberry.Info) -> list[ApiToken]:
        user_id = info.context.viewer.user_id
        if user_id is None:
            return []
        loader = loaders().by_column(m.ApiToken, "user_id")
        return as_types(await loader.load(user_id))

    @strawberry.field(
        description="Every account; administrators only.", permission_classes=[IsAdmin]
    )
    async def users(self, first: int | None = None, after: str | None = None) -> Connection[User]:
        return await paginate(m.User, [], convert=as_type, first=first, after=after)

    @strawberry.field(description="The caller's webhooks (every one, for administrators).")
    async def webhooks(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[Webhook]:
        return await _list(m.Webhook, [], first, after, info)

    @strawberry.field(description="One of the caller's webhooks; null when absent or another's.")
    async def webhook(self, id: UUID, info: strawberry.Info) -> Webhook | None:
        return await _lookup(m.Webhook, id, info)

    # Lookups by id: null when absent or not visible.

    @read
    async def item(self, id: UUID, info: strawberry.Info) -> Item | None:
        return await _lookup(m.Item, id, info)

    @read
    async def selection(self, id: UUID, info: strawberry.Info) -> Selection | None:
        return await _lookup(m.Selection, id, info)

    @read
    async def provider(self, id: UUID, info: strawberry.Info) -> Provider | None:
        return await _lookup(m.Provider, id, info)

    @read
    async def tag(self, id: UUID, info: strawberry.Info) -> Tag | None:
        return await _lookup(m.Tag, id, info)

    @read
    async def processor(self, id: UUID, info: strawberry.Info) -> Processor | None:
        return await _lookup(m.Processor, id, info)

    @read
    async def preset(self, id: UUID, info: strawberry.Info) -> Preset | None:
        return await _lookup(m.Preset, id, info)

    @read
    async def experience(self, id: UUID, info: strawberry.Info) -> Experience | None:
        return await _lookup(m.Experience, id, info)

    @read
    async def task(self, id: UUID, info: strawberry.Info) -> Task | None:
        return await _lookup(m.Task, id, info)

    @read
    async def result(self, id: UUID, info: strawberry.Info) -> Result | None:
        return await _lookup(m.Result, id, info)

    @read
    async def annotation_track(self, id: UUID, info: strawberry.Info) -> AnnotationTrack | None:
        return await _lookup(m.AnnotationTrack, id, info)

    @read
    async def annotation(self, id: UUID, info: strawberry.Info) -> Annotation | None:
        return await _lookup(m.Annotation, id, info)

    # Connections, newest first.

    @read
    async def items(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        filter: ItemFilter | None = None,
    ) -> Connection[Item]:
        return await _list(m.Item, filter.where() if filter else [], first, after, info)

    @read
    async def selections(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        search: str | None = None,
    ) -> Connection[Selection]:
        where = [col(m.Selection.title).icontains(search, autoescape=True)] if search else []
        return await _list(m.Selection, where, first, after, info)

    @read
    async def providers(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[Provider]:
        return await _list(m.Provider, [], first, after, info)

    @read
    async def tags(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[Tag]:
        return await _list(m.Tag, [], first, after, info)

    @read
    async def processors(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        pid: str | None = None,
        kind: ProcessorKind | None = None,
    ) -> Connection[Processor]:
        where = [m.Processor.pid == pid] if pid is not None else []
        if kind is not None:
            where.append(m.Processor.kind == kind)
        return await _list(m.Processor, where, first, after, info)

    @read
    async def presets(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        processor: UUID | None = None,
    ) -> Connection[Preset]:
        where = [m.Preset.processor_id == processor] if processor is not None else []
        return await _list(m.Preset, where, first, after, info)

    @read
    async def experiences(
        self, info: strawberry.Info, first: int | None = None, after: str | None = None
    ) -> Connection[Experience]:
        return await _list(m.Experience, [], first, after, info)

    @read
    async def tasks(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        status: TaskStatus | None = None,
    ) -> Connection[Task]:
        where: list[Any] = [m.Task.status == status] if status is not None else []
        return await _list(m.Task, where, first, after, info)

    @read
    async def results(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        filter: ResultFilter | None = None,
    ) -> Connection[Result]:
        return await _list(m.Result, filter.where() if filter else [], first, after, info)

    @read
    async def annotation_tracks(
        self,
        info: strawberry.Info,
        first: int | None = None,
        after: str | None = None,
        item: UUID | None = None,
    ) -> Connection[AnnotationTrack]:
        where = [m.AnnotationTrack.item_id == item] if item is not None else []
        return await _list(m.AnnotationTrack, where, first, after, info)
