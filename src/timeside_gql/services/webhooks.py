"""Webhooks of users: register, change, delete, rotate the secret, send a test event.

A webhook is its user's alone (administrators see and change every one). Its URL must be
http(s) and pass the SSRF guard of downloads (``storage.fetch``): checked here, and again at
each delivery, since a name may resolve elsewhere later. What is delivered, and how, is
``jobs.webhooks``.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from uuid import UUID

from sqlmodel import Session, func, select

from timeside_gql.db import models as m
from timeside_gql.db.visibility import Viewer
from timeside_gql.jobs import webhooks
from timeside_gql.services.errors import Conflict, InvalidInput
from timeside_gql.services.inputs import WebhookFields
from timeside_gql.services.permissions import require_user
from timeside_gql.services.rows import assign, changes, fetch
from timeside_gql.settings import Settings
from timeside_gql.storage.errors import MediaError

#: Each webhook multiplies the deliveries of every event of its user.
MAX_WEBHOOKS_PER_USER = 25
MIN_SECRET_LENGTH = 16


@dataclass(frozen=True)
class WithSecret:
    """A webhook and its secret, shown when it is created or rotated, never read back."""

    webhook: m.Webhook
    secret: str


def create_webhook(
    session: Session, viewer: Viewer, data: WebhookFields, settings: Settings
) -> WithSecret:
    """A webhook of the caller; its secret is generated unless one is given."""
    user_id = require_user(viewer)
    owned = select(func.count()).select_from(m.Webhook).where(m.Webhook.user_id == user_id)
    if session.exec(owned).one() >= MAX_WEBHOOKS_PER_USER:
        raise Conflict(f"a user has at most {MAX_WEBHOOKS_PER_USER} webhooks")
    if not data.url:
        raise InvalidInput("url is required", field="url")
    if not data.events:
        raise InvalidInput("events is required: name at least one", field="events")
    webhook = m.Webhook(user_id=user_id, url="", secret=_new_secret())
    _apply(session, webhook, data, settings)
    return WithSecret(webhook, webhook.secret)


def update_webhook(
    session: Session, viewer: Viewer, id: UUID, data: WebhookFields, settings: Settings
) -> m.Webhook:
    webhook = fetch(session, viewer, m.Webhook, id)
    _apply(session, webhook, data, settings)
    return webhook


def rotate_secret(session: Session, viewer: Viewer, id: UUID) -> WithSecret:
    """A new generated secret; pending deliveries are signed with it from their next attempt."""
    webhook = fetch(session, viewer, m.Webhook, id)
    webhook.secret = _new_secret()
    session.add(webhook)
    return WithSecret(webhook, webhook.secret)


def delete_webhook(session: Session, viewer: Viewer, id: UUID) -> UUID:
    """The webhook and its delivery log (pending deliveries are never sent)."""
    session.delete(fetch(session, viewer, m.Webhook, id))
    return id


def send_test_event(session: Session, viewer: Viewer, id: UUID) -> m.WebhookDelivery:
    """A ``webhook.test`` delivery, sent like any other (signed, retried) once committed."""
    webhook = fetch(session, viewer, m.Webhook, id)
    if not webhook.is_active:
        raise Conflict(f"webhook {id} is disabled: enable it (isActive) to send it events")
    data = {"webhook": {"id": str(webhook.id), "url": webhook.url, "events": webhook.events}}
    delivery = webhooks.add_delivery(session, webhook.id, webhooks.TEST_EVENT, data, key=None)
    session.flush()
    return delivery


def check_url(url: str, *, settings: Settings) -> str:
    """The URL, if deliveries may go there now: http(s), on a public address unless
    TIMESIDE_ALLOW_PRIVATE_URLS."""
    url = url.strip()
    try:
        webhooks.webhook_fetcher(settings).check(url)
    except MediaError as error:
        raise InvalidInput(f"url refused: {error}", field="url") from None
    return url


def _apply(session: Session, webhook: m.Webhook, data: WebhookFields, settings: Settings) -> None:
    values = changes(data)
    if values.get("url") is not None:
        values["url"] = check_url(values["url"], settings=settings)
    if values.get("events") is not None:
        if not values["events"]:
            raise InvalidInput("events cannot be empty", field="events")
        events = dict.fromkeys(values["events"])  # in order, once each
        values["events"] = [m.WebhookEvent(event).value for event in events]
    if values.get("secret") is not None and len(values["secret"]) < MIN_SECRET_LENGTH:
        raise InvalidInput(f"a secret has at least {MIN_SECRET_LENGTH} characters", field="secret")
    assign(webhook, values)
    session.add(webhook)
    session.flush()


def _new_secret() -> str:
    return secrets.token_urlsafe(32)
