"""Login, me, logout and token revocation, bad tokens, TIMESIDE_REQUIRE_LOGIN, accounts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.testclient import TestClient

from tests.api.conftest import Api, make_settings, serve
from timeside_gql.db import auth

LOGIN = """
mutation($username: String!, $password: String!) {
  login(username: $username, password: $password) {
    __typename
    ... on LoginSuccess { token user { username } apiToken { id expiresAt } }
    ... on Error { message }
  }
}"""


@pytest.fixture
def carol(engine: Engine) -> None:
    with Session(engine) as session:
        auth.create_user(session, "carol", "s3cret")
        session.commit()


def post(client: TestClient, query: str, token: str | None = None) -> tuple[int, str]:
    """Status and error message of a refused request (a GraphQL body, with the Bearer
    challenge)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.post("/graphql", json={"query": query}, headers=headers)
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    (error,) = response.json()["errors"]
    assert error["extensions"] == {"code": "UNAUTHENTICATED"}
    return response.status_code, error["message"]


def test_login_me_logout(api: Api, carol: None) -> None:
    wrong = api(LOGIN, {"username": "carol", "password": "nope"})["login"]
    assert wrong == {"__typename": "AuthenticationError", "message": "invalid username or password"}
    unknown = api(LOGIN, {"username": "dave", "password": "s3cret"})["login"]
    assert unknown["__typename"] == "AuthenticationError"

    login = api(LOGIN, {"username": "carol", "password": "s3cret"})["login"]
    assert login["user"] == {"username": "carol"}
    assert login["apiToken"]["expiresAt"] is None
    api.tokens["carol"] = login["token"]
    assert api("{ me { username isAdmin } }", as_="carol")["me"] == {
        "username": "carol",
        "isAdmin": False,
    }
    tokens = api("{ myTokens { id revokedAt } }", as_="carol")["myTokens"]
    assert tokens == [{"id": login["apiToken"]["id"], "revokedAt": None}]

    out = api("mutation { logout { __typename ... on ApiToken { revokedAt } } }", as_="carol")
    assert out["logout"]["revokedAt"] is not None
    status, text = post(api.client, "{ me { username } }", login["token"])
    assert (status, text) == (401, "token revoked")


def test_tokens_expire_when_the_setting_says(engine: Engine, tmp_path: Path, carol: None) -> None:
    settings = make_settings(tmp_path, token_ttl_days=7)
    login = Api(serve(settings, engine), {}, {})(LOGIN, {"username": "carol", "password": "s3cret"})
    assert login["login"]["apiToken"]["expiresAt"] is not None


def test_bad_tokens_are_refused(api: Api) -> None:
    assert post(api.client, "{ me { id } }", "not-a-token") == (401, "invalid token")
    assert api("{ me { id } }")["me"] is None


def test_revoking_someone_elses_token_is_not_found(api: Api) -> None:
    alice_token = api("{ myTokens { id } }", as_="alice")["myTokens"][0]["id"]
    query = "mutation($id: UUID!) { revokeToken(id: $id) { __typename } }"
    assert api(query, {"id": alice_token}, as_="bob")["revokeToken"]["__typename"] == (
        "NotFoundError"
    )
    assert api(query, {"id": alice_token}, as_="admin")["revokeToken"]["__typename"] == "ApiToken"


def test_only_admins_create_users(api: Api) -> None:
    query = """mutation($name: String!) { createUser(username: $name, password: "pw") {
      __typename ... on User { username } } }"""
    assert api(query, {"name": "eve"}, as_="alice")["createUser"] == {
        "__typename": "PermissionDenied"
    }
    assert api(query, {"name": "eve"}, as_="admin")["createUser"] == {
        "__typename": "User",
        "username": "eve",
    }
    assert api(query, {"name": "eve"}, as_="admin")["createUser"]["__typename"] == "ConflictError"


def test_require_login(engine: Engine, tmp_path: Path, users: tuple[dict[str, str], Any]) -> None:
    settings = make_settings(tmp_path, require_login=True)
    api = Api(serve(settings, engine), *users)
    anonymous = api.raw("{ items { totalCount } }")
    assert anonymous["data"] is None
    assert anonymous["errors"][0]["extensions"] == {"code": "UNAUTHENTICATED"}
    assert api("{ items { totalCount } }", as_="bob") == {"items": {"totalCount": 0}}
