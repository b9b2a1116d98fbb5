"""The input boundary (api/limits.py): JSON bodies, multipart fields and WebSocket messages
nested too deep or holding NaN, and GraphQL documents nested too deep, are refused with a
code; the server keeps serving and never emits NaN."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from starlette.websockets import WebSocketDisconnect

from tests.api.conftest import Api, make_settings, serve
from tests.db import factories as f
from timeside_gql.api.limits import JSONRefused, loads, nesting, spread_depth
from timeside_gql.core.registry import all_processors
from timeside_gql.db import models as m
from timeside_gql.db.processors import sync_processors
from timeside_gql.db.visibility import Viewer
from timeside_gql.services import catalog
from timeside_gql.services.errors import InvalidInput

DEEP = "[" * 100_000 + "]" * 100_000
ME = "{ me { username } }"


def body(raw: str) -> dict[str, str]:
    return {"query": ME, "variables": raw}  # type: ignore[dict-item]


def post_raw(api: Api, raw: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    headers = {"Content-Type": "application/json", **api.headers("alice")}
    response = api.client.post("/graphql", content=raw, headers=headers)
    return response.status_code, response.json()


def test_nesting_is_measured_outside_strings() -> None:
    assert nesting('{"a": [1, {"b": "[[[[{{{"}]}') == 3
    assert nesting('"\\"[[["') == 0  # an escaped quote does not end the string
    assert nesting("[" * 1_000_000) == 1_000_000  # no recursion
    with pytest.raises(JSONRefused, match="deeper than 64"):
        loads(DEEP, max_nesting=64)
    with pytest.raises(JSONRefused, match="Infinity is not a JSON number"):
        loads(b'{"fmin": Infinity}', max_nesting=64)
    with pytest.raises(JSONRefused, match="not UTF-8"):
        loads(b'{"a": "\xff\xfe\xfd"}', max_nesting=64)
    assert loads(b'{"a": [[1.5]]}', max_nesting=3) == {"a": [[1.5]]}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ('{"query": "{ me { id } }", "variables": {"a": ' + DEEP + "}}", "nested deeper than 64"),
        ('{"query": "{ me { id } }", "variables": {"a": NaN}}', "NaN is not a JSON number"),
        ('{"query": "{ me { id } }", "variables": {"a": -Infinity}}', "-Infinity is not a JSON"),
    ],
)
def test_json_bodies_are_bounded(api: Api, raw: str, message: str) -> None:
    status, answer = post_raw(api, raw)
    assert status == 400
    (error,) = answer["errors"]
    assert message in error["message"] and error["extensions"]["code"] == "BAD_REQUEST"
    assert api("{ me { username } }", as_="alice") == {"me": {"username": "alice"}}


def test_multipart_operations_and_map_are_bounded(api: Api) -> None:
    for fields in (
        {"operations": '{"query": "{ me { id } }", "variables": ' + DEEP + "}", "map": "{}"},
        {"operations": '{"query": "{ me { id } }"}', "map": '{"0": NaN}'},
    ):
        response = api.client.post(
            "/graphql", data=fields, files={"0": ("a.wav", b"x")}, headers=api.headers("alice")
        )
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


def test_a_deep_websocket_message_closes_with_a_code(api: Api) -> None:
    with api.client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"]) as ws:
        ws.send_json({"type": "connection_init", "payload": {}})
        assert ws.receive_json() == {"type": "connection_ack"}
        ws.send_text('{"id": "1", "type": "subscribe", "payload": ' + DEEP + "}")
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4400  # a protocol refusal, not 1006 (a dropped socket)


def test_deep_documents_and_fragment_chains_are_refused(
    api: Api, engine: Engine, tmp_path: Path
) -> None:
    # 16,000 tokens: past the default token budget (api/documents.py), which refuses first;
    # with a larger budget, the fragment chain is what refuses it.
    roomy = Api(serve(make_settings(tmp_path, max_query_tokens=20_000), engine), api.tokens, {})
    chain = "".join(f"fragment F{i} on Query {{ ...F{i + 1} }}\n" for i in range(2000))
    for document, message in (
        ("{" + "me {" * 3000 + "id" + "}" * 3001, "document is nested deeper than 64"),
        ("query { ...F0 }\n" + chain + "fragment F2000 on Query { me { id } }", "fragments"),
    ):
        (error,) = roomy.raw(document, as_="alice")["errors"]
        assert message in error["message"] and error["extensions"]["code"] == "BAD_USER_INPUT"


def test_fragment_depth_follows_spreads_once() -> None:
    from graphql import parse

    # Each fragment spreads the next twice: expanding would cost 2**30 visits.
    doubling = "".join(
        f"fragment F{i} on Query {{ a: ...F{i + 1} b: ...F{i + 1} }}\n" for i in range(30)
    )
    doubling = doubling.replace("a: ", "").replace("b: ", "")
    document = parse("{ ...F0 }\n" + doubling + "fragment F30 on Query { me { id } }")
    assert spread_depth(document) == 1 + 30 + 2  # root, 30 spreads, F30's two levels
    cycle = parse("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }")
    assert spread_depth(cycle) == 3  # finite: validation reports the cycle


def test_nan_parameters_are_refused_typed_and_never_emitted(
    api: Api, engine: Engine, backend: str
) -> None:
    with Session(engine) as session:
        sync_processors(session, all_processors())
        session.commit()
    processors = api('{ processors(pid: "pitch") { nodes { id } } }')["processors"]
    processor_id = processors["nodes"][0]["id"]
    create = """mutation($p: UUID!, $v: JSON) { createPreset(processorId: $p, parameters: $v) {
        __typename ... on ValidationError { message field } } }"""
    literal = create.replace("$v: JSON", "").replace("parameters: $v", "parameters: {fmin: 1e999}")
    (refused,) = api.raw(literal, {"p": processor_id}, as_="alice")["errors"]
    assert refused["extensions"]["code"] == "BAD_USER_INPUT"
    assert "finite" in refused["message"]
    if backend == "postgresql":
        return  # its JSON columns cannot hold NaN at all
    with Session(engine) as session:  # stored before the boundary existed (or by hand)
        processor = f.processor(session, "legacy")
        f.preset(session, processor, fmin=math.nan)
        session.commit()
    response = api.client.post("/graphql", json={"query": "{ presets { nodes { parameters } } }"})
    assert "NaN" not in response.text
    assert {"fmin": None} in [n["parameters"] for n in response.json()["data"]["presets"]["nodes"]]


def test_non_finite_parameters_are_a_validation_error(engine: Engine) -> None:
    """NaN passes JSON Schema's range checks (every comparison is false): the service refuses
    it as ValidationError on ``parameters``, whichever entrance it came through."""
    with Session(engine) as session:
        sync_processors(session, all_processors())
        user = f.user(session, "ada")
        processor = session.exec(select(m.Processor).where(m.Processor.pid == "pitch")).one()
        viewer = Viewer.of(user)
        for bad in (math.nan, math.inf):
            with pytest.raises(InvalidInput, match="finite") as refused:
                catalog.create_preset(session, viewer, processor.id, {"fmin": bad})
            assert refused.value.field == "parameters"
        preset = catalog.create_preset(session, viewer, processor.id, {"fmin": 80.0})
        assert json.dumps(preset.parameters, allow_nan=False)
