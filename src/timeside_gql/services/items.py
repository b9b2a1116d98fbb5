"""Writing items and giving them audio: an upload, or a URL or provider id the ingest downloads.

Every entrance creates items here: the GraphQL mutations, the streaming upload route and the
``import`` commands.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse
from uuid import UUID

from sqlmodel import Session, col, delete, select
from strawberry.utils.str_converters import to_camel_case

from timeside_gql.db import deletion
from timeside_gql.db import models as m
from timeside_gql.db.hooks import after_commit
from timeside_gql.db.visibility import Viewer
from timeside_gql.jobs import outbox
from timeside_gql.jobs.ingest import has_remote_source
from timeside_gql.jobs.notify import item_event, publish
from timeside_gql.services.errors import InvalidInput
from timeside_gql.services.inputs import UNSET, ItemFields
from timeside_gql.services.permissions import author_of, require_user
from timeside_gql.services.rows import assign, changes, fetch, fetch_owned
from timeside_gql.settings import Settings
from timeside_gql.storage import intake

URL_FIELDS = ("source_url", "external_uri", "picture_url")
#: Fields that say where the audio comes from: changing one on an item without a file ingests.
REMOTE_SOURCE_FIELDS = frozenset({"source_url", "provider_id", "external_id"})


def create_item(session: Session, viewer: Viewer, data: ItemFields, *, send: bool = True) -> m.Item:
    """A new item, ingested from its URL or provider id when it has one."""
    item = _new_item(session, viewer, data)
    if has_remote_source(item):
        request_ingest(session, item, send=send)
    return item


def create_item_with_file(
    session: Session,
    viewer: Viewer,
    data: ItemFields,
    stored: intake.Stored,
    settings: Settings,
    *,
    send: bool = True,
) -> m.Item:
    """A new item whose source is an accepted upload (titled after the file when untitled)."""
    item = _new_item(session, viewer, data)
    item.title = item.title or stored.title
    attach_source(session, item, stored, settings=settings, send=send)
    return item


def update_item(session: Session, viewer: Viewer, id: UUID, data: ItemFields) -> m.Item:
    item = fetch_owned(session, viewer, m.Item, id)
    _apply(session, viewer, item, data)
    remote_changed = REMOTE_SOURCE_FIELDS & changes(data).keys()
    if remote_changed and not item.source_file and has_remote_source(item):
        request_ingest(session, item)
    return item


def may_replace_source(session: Session, viewer: Viewer, id: UUID) -> None:
    """Refuse before an upload is read: only the author or an admin replaces the audio."""
    fetch_owned(session, viewer, m.Item, id)


def replace_item_source(
    session: Session, viewer: Viewer, id: UUID, stored: intake.Stored, settings: Settings
) -> m.Item:
    """Only the author or an admin; the old file and every result of it go after commit."""
    item = fetch_owned(session, viewer, m.Item, id)
    attach_source(session, item, stored, settings=settings)
    return item


def may_create(session: Session, viewer: Viewer) -> None:
    """Refuse before an upload is read: anonymous callers create nothing."""
    require_user(viewer)


def request_ingest(session: Session, item: m.Item, *, send: bool = True) -> None:
    """Mark the item's ingest pending; its message is recorded in the same transaction
    (``jobs.outbox``) and sent once it commits.

    ``send=False`` leaves the sending to the caller (the CLI runs ingests inline when embedded).
    """
    item.ingest_status, item.ingest_error = m.IngestStatus.PENDING, None
    session.add(item)
    event = item_event(item.id, m.IngestStatus.PENDING)
    if send:
        outbox.record(session, outbox.INGEST_ITEM, item.id)
    after_commit(session, lambda: publish(event))


def attach_source(
    session: Session, item: m.Item, stored: intake.Stored, *, settings: Settings, send: bool = True
) -> None:
    """Give the item an accepted upload as its source (stale results go) and ingest it."""
    intake.apply_source(session, item, stored, data_dir=settings.data_dir)
    request_ingest(session, item, send=send)


def _new_item(session: Session, viewer: Viewer, data: ItemFields) -> m.Item:
    item = m.Item(author_id=author_of(viewer))
    _apply(session, viewer, item, data)
    return item


def _apply(session: Session, viewer: Viewer, item: m.Item, data: ItemFields) -> None:
    values = changes(data, exclude={"tags"})
    for name in URL_FIELDS:
        if values.get(name):
            values[name] = check_url(values[name], field=name)
    if values.get("provider_id") is not None:
        fetch(session, viewer, m.Provider, values["provider_id"])
    assign(item, values)
    session.add(item)
    session.flush()
    if data.tags is not UNSET:
        set_tags(session, m.ItemTag, "item_id", item.id, data.tags or [])


def check_url(value: str, *, field: str) -> str:
    parsed = urlparse(value.strip())
    if parsed.scheme not in {"http", "https"} or not parsed.netloc:
        raise InvalidInput(f"{field} must be an http(s) URL", field=to_camel_case(field))
    return value.strip()


def set_tags(
    session: Session, link: type[Any], column: str, owner_id: UUID, names: list[str]
) -> None:
    """Replace the tags of ``owner_id`` in ``link`` by ``names``, creating unknown tags and
    dropping those that nothing carries any more."""
    wanted = list(dict.fromkeys(tag_name(name) for name in names))
    existing = {t.name: t for t in session.exec(select(m.Tag).where(col(m.Tag.name).in_(wanted)))}
    for name in wanted:
        if name not in existing:
            existing[name] = m.Tag(name=name)
            session.add(existing[name])
    session.flush()
    owned = getattr(link, column) == owner_id
    previous = set(session.exec(select(link.tag_id).where(owned)))
    session.exec(delete(link).where(owned))
    session.add_all(link(**{column: owner_id, "tag_id": existing[name].id}) for name in wanted)
    session.flush()
    deletion.drop_unused_tags(session, previous - {tag.id for tag in existing.values()})


def tag_name(name: str, *, field: str = "tags") -> str:
    """A tag name stripped; InvalidInput on ``field`` when empty or longer than its column."""
    name = name.strip()
    if not name:
        raise InvalidInput("a tag name cannot be empty", field=field)
    if len(name) > TAG_NAME_LENGTH:
        raise InvalidInput(f"a tag name is at most {TAG_NAME_LENGTH} characters", field=field)
    return name


TAG_NAME_LENGTH: int = m.Tag.__table__.columns["name"].type.length  # type: ignore[attr-defined]
