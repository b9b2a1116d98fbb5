"""Accounts and API tokens: logging in and out, tokens for scripts, users (administrators)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from sqlmodel import Session, select

from timeside_gql.db import auth
from timeside_gql.db import models as m
from timeside_gql.db.types import utcnow
from timeside_gql.db.visibility import Viewer
from timeside_gql.services.errors import Conflict, Forbidden, InvalidInput, NotFound
from timeside_gql.services.permissions import require_admin, require_user
from timeside_gql.services.rows import require_text

#: Longest lifetime of a token, in days (a hundred years; datetime ends at year 9999).
MAX_TOKEN_DAYS = 36_500


@dataclass(frozen=True)
class Issued:
    """A new token: ``secret`` is shown once and never stored."""

    secret: str
    token: m.ApiToken
    user: m.User


def login(
    session: Session, _: Viewer, username: str, password: str, name: str, ttl_days: int | None
) -> Issued:
    user = auth.authenticate(session, username, password)
    expires = utcnow() + timedelta(days=ttl_days) if ttl_days else None
    token, secret = auth.issue_token(session, user, name=name, expires_at=expires)
    return Issued(secret, token, user)


def revoke(session: Session, viewer: Viewer, id: UUID) -> m.ApiToken:
    """Users revoke their own tokens; administrators anyone's."""
    require_user(viewer)
    token = session.get(m.ApiToken, id)
    if token is None or not (viewer.is_admin or token.user_id == viewer.user_id):
        raise NotFound("ApiToken", id)
    return auth.revoke_token(session, id)


def logout(session: Session, viewer: Viewer, secret: str | None) -> m.ApiToken:
    """Revoke the token this request came with."""
    require_user(viewer)
    if secret is None:
        raise Forbidden("log out needs the token to revoke in the Authorization header")
    query = select(m.ApiToken).where(m.ApiToken.token_hash == auth.token_digest(secret))
    token = session.exec(query).one()
    return auth.revoke_token(session, token.id)


def create_token(session: Session, viewer: Viewer, name: str, expires_days: int | None) -> Issued:
    """A named token for a script, without sending the password again."""
    require_user(viewer)
    if expires_days is not None and not 0 < expires_days <= MAX_TOKEN_DAYS:
        raise InvalidInput(
            f"expiresDays must be between 1 and {MAX_TOKEN_DAYS}", field="expiresDays"
        )
    user = session.get_one(m.User, viewer.user_id)
    expires = utcnow() + timedelta(days=expires_days) if expires_days else None
    token, secret = auth.issue_token(session, user, name=name, expires_at=expires)
    return Issued(secret, token, user)


def create_user(
    session: Session, viewer: Viewer, username: str, password: str, is_admin: bool
) -> m.User:
    require_admin(viewer)
    username = require_text(username, field="username")
    password = require_text(password, field="password")
    return auth.create_user(session, username, password, is_admin=is_admin)


def change_password(
    session: Session, viewer: Viewer, current: str, new: str, token_secret: str | None
) -> m.User:
    """Proves the current password; other tokens of the user are revoked, this one is kept."""
    require_user(viewer)
    user = session.get_one(m.User, viewer.user_id)
    auth.authenticate(session, user.username, current)
    keep = session.exec(
        select(m.ApiToken.id).where(m.ApiToken.token_hash == auth.token_digest(token_secret or ""))
    ).first()
    auth.set_password(session, user, require_text(new, field="newPassword"), keep_token=keep)
    return user


def update_user(
    session: Session, viewer: Viewer, id: UUID, is_admin: bool | None, password: str | None
) -> m.User:
    """Administrators grant or remove rights and reset passwords (which ends the user's tokens)."""
    require_admin(viewer)
    user = _user(session, id)
    if is_admin is False and user.is_admin:
        _keep_an_admin(session, user)
    if is_admin is not None:
        user.is_admin = is_admin
    if password is not None:
        auth.set_password(session, user, require_text(password, field="password"))
    return user


def delete_user(session: Session, viewer: Viewer, id: UUID) -> UUID:
    """What the user authored stays, ownerless (admins manage it); their tokens go."""
    require_admin(viewer)
    user = _user(session, id)
    if user.is_admin:
        _keep_an_admin(session, user)
    session.delete(user)
    return id


def _user(session: Session, id: UUID) -> m.User:
    user = session.get(m.User, id)
    if user is None:
        raise NotFound("User", id)
    return user


def _keep_an_admin(session: Session, leaving: m.User) -> None:
    others = select(m.User.id).where(m.User.is_admin, m.User.id != leaving.id).limit(1)
    if session.exec(others).first() is None:
        raise Conflict("the last administrator cannot be removed")
