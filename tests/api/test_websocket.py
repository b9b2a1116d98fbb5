"""graphql-transport-ws: the token rides in the connection_init payload."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from tests.api.conftest import Api, make_settings, serve

PROTOCOL = ["graphql-transport-ws"]


def ask_me(client: TestClient, payload: dict[str, Any]) -> Any:
    """Open a connection with ``payload``, run ``me`` over it, return what it answered."""
    with client.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
        ws.send_json({"type": "connection_init", "payload": payload})
        assert ws.receive_json() == {"type": "connection_ack"}
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": "{ me { username } }"}})
        answer = ws.receive_json()
        assert ws.receive_json() == {"id": "1", "type": "complete"}
        return answer["payload"]["data"]["me"]


def test_token_in_connection_init(api: Api) -> None:
    token = api.tokens["alice"]
    assert ask_me(api.client, {"authorization": f"Bearer {token}"}) == {"username": "alice"}
    assert ask_me(api.client, {"token": token}) == {"username": "alice"}
    assert ask_me(api.client, {}) is None


def test_bad_token_is_rejected(api: Api) -> None:
    with api.client.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
        ws.send_json({"type": "connection_init", "payload": {"authorization": "Bearer nope"}})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4403


def test_require_login_refuses_anonymous_connections(
    engine: Engine, tmp_path: Path, users: tuple[dict[str, str], Any]
) -> None:
    client = serve(make_settings(tmp_path, require_login=True), engine)
    with client.websocket_connect("/graphql", subprotocols=PROTOCOL) as ws:
        ws.send_json({"type": "connection_init", "payload": {}})
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4403
    tokens, _ = users
    assert ask_me(client, {"token": tokens["bob"]}) == {"username": "bob"}
