"""Property-based fuzzing of /graphql: hypothesis-graphql generates valid and invalid
operations from schema.graphql; whatever they are, the server answers a GraphQL body (never a
5xx), every error carries ``extensions.code`` and none is an unexpected error.

Bounded (``EXAMPLES`` per mode) so it runs in well under a minute; on SQLite only, since it
exercises the API layer, not the database backends.
"""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import pytest
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
