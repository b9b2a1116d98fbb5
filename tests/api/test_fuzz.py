"""Property-based fuzzing of /graphql, over HTTP and over graphql-transport-ws:
hypothesis-graphql generates valid and invalid operations from schema.graphql; whatever they
are, the server answers a GraphQL body (never a 5xx, never a closed socket), every error
carries ``extensions.code`` and none is an unexpected error.

Bounded (``EXAMPLES`` per mode) so it runs in well under a minute; on SQLite only, since it
exercises the API layer, not the database backends.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLSchema, build_schema
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, mutations, nodes, queries

from tests.api.conftest import Api

ROOT = Path(__file__).resolve().parents[2]
SDL = (ROOT / "schema.graphql").read_text(encoding="utf-8")
EXAMPLES = 30

UUIDS = st.uuids().map(str) | st.sampled_from(["", "nope", "00000000-0000-0000-0000-000000000000"])
TEXT = st.text(string.printable, max_size=40)
SCALARS = {
    "UUID": UUIDS.map(nodes.String),
    "DateTime": st.datetimes().map(lambda d: nodes.String(d.isoformat())) | TEXT.map(nodes.String),
    "JSON": TEXT.map(nodes.String) | st.integers().map(nodes.Int) | st.just(nodes.Null),
    "Upload": st.just(nodes.Null) | TEXT.map(nodes.String),
    "Numbers": st.just(nodes.Null),
}
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


def check(api: Api, document: str, caller: str | None) -> None:
    headers = api.headers(caller) if caller else {}
    response = api.client.post("/graphql", json={"query": document}, headers=headers)
    assert response.status_code < 500, (document, response.text[:500])
    body: dict[str, Any] = response.json()
    for error in body.get("errors") or []:
        assert "code" in (error.get("extensions") or {}), (document, error)
        assert not error["message"].startswith("Unexpected error"), (document, error)


@pytest.fixture
def sqlite_api(api: Api, backend: str) -> Api:
    if backend != "sqlite":
        pytest.skip("the fuzz exercises the API layer; SQLite suffices")
    return api


@pytest.mark.parametrize("mode", [Mode.POSITIVE, Mode.NEGATIVE])
@pytest.mark.parametrize("kind", ["queries", "mutations"])
def test_generated_operations_never_fail_the_server(sqlite_api: Api, mode: Mode, kind: str) -> None:
    generate = mutations if kind == "mutations" else queries
    strategy = generate(SDL, custom_scalars=SCALARS, mode=mode)

    @FUZZ
    @given(document=strategy, caller=st.sampled_from([None, "alice", "admin"]))
    def run(document: str, caller: str | None) -> None:
        check(sqlite_api, document, caller)

    run()


def subscription_schema() -> GraphQLSchema:
    """The schema with its Subscription type as root query type: hypothesis-graphql generates
    queries and mutations only, so subscriptions are generated as queries of that type."""
    schema = build_schema(SDL)
    assert schema.subscription_type is not None
    return GraphQLSchema(query=schema.subscription_type, types=list(schema.type_map.values()))


def check_socket(api: Api, document: str, caller: str | None) -> None:
    """One operation over graphql-transport-ws: answered by data or typed errors, then
    completed, and the connection stays open (a close would be a server fault)."""
    payload = {"token": api.headers(caller)["Authorization"].split()[1]} if caller else {}
    with api.client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": payload})
        assert ws.receive_json() == {"type": "connection_ack"}
        ws.send_json({"id": "1", "type": "subscribe", "payload": {"query": document}})
        while (message := ws.receive_json())["type"] == "next":
            errors = message["payload"].get("errors") or []
            for error in errors:
                assert "code" in (error.get("extensions") or {}), (document, error)
                assert not error["message"].startswith("Unexpected error"), (document, error)
            if message["payload"].get("data") is not None and not errors:
                break  # a live subscription streams on: its first answer suffices
        if message["type"] == "error":
            for error in message["payload"]:
                assert "code" in (error.get("extensions") or {}), (document, error)
        ws.send_json({"type": "ping"})
        assert ws.receive_json()["type"] in {"pong", "complete"}, document


@pytest.mark.parametrize("mode", [Mode.POSITIVE, Mode.NEGATIVE])
@pytest.mark.parametrize("kind", ["subscriptions", "queries"])
def test_generated_operations_over_a_websocket(sqlite_api: Api, mode: Mode, kind: str) -> None:
    if kind == "subscriptions":
        strategy = queries(subscription_schema(), custom_scalars=SCALARS, mode=mode).map(
            lambda document: f"subscription {document}"
        )
    else:
        strategy = queries(SDL, custom_scalars=SCALARS, mode=mode)

    @FUZZ
    @given(document=strategy, caller=st.sampled_from([None, "alice"]))
    def run(document: str, caller: str | None) -> None:
        check_socket(sqlite_api, document, caller)

    run()
