"""Webhooks through GraphQL: registration and its checks (http(s), no private address), the
secret shown once, and privacy (another user neither sees nor triggers your webhook)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from tests.api.conftest import Api, make_settings
from timeside_gql.db import models as m
from timeside_gql.services.webhooks import MAX_WEBHOOKS_PER_USER

#: A public address given literally: checked without DNS, never connected to by these tests.
PUBLIC = "http://93.184.216.34/hooks"
ERROR = "__typename ... on Error { message }"
PAYLOAD = f"{ERROR} ... on ValidationError {{ field }}"
WEBHOOK = "webhook { id url events isActive user { username } }"
CREATE = f"""mutation($input: WebhookInput!) {{ createWebhook(input: $input) {{
  {PAYLOAD} ... on WebhookSecret {{ secret {WEBHOOK} }} }} }}"""
UPDATE = f"""mutation($id: UUID!, $input: WebhookInput!) {{ updateWebhook(id: $id, input: $input) {{
  {PAYLOAD} ... on Webhook {{ id url events isActive }} }} }}"""
ROTATE = f"""mutation($id: UUID!) {{ rotateWebhookSecret(id: $id) {{
  {ERROR} ... on WebhookSecret {{ secret }} }} }}"""
DELETE = f"mutation($id: UUID!) {{ deleteWebhook(id: $id) {{ {ERROR} ... on Deleted {{ id }} }} }}"
SEND_TEST = f"""mutation($id: UUID!) {{ sendTestWebhook(id: $id) {{
  {ERROR} ... on WebhookDelivery {{ id event status attempts payload }} }} }}"""
LIST = "{ webhooks { totalCount nodes { id url deliveries { totalCount } } } }"
ONE = "query($id: UUID!) { webhook(id: $id) { id url } }"


@pytest.fixture
def settings(tmp_path):
    return make_settings(tmp_path, allow_private_urls=False)


def create(api: Api, as_: str | None, **input: Any) -> dict:
    fields = {"url": PUBLIC, "events": ["TASK_DONE"], **input}
    return api(CREATE, {"input": fields}, as_=as_)["createWebhook"]


def test_a_webhook_is_created_with_a_secret_shown_once(api: Api):
    created = create(api, "alice", events=["TASK_DONE", "RESULT_DONE", "TASK_DONE"])
    assert created["__typename"] == "WebhookSecret"
    assert len(created["secret"]) >= 40
    webhook = created["webhook"]
    assert (webhook["url"], webhook["events"], webhook["isActive"]) == (
        PUBLIC,
        ["TASK_DONE", "RESULT_DONE"],
        True,
    )
    assert webhook["user"] == {"username": "alice"}

    chosen = create(api, "alice", secret="a-secret-of-24-characters")
    assert chosen["secret"] == "a-secret-of-24-characters"
    asked = api.raw("query($id: UUID!) { webhook(id: $id) { secret } }", {"id": webhook["id"]})
    assert "Cannot query field 'secret'" in asked["errors"][0]["message"]

    rotated = api(ROTATE, {"id": webhook["id"]}, as_="alice")["rotateWebhookSecret"]
    assert rotated["__typename"] == "WebhookSecret"
    assert rotated["secret"] != created["secret"] and len(rotated["secret"]) >= 40


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1:8000/hooks", "127.0.0.1 is a private or reserved address"),
        ("http://localhost/hooks", "is a private or reserved address"),
        ("http://10.1.2.3/hooks", "10.1.2.3 is a private or reserved address"),
        ("http://[::1]:9000/hooks", "::1 is a private or reserved address"),
        ("http://169.254.169.254/latest", "is a private or reserved address"),
        ("ftp://93.184.216.34/hooks", "only http and https URLs"),
        ("not a url", "only http and https URLs"),
    ],
)
def test_private_addresses_and_other_schemes_are_refused(api: Api, url: str, reason: str):
    refused = create(api, "alice", url=url)
    assert (refused["__typename"], refused["field"]) == ("ValidationError", "url")
    assert reason in refused["message"]
    assert api(LIST, as_="alice")["webhooks"]["totalCount"] == 0


def test_updates_are_checked_like_creations(api: Api):
    webhook_id = create(api, "alice")["webhook"]["id"]

    def update(**input: Any) -> dict:
        return api(UPDATE, {"id": webhook_id, "input": input}, as_="alice")["updateWebhook"]

    assert update(url="http://192.168.1.10/hooks")["field"] == "url"
    assert update(events=[])["field"] == "events"
    assert update(secret="short")["field"] == "secret"
    changed = update(url="https://93.184.216.34/v2", events=["ITEM_FAILED"], isActive=False)
    assert (changed["url"], changed["events"], changed["isActive"]) == (
        "https://93.184.216.34/v2",
        ["ITEM_FAILED"],
        False,
    )
    disabled = api(SEND_TEST, {"id": webhook_id}, as_="alice")["sendTestWebhook"]
    assert disabled["__typename"] == "ConflictError"


def test_creating_needs_a_user_an_url_and_events(api: Api):
    assert create(api, None)["__typename"] == "PermissionDenied"
    assert create(api, "alice", url="")["field"] == "url"
    assert create(api, "alice", events=[])["field"] == "events"
    assert create(api, "alice", url=PUBLIC + "/x" * 1100)["field"] == "url"  # 2 KiB at most
    assert create(api, "alice", secret="s" * 300)["field"] == "secret"


def test_a_user_has_a_bounded_number_of_webhooks(api: Api):
    for _ in range(MAX_WEBHOOKS_PER_USER):
        assert create(api, "alice")["__typename"] == "WebhookSecret"
    refused = create(api, "alice")
    assert refused["__typename"] == "ConflictError"
    assert str(MAX_WEBHOOKS_PER_USER) in refused["message"]
    assert create(api, "bob")["__typename"] == "WebhookSecret"


def test_another_user_neither_sees_nor_triggers_your_webhook(api: Api, engine: Engine):
    webhook_id = create(api, "alice")["webhook"]["id"]
    sent = api(SEND_TEST, {"id": webhook_id}, as_="alice")["sendTestWebhook"]
    assert (sent["__typename"], sent["event"], sent["status"], sent["attempts"]) == (
        "WebhookDelivery",
        "webhook.test",
        "PENDING",
        0,
    )
    assert sent["payload"]["data"]["webhook"]["id"] == webhook_id

    assert api(LIST, as_="bob")["webhooks"] == {"totalCount": 0, "nodes": []}
    assert api(LIST)["webhooks"]["totalCount"] == 0  # anonymous
    assert api(ONE, {"id": webhook_id}, as_="bob")["webhook"] is None
    for mutation, variables in (
        (UPDATE, {"id": webhook_id, "input": {"url": "https://93.184.216.34/stolen"}}),
        (ROTATE, {"id": webhook_id}),
        (SEND_TEST, {"id": webhook_id}),
        (DELETE, {"id": webhook_id}),
    ):
        [payload] = api(mutation, variables, as_="bob").values()
        assert payload["__typename"] == "NotFoundError", mutation

    [mine] = api(LIST, as_="alice")["webhooks"]["nodes"]
    assert (mine["url"], mine["deliveries"]["totalCount"]) == (PUBLIC, 1)
    [seen] = api(LIST, as_="admin")["webhooks"]["nodes"]  # administrators see every one
    assert seen["id"] == webhook_id

    deleted = api(DELETE, {"id": webhook_id}, as_="alice")["deleteWebhook"]
    assert deleted == {"__typename": "Deleted", "id": webhook_id}
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(m.WebhookDelivery)).one() == 0


def test_a_users_webhooks_go_with_the_user(api: Api, engine: Engine):
    create(api, "bob")
    deleted = api(
        "mutation($id: UUID!) { deleteUser(id: $id) { __typename } }",
        {"id": str(api.ids["bob"])},
        as_="admin",
    )
    assert deleted["deleteUser"]["__typename"] == "Deleted"
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(m.Webhook)).one() == 0
