"""Passwords are argon2 hashes; tokens are random, stored as sha256, expire and get revoked."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlmodel import Session, select

from tests.db import factories
from timeside_gql.db.auth import (
    LAST_USED_RESOLUTION,
    TOKEN_PREFIX,
    authenticate,
    create_user,
    hash_password,
    issue_token,
    list_tokens,
    revoke_token,
    verify_password,
    verify_token,
)
from timeside_gql.db.errors import InvalidCredentials, InvalidToken, UserExists
from timeside_gql.db.models import ApiToken
from timeside_gql.db.types import utcnow


def test_password_hashes_are_salted_argon2() -> None:
    first, second = hash_password("s3cret"), hash_password("s3cret")
    assert first.startswith("$argon2id$") and first != second
    assert verify_password(first, "s3cret")
    assert not verify_password(first, "S3cret")
    assert not verify_password("not a hash", "s3cret")


def test_authenticate(session: Session) -> None:
    ada = create_user(session, "ada", "lovelace", is_admin=True)
    assert authenticate(session, "ada", "lovelace").id == ada.id
    assert ada.is_admin and ada.password_hash != "lovelace"
    with pytest.raises(InvalidCredentials):
        authenticate(session, "ada", "babbage")
    with pytest.raises(InvalidCredentials):
        authenticate(session, "nobody", "lovelace")
    with pytest.raises(UserExists):
        create_user(session, "ada", "again")


def test_a_token_is_shown_once_and_stored_hashed(session: Session) -> None:
    ada = factories.user(session)
    token, secret = issue_token(session, ada, name="laptop")

    assert secret.startswith(TOKEN_PREFIX) and len(secret) > 40
    stored = session.exec(select(ApiToken.token_hash)).one()
    assert stored == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in stored
    assert verify_token(session, secret).id == ada.id
    assert token.last_used_at is not None
    assert [t.name for t in list_tokens(session, ada)] == ["laptop"]


def test_unknown_expired_and_revoked_tokens_are_refused(session: Session) -> None:
    ada = factories.user(session)
    now = utcnow()
    _, expiring = issue_token(session, ada, expires_at=now + timedelta(hours=1))
    revoked, revoked_secret = issue_token(session, ada)

    assert verify_token(session, expiring, now=now).id == ada.id
    with pytest.raises(InvalidToken, match="expired"):
        verify_token(session, expiring, now=now + timedelta(hours=1))
    revoke_token(session, revoked.id)
    with pytest.raises(InvalidToken, match="revoked"):
        verify_token(session, revoked_secret)
    with pytest.raises(InvalidToken):
        verify_token(session, TOKEN_PREFIX + "guessed")


def test_last_used_is_written_at_most_once_a_minute(session: Session) -> None:
    token, secret = issue_token(session, factories.user(session))
    now = utcnow()
    verify_token(session, secret, now=now)
    verify_token(session, secret, now=now + LAST_USED_RESOLUTION / 2)
    assert token.last_used_at == now
    later = now + LAST_USED_RESOLUTION
    verify_token(session, secret, now=later)
    assert token.last_used_at == later
