"""Accounts and API tokens."""

from __future__ import annotations

from datetime import datetime

import strawberry

from timeside_gql.api.types.base import Entity, maps
from timeside_gql.db import models as m


@maps(m.User)
@strawberry.type(description="A user account (never its password hash).")
class User(Entity):
    username: str
    is_admin: bool


@maps(m.ApiToken)
@strawberry.type(description="An API token; its secret is shown only once, by `login`.")
class ApiToken(Entity):
    name: str
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
