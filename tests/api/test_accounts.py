"""Accounts through GraphQL: scripts' tokens, password changes, administrators' user management."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from tests.api.conftest import Api
from timeside_gql.db import auth
from timeside_gql.db import models as m

CREATE_TOKEN = """
mutation($name: String!, $days: Int) {
  createToken(name: $name, expiresDays: $days) {
    __typename
    ... on LoginSuccess { token apiToken { name expiresAt } user { username } }
    ... on Error { message }
  }
}"""
CHANGE = """
mutation($current: String!, $new: String!) {
  changePassword(currentPassword: $current, newPassword: $new) {
    __typename ... on User { username } ... on Error { message }
  }
}"""
UPDATE = """
mutation($id: UUID!, $admin: Boolean, $password: String) {
  updateUser(id: $id, isAdmin: $admin, password: $password) {
    __typename ... on User { username isAdmin } ... on Error { message }
  }
}"""
DELETE = """
mutation($id: UUID!) {
  deleteUser(id: $id) { __typename ... on Deleted { id } ... on Error { message } }
}"""
USERS = "{ users(first: 10) { totalCount nodes { username isAdmin } } }"


def test_a_user_issues_a_named_expiring_token_that_works(api: Api) -> None:
    made = api(CREATE_TOKEN, {"name": "corpus script", "days": 30}, as_="alice")["createToken"]
    assert made["apiToken"]["name"] == "corpus script"
    assert made["apiToken"]["expiresAt"] is not None
    api.tokens["script"] = made["token"]
    assert api("{ me { username } }", as_="script")["me"] == {"username": "alice"}
    refused = api(CREATE_TOKEN, {"name": "x", "days": 0}, as_="alice")["createToken"]
    assert refused["__typename"] == "ValidationError"
    anonymous = api(CREATE_TOKEN, {"name": "x"})["createToken"]
    assert anonymous["__typename"] == "PermissionDenied"


def test_changing_the_password_keeps_this_token_and_ends_the_others(
    api: Api, engine: Engine
) -> None:
    with Session(engine) as session:
        user = session.exec(select(m.User).where(m.User.username == "alice")).one()
        user.password_hash = auth.hash_password("old secret")
        other = auth.issue_token(session, user, name="other")[1]
        session.commit()
    wrong = api(CHANGE, {"current": "nope", "new": "new secret"}, as_="alice")["changePassword"]
    assert wrong["__typename"] == "AuthenticationError"
    done = api(CHANGE, {"current": "old secret", "new": "new secret"}, as_="alice")
    assert done["changePassword"] == {"__typename": "User", "username": "alice"}
    assert api("{ me { username } }", as_="alice")["me"] == {"username": "alice"}
    assert (
        api.client.post(
            "/graphql", json={"query": "{ me { username } }"}, headers=bearer(other)
        ).status_code
        == 401
    )
    with Session(engine) as session:
        assert auth.authenticate(session, "alice", "new secret").username == "alice"


def test_only_administrators_list_update_and_delete_users(api: Api, engine: Engine) -> None:
    bob = str(api.ids["bob"])
    assert api.raw(USERS, as_="alice")["errors"][0]["message"].startswith("only administrators")
    assert (
        api(UPDATE, {"id": bob, "admin": True}, as_="alice")["updateUser"]["__typename"]
        == "PermissionDenied"
    )
    listed = api(USERS, as_="admin")["users"]
    assert listed["totalCount"] == 3
    assert {n["username"]: n["isAdmin"] for n in listed["nodes"]} == {
        "alice": False,
        "bob": False,
        "admin": True,
    }
    promoted = api(UPDATE, {"id": bob, "admin": True}, as_="admin")["updateUser"]
    assert promoted == {"__typename": "User", "username": "bob", "isAdmin": True}

    item = api('mutation { createItem(input: {title: "kept"}) { ... on Item { id } } }', as_="bob")
    assert api(DELETE, {"id": bob}, as_="admin")["deleteUser"] == {
        "__typename": "Deleted",
        "id": bob,
    }
    assert (
        api.client.post(
            "/graphql", json={"query": "{ me { username } }"}, headers=bearer(api.tokens["bob"])
        ).status_code
        == 401
    )
    with Session(engine) as session:
        kept = session.get_one(m.Item, UUID(item["createItem"]["id"]))
        assert (kept.title, kept.author_id) == ("kept", None)
        assert session.exec(select(m.ApiToken).where(m.ApiToken.user_id == UUID(bob))).all() == []


def test_the_last_administrator_stays(api: Api) -> None:
    admin = str(api.ids["admin"])
    demoted = api(UPDATE, {"id": admin, "admin": False}, as_="admin")["updateUser"]
    assert demoted["__typename"] == "ConflictError"
    assert api(DELETE, {"id": admin}, as_="admin")["deleteUser"]["__typename"] == "ConflictError"
    reset = api(UPDATE, {"id": str(api.ids["alice"]), "password": "reset"}, as_="admin")
    assert reset["updateUser"]["username"] == "alice"
    assert (
        api.client.post(
            "/graphql", json={"query": "{ me { username } }"}, headers=bearer(api.tokens["alice"])
        ).status_code
        == 401
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
