"""Logging in and out, API tokens, accounts."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated
from uuid import UUID

import strawberry
from sqlmodel import Session, select

from timeside_gql.api.errors import (
    AuthenticationError,
    ConflictError,
    Forbidden,
    NotFound,
    NotFoundError,
    PermissionDenied,
    ValidationError,
)
from timeside_gql.api.mutations.base import mutate, require_text
from timeside_gql.api.permissions import Viewer, require_admin, require_user
from timeside_gql.api.scope import current_scope
from timeside_gql.api.types.base import as_type
from timeside_gql.api.types.users import ApiToken, User
from timeside_gql.db import auth
from timeside_gql.db import models as m
from timeside_gql.db.types import utcnow


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


def create_user(
    session: Session, viewer: Viewer, username: str, password: str, is_admin: bool
) -> m.User:
    require_admin(viewer)
    username = require_text(username, field="username")
    password = require_text(password, field="password")
    return auth.create_user(session, username, password, is_admin=is_admin)


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

    @strawberry.mutation(description="Administrators only.")
    async def create_user(
        self, username: str, password: str, is_admin: bool = False
    ) -> UserPayload:
        return await mutate(create_user, username, password, is_admin)
