"""The exported SDL and README examples, the abuse limits, error masking (the playground:
tests/web)."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from graphql import get_introspection_query, parse, validate
from sqlalchemy.engine import Engine

from tests.api.conftest import make_settings, serve
from timeside_gql.api.schema import schema, sdl
from timeside_gql.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_schema_graphql_is_up_to_date() -> None:
    exported = (ROOT / "schema.graphql").read_text(encoding="utf-8")
    assert exported == sdl(), "schema.graphql is stale: run `make schema`"


def test_export_schema_command(tmp_path: Path) -> None:
    target = tmp_path / "schema.graphql"
    assert main(["export-schema", "--output", str(target)]) == 0
    assert target.read_text(encoding="utf-8") == sdl()


def query(engine: Engine, tmp_path: Path, document: str, **settings: Any) -> dict[str, Any]:
    client = serve(make_settings(tmp_path, **settings), engine)
    return client.post("/graphql", json={"query": document}).json()


def test_depth_limit(engine: Engine, tmp_path: Path) -> None:
    deep = "{ items { nodes { results { item { results { id } } } } } }"
    assert "errors" not in query(engine, tmp_path, deep, max_query_depth=5)
    refused = query(engine, tmp_path, deep, max_query_depth=4)
    assert "exceeds maximum operation depth of 4" in refused["errors"][0]["message"]


def test_alias_limit(engine: Engine, tmp_path: Path) -> None:
    aliased = "{ a: me { id } b: me { id } c: me { id } }"
    assert "errors" not in query(engine, tmp_path, aliased, max_aliases=3)
    refused = query(engine, tmp_path, aliased, max_aliases=2)
    assert "3 aliases found. Allowed: 2" in refused["errors"][0]["message"]


@pytest.fixture
def broken(engine: Engine) -> Iterator[Engine]:
    """A database whose tags table is away for the test: reading tags fails in the server."""
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE tags RENAME TO tags_away"))
    yield engine
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE tags_away RENAME TO tags"))


def test_unexpected_errors_are_masked_unless_debug(
    broken: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Masked to an incident id, the one the log has with the traceback."""
    document = "{ tags { totalCount } }"
    with caplog.at_level(logging.ERROR, logger="timeside_gql.api"):
        masked = query(broken, tmp_path, document)
    (error,) = masked["errors"]
    incident = error["extensions"]["incident"]
    assert error["message"] == f"Unexpected error (id {incident})."
    assert error["extensions"]["code"] == "INTERNAL_SERVER_ERROR"
    assert "tags" not in error["message"]
    (record,) = [r for r in caplog.records if incident in r.getMessage()]
    assert record.exc_info is not None and "tags" in record.getMessage()
    shown = query(broken, tmp_path, document, debug=True)
    assert "tags" in shown["errors"][0]["message"]
    assert shown["errors"][0]["extensions"]["code"] == "INTERNAL_SERVER_ERROR"


def test_request_errors_carry_a_code(engine: Engine, tmp_path: Path) -> None:
    for document, code in (
        ("{ me { id }", "GRAPHQL_PARSE_FAILED"),
        ("{ nope }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ items(first: 1, filter: {unknown: 1}) { totalCount } }", "GRAPHQL_VALIDATION_FAILED"),
    ):
        (error,) = query(engine, tmp_path, document)["errors"]
        assert error["extensions"]["code"] == code, error


def test_client_errors_are_not_masked(engine: Engine, tmp_path: Path) -> None:
    refused = query(engine, tmp_path, '{ items(after: "nonsense") { totalCount } }')
    assert refused["errors"][0]["message"] == "invalid cursor 'nonsense'"
    assert refused["errors"][0]["extensions"] == {"code": "BAD_USER_INPUT"}


def test_readme_examples_are_valid() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```graphql\n(.*?)```", readme, flags=re.DOTALL)
    assert blocks, "README has no graphql examples"
    for block in blocks:
        assert validate(schema._schema, parse(block)) == []


def test_introspection_is_not_limited_by_depth(engine: Engine, tmp_path: Path) -> None:
    """GraphiQL and codegen send the (deep) introspection query."""
    assert "errors" not in query(engine, tmp_path, get_introspection_query())
