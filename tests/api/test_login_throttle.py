"""Login throttling: failures per account and per client address answer RateLimited (with
Retry-After) before the password is checked, in memory or shared through Redis."""

from __future__ import annotations

import secrets
import time
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.testclient import TestClient

from tests.api.conftest import make_settings, serve
from tests.services import need_redis
from timeside_gql.db import auth
from timeside_gql.http.app import create_app
from timeside_gql.services import throttle

LOGIN = """mutation($u: String!, $p: String!) { login(username: $u, password: $p) {
  __typename ... on RateLimited { retryAfter message } } }"""


def account(engine: Engine) -> str:
    name = f"carol{secrets.token_hex(4)}"
    with Session(engine) as session:
        auth.create_user(session, name, "right password")
        session.commit()
    return name


def test_failed_logins_are_throttled_per_account(engine: Engine, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, login_attempts_per_account=3, login_window_s=60)
    client, name = serve(settings, engine), account(engine)

    def login(password: str, user: str = name) -> tuple[dict[str, Any], Any]:
        response = client.post(
            "/graphql", json={"query": LOGIN, "variables": {"u": user, "p": password}}
        )
        return response.json()["data"]["login"], response.headers.get("retry-after")

    for _ in range(3):
        assert login("wrong")[0] == {"__typename": "AuthenticationError"}
    limited, header = login("right password")  # even the right one, until the window ends
    assert limited["__typename"] == "RateLimited"
    assert 55 <= limited["retryAfter"] <= 60 and header == str(limited["retryAfter"])
    other = account(engine)  # another account from the same address is not blocked
    assert login("right password", other)[0] == {"__typename": "LoginSuccess"}


def test_failed_logins_are_throttled_per_address(engine: Engine, tmp_path: Path) -> None:
    settings = make_settings(tmp_path, login_attempts_per_address=4, login_window_s=60)
    clients = [
        TestClient(create_app(settings, engine=engine), client=(f"10.0.0.{i}", 5000))
        for i in (1, 2)
    ]
    client = clients[0]
    answers = []
    for i in range(6):  # six usernames, one address: the enumeration a per-account limit misses
        variables = {"u": f"nobody{i}{secrets.token_hex(2)}", "p": "x"}
        response = client.post("/graphql", json={"query": LOGIN, "variables": variables})
        answers.append(response.json()["data"]["login"]["__typename"])
    assert answers == ["AuthenticationError"] * 4 + ["RateLimited"] * 2
    # Another address of the same application is not blocked.
    other = clients[1].post("/graphql", json={"query": LOGIN, "variables": {"u": "z", "p": "x"}})
    assert other.json()["data"]["login"]["__typename"] == "AuthenticationError"


def test_a_success_clears_the_account_count() -> None:
    settings = make_settings(Path("/nonexistent"), login_attempts_per_account=2)
    store = throttle.counter(settings)
    for ok in (False, True, False):
        throttle.record(store, settings, "dave", "10.0.0.1", ok=ok)
    assert throttle.retry_after(store, settings, "dave", "10.0.0.1") is None
    throttle.record(store, settings, "dave", "10.0.0.2", ok=False)
    assert throttle.retry_after(store, settings, "dave", "10.0.0.3") is not None  # per account


def test_counts_are_shared_through_redis() -> None:
    url = need_redis()
    namespace = f"test-{secrets.token_hex(4)}"
    settings = make_settings(
        Path("/nonexistent"),
        redis_url=url,
        redis_namespace=namespace,
        login_attempts_per_account=2,
        login_window_s=2,
    )
    store = throttle.counter(settings)
    assert isinstance(store, throttle.RedisCounter)
    for _ in range(2):
        throttle.record(store, settings, "erin", None, ok=False)
    wait = throttle.retry_after(store, settings, "ERIN ", None)  # usernames compare case-folded
    assert wait is not None and 1 <= wait <= 2
    other = throttle.RedisCounter(url, namespace)  # another server process
    assert other.count("account:erin")[0] == 2
    time.sleep(2.1)
    assert throttle.retry_after(store, settings, "erin", None) is None
