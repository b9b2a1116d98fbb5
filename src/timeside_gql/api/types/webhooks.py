"""Webhooks (endpoints told of the caller's work by signed POSTs) and their delivery log."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from timeside_gql.api.pagination import Connection, paginate
from timeside_gql.api.scope import current_scope
from timeside_gql.api.types.base import Entity, as_type, loaders, maps
from timeside_gql.api.types.enums import DeliveryStatus, WebhookEvent
from timeside_gql.api.types.users import User
from timeside_gql.db import models as m
from timeside_gql.db.visibility import visible


@maps(m.Webhook)
@strawberry.type(
    description="An endpoint told of your tasks, items and results by signed POSTs "
    "(docs/webhooks.md); its secret is shown only by createWebhook and rotateWebhookSecret."
)
class Webhook(Entity):
    url: str
    events: list[WebhookEvent]
    is_active: bool = strawberry.field(description="False: no new delivery, pending ones fail.")
    user_id: strawberry.Private[UUID]

    @strawberry.field(description="Whose webhook it is (only administrators see others').")
    async def user(self) -> User | None:
        return as_type(await loaders().by_id(m.User).load(self.user_id))

    @strawberry.field(description="The delivery log, newest first.")
    async def deliveries(
        self,
        first: int | None = None,
        after: str | None = None,
        status: DeliveryStatus | None = None,
    ) -> Connection[WebhookDelivery]:
        where: list[Any] = [
            m.WebhookDelivery.webhook_id == self.id,
            visible(m.WebhookDelivery, current_scope().viewer),
        ]
        if status is not None:
            where.append(m.WebhookDelivery.status == status)
        return await paginate(m.WebhookDelivery, where, convert=as_type, first=first, after=after)


@maps(m.WebhookDelivery)
@strawberry.type(description="One event sent (or to be sent) to a webhook, retried with backoff.")
class WebhookDelivery(Entity):
    event: str = strawberry.field(
        description="The X-Timeside-Event header: a WebhookEvent value such as `task.done`, "
        "or `webhook.test`."
    )
    payload: JSON = strawberry.field(description="The JSON body every attempt sends.")
    status: DeliveryStatus
    attempts: int = strawberry.field(description="POSTs made so far.")
    response_status: int | None = strawberry.field(
        description="HTTP status of the last answer; null when none came."
    )
    error: str | None = strawberry.field(description="Why the last attempt failed.")
    next_attempt_at: datetime | None = strawberry.field(
        description="When a pending delivery is tried next (or, while it is tried, not before)."
    )
    delivered_at: datetime | None
    webhook_id: strawberry.Private[UUID]

    @strawberry.field
    async def webhook(self) -> Webhook | None:
        return as_type(await loaders().by_id(m.Webhook).load(self.webhook_id))
