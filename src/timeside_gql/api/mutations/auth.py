"""Logging in and out, API tokens, accounts."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID

import strawberry
from sqlmodel import Session, select

from timeside_gql.api.errors import (
    AuthenticationError,
    Conflict,
    ConflictError,
    Forbidden,
    InvalidInput,
    NotFound,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from timeside_gql.api.mutations.base import (
    DeletePayload,
    deleted,
    mutate,
    require_text,
)
from timeside_gql.api.permissions import require_admin, require_user
from timeside_gql.api.scope import current_scope
from timeside_gql.api.types.base import as_type
from timeside_gql.api.types.users import ApiToken, User
from timeside_gql.db import auth
from timeside_gql.db import models as m
from timeside_gql.db.types import utcnow
from timeside_gql.db.visibility import Viewer


@strawberry.type(description="A new API token: send `token` as `Authorization: Bearer <token>`.")
class LoginSuccess:
    token: str = strawberry.field(description="The secret; it is not stored and not shown again.")
    api_token: ApiToken
    user: User


LoginPayload = Annotated[LoginSuccess | AuthenticationError, strawberry.union("LoginPayload")]
TokenPayload = Annotated[
    ApiToken | NotFoundError | PermissionDenied, strawberry.union("TokenPayload")
]
UserPayload = Annotated[
    User | ValidationError | PermissionDenied | ConflictError, strawberry.union("UserPayload")
]


def login(
    session: Session, _: Viewer, username: str, password: str, name: str, ttl_days: int | None
) -> LoginSuccess:
    user = auth.authenticate(session, username, password)
    expires = utcnow() + timedelta(days=ttl_days) if ttl_days else None
    token, secret = auth.issue_token(session, user, name=name, expires_at=expires)
    return LoginSuccess(token=secret, api_token=as_type(token), user=as_type(user))


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


def create_token(
    session: Session, viewer: Viewer, name: str, expires_days: int | None
) -> LoginSuccess:
    """A named token for a script, without sending the password again."""
    require_user(viewer)
    if expires_days is not None and expires_days <= 0:
        raise InvalidInput("expiresDays must be positive", field="expiresDays")
    user = session.get_one(m.User, viewer.user_id)
    expires = utcnow() + timedelta(days=expires_days) if expires_days else None
    token, secret = auth.issue_token(session, user, name=name, expires_at=expires)
    return LoginSuccess(token=secret, api_token=as_type(token), user=as_type(user))


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


@strawberry.type
class AuthMutations:
    @strawberry.mutation(description="Exchange a username and password for a new API token.")
    async def login(self, username: str, password: str, token_name: str = "login") -> LoginPayload:
        ttl = current_scope().settings.token_ttl_days
        return await mutate(login, username, password, token_name, ttl, convert=lambda s: s)

    @strawberry.mutation(description="Revoke the token of this request.")
    async def logout(self, info: strawberry.Info) -> TokenPayload:
        return await mutate(logout, info.context.token)

    @strawberry.mutation(description="Revoke one of your tokens (any token, for administrators).")
    async def revoke_token(self, id: UUID) -> TokenPayload:
        return await mutate(revoke, id)

    @strawberry.mutation(description="Issue a named API token for the caller (for scripts).")
    async def create_token(
        self, name: str, expires_days: int | None = None
    ) -> Annotated[
        LoginSuccess | ValidationError | PermissionDenied, strawberry.union("CreateTokenPayload")
    ]:
        return await mutate(create_token, name, expires_days, convert=lambda s: s)

    @strawberry.mutation(description="Change the caller's password; their other tokens end.")
    async def change_password(
        self, info: strawberry.Info, current_password: str, new_password: str
    ) -> Annotated[
        User | AuthenticationError | ValidationError | PermissionDenied,
        strawberry.union("ChangePasswordPayload"),
    ]:
        return await mutate(change_password, current_password, new_password, info.context.token)

    @strawberry.mutation(description="Administrators only.")
    async def create_user(
        self, username: str, password: str, is_admin: bool = False
    ) -> UserPayload:
        return await mutate(create_user, username, password, is_admin)

    @strawberry.mutation(
        description="Administrators only: grant or remove rights, reset a password."
    )
    async def update_user(
        self, id: UUID, is_admin: bool | None = None, password: str | None = None
    ) -> Annotated[
        User | NotFoundError | ValidationError | PermissionDenied | ConflictError,
        strawberry.union("UpdateUserPayload"),
    ]:
        return await mutate(update_user, id, is_admin, password)

    @strawberry.mutation(description="Administrators only; what the user authored stays.")
    async def delete_user(self, id: UUID) -> DeletePayload:
        return await mutate(delete_user, id, convert=deleted)
