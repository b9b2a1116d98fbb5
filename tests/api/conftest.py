"""An app per test over the shared ``engine`` fixture (SQLite and PostgreSQL), and callers.

``api`` posts GraphQL documents as anonymous, ``alice``, ``bob`` (plain users) or ``admin``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.testclient import TestClient

from tests.db import factories
from timeside_gql.db import auth
from timeside_gql.http.app import create_app
from timeside_gql.settings import Settings

USERS = {"alice": False, "bob": False, "admin": True}


@dataclass
class Api:
    """Posts documents to /graphql; ``as_`` picks who is calling."""

    client: TestClient
    tokens: dict[str, str]
    ids: dict[str, Any]

    def __call__(
        self, query: str, variables: dict[str, Any] | None = None, *, as_: str | None = None
    ) -> dict[str, Any]:
        """The ``data`` of a response that must have no errors."""
        body = self.raw(query, variables, as_=as_)
        assert "errors" not in body, body["errors"]
        return body["data"]

    def raw(
        self, query: str, variables: dict[str, Any] | None = None, *, as_: str | None = None
    ) -> dict[str, Any]:
        headers = self.headers(as_) if as_ else {}
        response = self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    def headers(self, name: str) -> dict[str, str]:
        """``name``'s token as HTTP routes (media, exports, uploads) take it."""
        return {"Authorization": f"Bearer {self.tokens[name]}"}


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    return Settings(**{"data_dir": tmp_path, "debug": False, **overrides})


@pytest.fixture
def users(engine: Engine) -> tuple[dict[str, str], dict[str, Any]]:
    """The callers and their tokens (no password: hashing one costs more than a test)."""
    tokens, ids = {}, {}
    with Session(engine, expire_on_commit=False) as session:
        for name, is_admin in USERS.items():
            user = factories.user(session, name, is_admin=is_admin)
            tokens[name] = auth.issue_token(session, user, name="test")[1]
            ids[name] = user.id
        session.commit()
    return tokens, ids


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


def serve(settings: Settings, engine: Engine) -> TestClient:
    """A client of the app, without its lifespan: these tests exercise the API, not the job
    runtime (broker, embedded worker) the lifespan starts."""
    return TestClient(create_app(settings, engine=engine))


@pytest.fixture
def client(engine: Engine, settings: Settings) -> TestClient:
    return serve(settings, engine)


@pytest.fixture
def api(client: TestClient, users: tuple[dict[str, str], dict[str, Any]]) -> Api:
    return Api(client, *users)
