"""``timeside-gql migrate | createuser | token`` through the real entry point."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import select

from timeside_gql.cli import main
from timeside_gql.db.auth import authenticate, verify_token
from timeside_gql.db.engine import create_engine, session_scope
from timeside_gql.db.errors import InvalidToken
from timeside_gql.db.models import Processor
from timeside_gql.settings import get_settings


@pytest.fixture
def database(empty_db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    monkeypatch.chdir(tmp_path)  # migrations come from the package, not from a checkout
    monkeypatch.setenv("TIMESIDE_DATABASE_URL", empty_db_url)
    get_settings.cache_clear()
    assert main(["migrate"]) == 0
    yield empty_db_url
    get_settings.cache_clear()


def run(monkeypatch: pytest.MonkeyPatch, argv: list[str], stdin: str = "") -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(argv)


def test_migrate_syncs_the_registry(database: str) -> None:
    from timeside_gql.core.registry import all_processors

    engine = create_engine(database)
    with session_scope(engine) as session:
        pids = set(session.exec(select(Processor.pid)))
    engine.dispose()
    assert pids == {cls.pid for cls in all_processors()}
    assert main(["migrate"]) == 0, "migrate is idempotent"


def test_createuser_then_token_lifecycle(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(monkeypatch, ["createuser", "ada", "--admin", "--password-stdin"], "s3cret\n") == 0
    assert run(monkeypatch, ["createuser", "ada", "--password-stdin"], "other\n") == 1
    assert "already exists" in capsys.readouterr().err

    assert main(["token", "issue", "ada", "--name", "laptop", "--expires-days", "30"]) == 0
    secret = capsys.readouterr().out.strip()
    assert main(["token", "issue", "nobody"]) == 1

    engine = create_engine(database)
    with session_scope(engine) as session:
        assert authenticate(session, "ada", "s3cret").is_admin
        assert verify_token(session, secret).username == "ada"

    capsys.readouterr()
    assert main(["token", "list", "ada"]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    token_id, username, name, state, *_ = line.split("\t")
    assert (username, name) == ("ada", "laptop") and state.startswith("expires ")
    assert secret not in line

    assert main(["token", "revoke", token_id]) == 0
    with session_scope(engine) as session, pytest.raises(InvalidToken, match="revoked"):
        verify_token(session, secret)
    engine.dispose()


def test_createuser_refuses_an_empty_password(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(monkeypatch, ["createuser", "ada", "--password-stdin"], "\n") == 1
    assert "empty password" in capsys.readouterr().err
