"""Passwords (argon2id) and API tokens (random secrets stored as sha256, shown once)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlmodel import Session, select

from timeside_gql.db.errors import InvalidCredentials, InvalidToken, UnknownUser, UserExists
from timeside_gql.db.models import ApiToken, User
from timeside_gql.db.types import utcnow

TOKEN_PREFIX = "tsg_"
# Writing last_used_at on every request would turn each read into a write; once a minute is enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    return hash_password(secrets.token_hex(16))


def get_user(session: Session, username: str) -> User:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        raise UnknownUser(username)
    return user


def create_user(session: Session, username: str, password: str, *, is_admin: bool = False) -> User:
    user = User(username=username, password_hash=hash_password(password), is_admin=is_admin)
    try:
        with session.begin_nested():  # the unique constraint decides, even under a race
            session.add(user)
    except IntegrityError as error:
        raise UserExists(username) from error
    return user


def authenticate(session: Session, username: str, password: str) -> User:
    """The user with these credentials; unknown names cost a hash too, so timing reveals nothing."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        verify_password(_dummy_hash(), password)
        raise InvalidCredentials()
    if not verify_password(user.password_hash, password):
        raise InvalidCredentials()
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def set_password(
    session: Session, user: User, password: str, *, keep_token: uuid.UUID | None = None
) -> None:
    """A new password ends every session but ``keep_token``: a leaked password stops working."""
    user.password_hash = hash_password(password)
    now = utcnow()
    for token in list_tokens(session, user):
        if token.id != keep_token and token.revoked_at is None:
            token.revoked_at = now


def token_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_token(
    session: Session, user: User, *, name: str = "", expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """A new token row and its secret; the secret is not stored and cannot be shown again."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id, name=name, token_hash=token_digest(secret), expires_at=expires_at
    )
    session.add(token)
    session.flush()
    return token, secret


def verify_token(session: Session, secret: str, *, now: datetime | None = None) -> User:
    """The user a live token belongs to; InvalidToken says why it is not live."""
    now = now or utcnow()
    row = session.exec(
        select(ApiToken, User)
        .join(User, User.id == ApiToken.user_id)  # type: ignore[arg-type]
        .where(ApiToken.token_hash == token_digest(secret))
    ).first()
    if row is None:
        raise InvalidToken()
    token, user = row
    if token.revoked_at is not None:
        raise InvalidToken("token revoked")
    if token.expires_at is not None and token.expires_at <= now:
        raise InvalidToken("token expired")
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        token.last_used_at = now
    return user


def list_tokens(session: Session, user: User | None = None) -> list[ApiToken]:
    query = (
        select(ApiToken)
        .options(selectinload(ApiToken.user))  # type: ignore[arg-type]
        .order_by(ApiToken.created_at)  # type: ignore[arg-type]
    )
    if user is not None:
        query = query.where(ApiToken.user_id == user.id)
    return list(session.exec(query))


def revoke_token(session: Session, token_id: uuid.UUID, *, now: datetime | None = None) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise InvalidToken(f"no token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = now or utcnow()
    return token
