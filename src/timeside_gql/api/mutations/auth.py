"""Account and token mutations (``services.accounts``)."""

from __future__ import annotations

from functools import partial
from typing import Annotated
from uuid import UUID

import strawberry
from anyio import to_thread
from starlette.responses import Response

from timeside_gql.api.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    PermissionDenied,
    RateLimited,
    ValidationError,
)
from timeside_gql.api.mutations.base import DeletePayload, converted, deleted, mutate
from timeside_gql.api.scope import current_scope
from timeside_gql.api.types.base import as_type
from timeside_gql.api.types.users import ApiToken, User
from timeside_gql.services import accounts, throttle


@strawberry.type(description="A new API token: send `token` as `Authorization: Bearer <token>`.")
class LoginSuccess:
    token: str = strawberry.field(description="The secret; it is not stored and not shown again.")
    api_token: ApiToken
    user: User


LoginPayload = Annotated[
    LoginSuccess | AuthenticationError | RateLimited, strawberry.union("LoginPayload")
]
TokenPayload = Annotated[
    ApiToken | NotFoundError | PermissionDenied, strawberry.union("TokenPayload")
]
UserPayload = Annotated[
    User | ValidationError | PermissionDenied | ConflictError, strawberry.union("UserPayload")
]


@strawberry.type
class AuthMutations:
    @strawberry.mutation(
        description="Exchange a username and password for a new API token; too many failures "
        "for one account or from one address answer RateLimited (TIMESIDE_LOGIN_*)."
    )
    async def login(
        self, info: strawberry.Info, username: str, password: str, token_name: str = "login"
    ) -> LoginPayload:
        settings, logins = current_scope().settings, info.context.logins
        client = info.context.request.client
        address = client.host if client else None
        wait = await to_thread.run_sync(throttle.retry_after, logins, settings, username, address)
        if wait is not None:
            if isinstance(response := info.context.response, Response):
                response.headers["Retry-After"] = str(wait)
            return RateLimited(
                message=f"too many failed logins: retry in {wait} s", retry_after=wait
            )
        ttl = settings.token_ttl_days
        payload = await converted(_success, accounts.login, username, password, token_name, ttl)
        ok = isinstance(payload, LoginSuccess)
        record = partial(throttle.record, logins, settings, username, address, ok=ok)
        await to_thread.run_sync(record)
        return payload

    @strawberry.mutation(description="Revoke the token of this request.")
    async def logout(self, info: strawberry.Info) -> TokenPayload:
        return await mutate(accounts.logout, info.context.token)

    @strawberry.mutation(description="Revoke one of your tokens (any token, for administrators).")
    async def revoke_token(self, id: UUID) -> TokenPayload:
        return await mutate(accounts.revoke, id)

    @strawberry.mutation(description="Issue a named API token for the caller (for scripts).")
    async def create_token(
        self, name: str, expires_days: int | None = None
    ) -> Annotated[
        LoginSuccess | ValidationError | PermissionDenied, strawberry.union("CreateTokenPayload")
    ]:
        return await converted(_success, accounts.create_token, name, expires_days)

    @strawberry.mutation(description="Change the caller's password; their other tokens end.")
    async def change_password(
        self, info: strawberry.Info, current_password: str, new_password: str
    ) -> Annotated[
        User | AuthenticationError | ValidationError | PermissionDenied,
        strawberry.union("ChangePasswordPayload"),
    ]:
        return await mutate(
            accounts.change_password, current_password, new_password, info.context.token
        )

    @strawberry.mutation(description="Administrators only.")
    async def create_user(
        self, username: str, password: str, is_admin: bool = False
    ) -> UserPayload:
        return await mutate(accounts.create_user, username, password, is_admin)

    @strawberry.mutation(
        description="Administrators only: grant or remove rights, reset a password."
    )
    async def update_user(
        self, id: UUID, is_admin: bool | None = None, password: str | None = None
    ) -> Annotated[
        User | NotFoundError | ValidationError | PermissionDenied | ConflictError,
        strawberry.union("UpdateUserPayload"),
    ]:
        return await mutate(accounts.update_user, id, is_admin, password)

    @strawberry.mutation(description="Administrators only; what the user authored stays.")
    async def delete_user(self, id: UUID) -> DeletePayload:
        return await converted(deleted, accounts.delete_user, id)


def _success(issued: accounts.Issued) -> LoginSuccess:
    return LoginSuccess(
        token=issued.secret, api_token=as_type(issued.token), user=as_type(issued.user)
    )
