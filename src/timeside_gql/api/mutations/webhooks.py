"""Webhook mutations: endpoints, their secrets and test events (``services.webhooks``)."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import strawberry

from timeside_gql.api.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from timeside_gql.api.mutations.base import DeletePayload, converted, deleted, mutate
from timeside_gql.api.scope import current_scope
from timeside_gql.api.types.base import as_type
from timeside_gql.api.types.webhooks import Webhook, WebhookDelivery
from timeside_gql.services import webhooks
from timeside_gql.services.inputs import UNSET, WebhookFields


@strawberry.input(description="Fields of a webhook; on update, omitted fields keep their value.")
class WebhookInput(WebhookFields):
    url: str | None = strawberry.field(
        default=UNSET,
        description="http(s), on a public address (unless TIMESIDE_ALLOW_PRIVATE_URLS).",
    )
    secret: str | None = strawberry.field(
        default=UNSET,
        description="Signs the deliveries (16 characters or more); generated when omitted.",
    )


@strawberry.type(description="A webhook with its secret: keep it, it is not shown again.")
class WebhookSecret:
    webhook: Webhook
    secret: str


WebhookPayload = Annotated[
    Webhook | ValidationError | NotFoundError | PermissionDenied, strawberry.union("WebhookPayload")
]


@strawberry.type
class WebhookMutations:
    @strawberry.mutation(description="Register an endpoint for events about what you author.")
    async def create_webhook(
        self, input: WebhookInput
    ) -> Annotated[
        WebhookSecret | ValidationError | PermissionDenied | ConflictError,
        strawberry.union("CreateWebhookPayload"),
    ]:
        settings = current_scope().settings
        return await converted(_with_secret, webhooks.create_webhook, input, settings)

    @strawberry.mutation(description="A new URL is checked like on creation.")
    async def update_webhook(self, id: UUID, input: WebhookInput) -> WebhookPayload:
        settings = current_scope().settings
        return await mutate(webhooks.update_webhook, id, input, settings)

    @strawberry.mutation(description="Replace the secret by a generated one, shown once.")
    async def rotate_webhook_secret(
        self, id: UUID
    ) -> Annotated[
        WebhookSecret | NotFoundError | PermissionDenied,
        strawberry.union("RotateWebhookSecretPayload"),
    ]:
        return await converted(_with_secret, webhooks.rotate_secret, id)

    @strawberry.mutation(description="The webhook and its delivery log.")
    async def delete_webhook(self, id: UUID) -> DeletePayload:
        return await converted(deleted, webhooks.delete_webhook, id)

    @strawberry.mutation(
        description="Send a `webhook.test` event now, signed and retried like any delivery; "
        "follow it in `Webhook.deliveries`."
    )
    async def send_test_webhook(
        self, id: UUID
    ) -> Annotated[
        WebhookDelivery | NotFoundError | PermissionDenied | ConflictError,
        strawberry.union("SendTestWebhookPayload"),
    ]:
        return await mutate(webhooks.send_test_event, id)


def _with_secret(created: webhooks.WithSecret) -> WebhookSecret:
    return WebhookSecret(webhook=as_type(created.webhook), secret=created.secret)
