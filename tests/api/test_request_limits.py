"""/graphql refuses a body past its limit while it streams (Strawberry reads a JSON body whole
into memory), whoever sends it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from graphql import get_introspection_query
from graphql.language import Lexer, Source, TokenKind
from sqlalchemy.engine import Engine

from tests.api.conftest import Api, make_settings, serve
from timeside_gql.api.documents import TOKEN_PATTERN
from timeside_gql.http.app import MAX_JSON_BODY


def test_json_body_over_the_limit_is_refused(api: Api) -> None:
    document = {"query": "{ me { id } }", "variables": {"pad": "x" * (MAX_JSON_BODY + 1)}}
    body = json.dumps(document).encode()

    def chunks():  # type: ignore[no-untyped-def]  # chunked: no Content-Length to go by
        for start in range(0, len(body), 1 << 20):
            yield body[start : start + (1 << 20)]

    headers = {"Content-Type": "application/json"}
    response = api.client.post("/graphql", content=chunks(), headers=headers)
    assert response.status_code == 413, response.text[:200]
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    assert "larger than 16 MiB" in error["message"]


def test_json_body_under_the_limit_is_served(api: Api) -> None:
    padded = {"query": "{ me { id } }", "variables": {"pad": "x" * (1 << 20)}}
    response = api.client.post("/graphql", json=padded)
    assert response.status_code == 200 and response.json() == {"data": {"me": None}}


def test_a_document_over_the_token_budget_is_refused_while_parsing(api: Api) -> None:
    """300 KB of ``{ me { id id ... } }`` took 3.6 to 7.6 s to validate, stalling every other
    request; the token budget stops the lexer at 5000 tokens."""
    query = "{ me { " + "id " * 100_000 + "} }"
    assert len(query) > 300_000
    started = time.perf_counter()
    body = api.client.post("/graphql", json={"query": query}).json()
    elapsed = time.perf_counter() - started
    (error,) = body["errors"]
    assert "more than 5000 tokens" in error["message"], error
    assert error["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"
    assert elapsed < 1.0, elapsed
    assert api("{ me { id } }", as_="alice")["me"]["id"] == str(api.ids["alice"])


def test_an_operation_past_its_deadline_is_answered_timeout(tmp_path: Path, engine: Engine) -> None:
    client = serve(make_settings(tmp_path, request_timeout_s=1e-6), engine)
    response = client.post("/graphql", json={"query": "{ items { edges { node { id } } } }"})
    assert response.status_code == 503
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "TIMEOUT"


@pytest.mark.parametrize(
    "document",
    [
        get_introspection_query(descriptions=True),
        '{ a(x: -1.5e3, y: "s \\" t", z: """block "" q""") { ...F } } # a, comment\n'
        "fragment F on T { b, c @skip(if: true) }",
    ],
)
def test_the_token_count_before_parsing_is_the_lexers(document: str) -> None:
    """The fast count refuses exactly what the parser's limit would: never a valid document
    within the budget."""
    lexer, count = Lexer(Source(document)), 0
    while lexer.advance().kind != TokenKind.EOF:
        count += 1
    assert count > 20
    assert sum(not t.group().startswith("#") for t in TOKEN_PATTERN.finditer(document)) == count
