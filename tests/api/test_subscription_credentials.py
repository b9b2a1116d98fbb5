"""A subscription ends, and its WebSocket closes, within a second of its credentials ending:
the token revoked, the password changed (other tokens end) or the user deleted."""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.websockets import WebSocketDisconnect

from tests.api.conftest import Api
from tests.db import factories as f
from timeside_gql.api.credentials import REVERIFY_S
from timeside_gql.db import auth
from timeside_gql.db import models as m

FOLLOW = "subscription($id: UUID!) { itemUpdates(itemId: $id) { kind item { title } } }"


def second_token(engine: Engine, user_id: Any) -> str:
    with Session(engine) as session:
        user = session.get_one(m.User, user_id)
        secret = auth.issue_token(session, user, name="socket")[1]
        session.commit()
    return secret


@pytest.mark.parametrize("ending", ["revoke", "delete_user"])
def test_open_subscriptions_end_with_their_credentials(
    api: Api, engine: Engine, ending: str
) -> None:
    with Session(engine) as session:
        item = f.item(session, "private", is_public=False, author_id=api.ids["alice"])
        session.commit()
        item_id = str(item.id)
    token = second_token(engine, api.ids["alice"])
    with api.client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"token": token}})
        assert ws.receive_json() == {"type": "connection_ack"}
        ws.send_json(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": FOLLOW, "variables": {"id": item_id}},
            }
        )
        snapshot = ws.receive_json()
        assert snapshot["payload"]["data"]["itemUpdates"]["item"] == {"title": "private"}
        if ending == "revoke":
            tokens = api("{ myTokens { id name } }", as_="alice")["myTokens"]
            (socket_token,) = [t["id"] for t in tokens if t["name"] == "socket"]
            revoke = "mutation($id: UUID!) { revokeToken(id: $id) { __typename } }"
            assert (
                api(revoke, {"id": socket_token}, as_="alice")["revokeToken"]["__typename"]
                == "ApiToken"
            )
        else:
            delete = "mutation($id: UUID!) { deleteUser(id: $id) { __typename } }"
            assert api(delete, {"id": str(api.ids["alice"])}, as_="admin")["deleteUser"] == {
                "__typename": "Deleted"
            }
        ended = time.monotonic()
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:  # an error for the operation may come first
                message = ws.receive_json()
                assert message.get("type") in {"error", "next", "complete"}, message
                assert "private" not in str(message.get("payload"))
        assert closed.value.code == 4403
        assert time.monotonic() - ended < 2 * REVERIFY_S + 0.5


def test_an_idle_socket_runs_nothing_on_credentials_that_ended(api: Api, engine: Engine) -> None:
    """No subscription runs to notice the revoke: the next operation the socket carries does."""
    with Session(engine) as session:
        item = f.item(session, "private", is_public=False, author_id=api.ids["alice"])
        session.commit()
        item_id = str(item.id)
    token = second_token(engine, api.ids["alice"])
    read = "query($id: UUID!) { item(id: $id) { title } }"
    with api.client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {"token": token}})
        assert ws.receive_json() == {"type": "connection_ack"}
        ask = {"type": "subscribe", "payload": {"query": read, "variables": {"id": item_id}}}
        ws.send_json({"id": "1", **ask})
        assert ws.receive_json()["payload"]["data"] == {"item": {"title": "private"}}
        assert ws.receive_json() == {"id": "1", "type": "complete"}

        tokens = api("{ myTokens { id name } }", as_="alice")["myTokens"]
        (socket_token,) = [t["id"] for t in tokens if t["name"] == "socket"]
        revoke = "mutation($id: UUID!) { revokeToken(id: $id) { __typename } }"
        api(revoke, {"id": socket_token}, as_="alice")

        ws.send_json({"id": "2", **ask})
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                message = ws.receive_json()
                assert "private" not in str(message.get("payload")), message
                if message["type"] == "error":
                    [error] = message["payload"]
                    assert error["extensions"]["code"] == "UNAUTHENTICATED"
        assert closed.value.code == 4403
