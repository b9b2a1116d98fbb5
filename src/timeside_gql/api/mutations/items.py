"""Writing items and their tags; giving items audio (an upload, or a URL or provider id that
the ingest downloads)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import urlparse
from uuid import UUID

import strawberry
from anyio import to_thread
from sqlmodel import Session, col, delete, select
from strawberry.file_uploads import Upload
from strawberry.utils.str_converters import to_camel_case

from timeside_gql.api.errors import (
    ConflictError,
    InvalidInput,
    MediaRefused,
    MediaRefusedError,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from timeside_gql.api.mutations.base import (
    DeletePayload,
    assign,
    changes,
    delete_owned,
    fetch,
    fetch_owned,
    mutate,
    remove,
)
from timeside_gql.api.permissions import require_user
from timeside_gql.api.scope import current_scope
from timeside_gql.api.types.items import Item
from timeside_gql.db import models as m
from timeside_gql.db.visibility import Viewer
from timeside_gql.jobs.ingest import attach_source, has_remote_source, request_ingest
from timeside_gql.media import intake
from timeside_gql.media.errors import MediaError
from timeside_gql.settings import Settings

ItemPayload = Annotated[
    Item | ValidationError | NotFoundError | PermissionDenied | ConflictError | MediaRefusedError,
    strawberry.union("ItemPayload"),
]

URL_FIELDS = ("source_url", "external_uri", "picture_url")
#: Fields that say where the audio comes from: changing one on an item without a file ingests.
REMOTE_SOURCE_FIELDS = frozenset({"source_url", "provider_id", "external_id"})


@strawberry.input(description="Fields of an item; on update, omitted fields keep their value.")
class ItemInput:
    title: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    artist: str | None = strawberry.UNSET
    album: str | None = strawberry.UNSET
    source_url: str | None = strawberry.UNSET
    external_id: str | None = strawberry.UNSET
    external_uri: str | None = strawberry.UNSET
    picture_url: str | None = strawberry.UNSET
    provider_id: UUID | None = strawberry.UNSET
    is_public: bool | None = strawberry.UNSET
    tags: list[str] | None = strawberry.field(
        default=strawberry.UNSET, description="Tag names; replaces the item's tags."
    )


def create_item(session: Session, viewer: Viewer, data: ItemInput) -> m.Item:
    """A new item, ingested from its URL or provider id when it has one."""
    item = _new_item(session, viewer, data)
    if has_remote_source(item):
        request_ingest(session, item)
    return item


def create_item_with_file(
    session: Session, viewer: Viewer, data: ItemInput, stored: intake.Stored, settings: Settings
) -> m.Item:
    """A new item whose source is an accepted upload (titled after the file when untitled)."""
    item = _new_item(session, viewer, data)
    item.title = item.title or stored.title
    attach_source(session, item, stored, settings=settings)
    return item


def _new_item(session: Session, viewer: Viewer, data: ItemInput) -> m.Item:
    item = m.Item(author_id=require_user(viewer))
    _apply(session, viewer, item, data)
    return item


def update_item(session: Session, viewer: Viewer, id: UUID, data: ItemInput) -> m.Item:
    item = fetch_owned(session, viewer, m.Item, id)
    _apply(session, viewer, item, data)
    remote_changed = REMOTE_SOURCE_FIELDS & changes(data).keys()
    if remote_changed and not item.source_file and has_remote_source(item):
        request_ingest(session, item)
    return item


def replace_item_source(
    session: Session, viewer: Viewer, id: UUID, stored: intake.Stored, settings: Settings
) -> m.Item:
    """Only the author or an admin; the old file and every result of it go after commit."""
    item = fetch_owned(session, viewer, m.Item, id)
    attach_source(session, item, stored, settings=settings)
    return item


async def with_upload(file: Upload, write: Callable[..., m.Item], *args: Any) -> Any:
    """Store the upload (probed as audio), then run ``write(session, viewer, *args, stored,
    settings)`` as one transaction; the stored file goes again unless an item took it."""
    settings = current_scope().settings
    if not hasattr(file, "file"):  # an Upload variable of a JSON request: no file came
        message = "send the file in a GraphQL multipart request (an Upload is not a value)"
        return InvalidInput(message, field="file").to_graphql()
    try:
        stored = await to_thread.run_sync(_store_upload, settings, file)
    except MediaError as error:
        return MediaRefused(str(error), reason=type(error).__name__).to_graphql()
    payload = None
    try:
        payload = await mutate(write, *args, stored, settings)
    finally:
        if not isinstance(payload, Item):
            intake.discard(settings, stored)
    return payload


def _store_upload(settings: Settings, file: Any) -> intake.Stored:
    """Strawberry hands over Starlette's UploadFile: already spooled to disk past 1 MiB."""
    return intake.store_stream(settings, file.file, name=file.filename or "")


def _apply(session: Session, viewer: Viewer, item: m.Item, data: ItemInput) -> None:
    values = changes(data, exclude={"tags"})
    for name in URL_FIELDS:
        if values.get(name):
            values[name] = check_url(values[name], field=name)
    if values.get("provider_id") is not None:
        fetch(session, viewer, m.Provider, values["provider_id"])
    assign(item, values)
    session.add(item)
    session.flush()
    if data.tags is not strawberry.UNSET:
        set_tags(session, m.ItemTag, "item_id", item.id, data.tags or [])


def check_url(value: str, *, field: str) -> str:
    parsed = urlparse(value.strip())
    if parsed.scheme not in {"http", "https"} or not parsed.netloc:
        raise InvalidInput(f"{field} must be an http(s) URL", field=to_camel_case(field))
    return value.strip()


def set_tags(
    session: Session, link: type[Any], column: str, owner_id: UUID, names: list[str]
) -> None:
    """Replace the tags of ``owner_id`` in ``link`` by ``names``, creating unknown tags."""
    wanted = list(dict.fromkeys(name.strip() for name in names if name.strip()))
    existing = {t.name: t for t in session.exec(select(m.Tag).where(col(m.Tag.name).in_(wanted)))}
    for name in wanted:
        if name not in existing:
            existing[name] = m.Tag(name=name)
            session.add(existing[name])
    session.flush()
    session.exec(delete(link).where(getattr(link, column) == owner_id))
    session.add_all(link(**{column: owner_id, "tag_id": existing[name].id}) for name in wanted)
    session.flush()


@strawberry.type
class ItemMutations:
    @strawberry.mutation(
        description="Create an item; `file` (GraphQL multipart request) becomes its audio, "
        "probed before the item is accepted; a sourceUrl or provider id is ingested instead."
    )
    async def create_item(self, input: ItemInput, file: Upload | None = None) -> ItemPayload:
        if file is None:
            return await mutate(create_item, input)
        return await with_upload(file, create_item_with_file, input)

    @strawberry.mutation(
        description="Replace an item's audio by `file`: hashed and probed again, its results "
        "of the old audio deleted, its ingest run again. Author or administrator only."
    )
    async def replace_item_source(self, id: UUID, file: Upload) -> ItemPayload:
        return await with_upload(file, replace_item_source, id)

    @strawberry.mutation
    async def update_item(self, id: UUID, input: ItemInput) -> ItemPayload:
        return await mutate(update_item, id, input)

    @strawberry.mutation(description="Delete an item with its results, jobs and annotations.")
    async def delete_item(self, id: UUID) -> DeletePayload:
        return await remove(delete_owned, m.Item, id)
