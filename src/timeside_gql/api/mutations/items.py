"""Item mutations: writing items and their tags, giving them audio (``services.items``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from uuid import UUID

import strawberry
from anyio import to_thread
from strawberry.file_uploads import Upload

from timeside_gql.api.errors import (
    ConflictError,
    MediaRefusedError,
    NotFoundError,
    PermissionDenied,
    ValidationError,
    to_graphql,
)
from timeside_gql.api.mutations.base import DeletePayload, mutate, remove
from timeside_gql.api.scope import current_scope
from timeside_gql.api.types.items import Item
from timeside_gql.db import models as m
from timeside_gql.services import items
from timeside_gql.services.errors import InvalidInput, MediaRefused
from timeside_gql.services.inputs import UNSET, ItemFields
from timeside_gql.services.rows import delete_owned
from timeside_gql.settings import Settings
from timeside_gql.storage import intake
from timeside_gql.storage.errors import MediaError

ItemPayload = Annotated[
    Item | ValidationError | NotFoundError | PermissionDenied | ConflictError | MediaRefusedError,
    strawberry.union("ItemPayload"),
]


@strawberry.input(description="Fields of an item; on update, omitted fields keep their value.")
class ItemInput(ItemFields):
    tags: list[str] | None = strawberry.field(
        default=UNSET, description="Tag names; replaces the item's tags."
    )


async def with_upload(
    file: Upload,
    write: Callable[..., m.Item],
    *args: Any,
) -> Any:
    """Store the upload (probed as audio), then run ``write(session, viewer, *args, stored,
    settings)`` as one transaction; the stored file goes again unless an item took it."""
    scope = current_scope()
    settings = scope.settings
    if not hasattr(file, "file"):  # an Upload variable of a JSON request: no file came
        message = "send the file in a GraphQL multipart request (an Upload is not a value)"
        return to_graphql(InvalidInput(message, field="file"))
    try:
        stored = await to_thread.run_sync(_store_upload, settings, file)
    except MediaError as error:
        return to_graphql(MediaRefused(str(error), reason=type(error).__name__))
    payload = None
    try:
        payload = await mutate(write, *args, stored, settings)
    finally:
        if not isinstance(payload, Item):
            await to_thread.run_sync(intake.discard, settings, stored, scope.sessions)
    return payload


def _store_upload(settings: Settings, file: Any) -> intake.Stored:
    """Strawberry hands over Starlette's UploadFile: already spooled to disk past 1 MiB."""
    return intake.store_stream(settings, file.file, name=file.filename or "")


@strawberry.type
class ItemMutations:
    @strawberry.mutation(
        description="Create an item; `file` (GraphQL multipart request) becomes its audio, "
        "probed before the item is accepted; a sourceUrl or provider id is ingested instead."
    )
    async def create_item(self, input: ItemInput, file: Upload | None = None) -> ItemPayload:
        if file is None:
            return await mutate(items.create_item, input)
        return await with_upload(file, items.create_item_with_file, input)

    @strawberry.mutation(
        description="Replace an item's audio by `file`: hashed and probed again, its results "
        "of the old audio deleted, its ingest run again. Author or administrator only."
    )
    async def replace_item_source(self, id: UUID, file: Upload) -> ItemPayload:
        return await with_upload(file, items.replace_item_source, id)

    @strawberry.mutation
    async def update_item(self, id: UUID, input: ItemInput) -> ItemPayload:
        return await mutate(items.update_item, id, input)

    @strawberry.mutation(description="Delete an item with its results, jobs and annotations.")
    async def delete_item(self, id: UUID) -> DeletePayload:
        return await remove(delete_owned, m.Item, id)
