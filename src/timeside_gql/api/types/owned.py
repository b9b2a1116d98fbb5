"""The fields of shareable objects: visibility flag and author."""

from __future__ import annotations

from uuid import UUID

import strawberry

from timeside_gql.api.types.base import Entity, to_one
from timeside_gql.api.types.users import User
from timeside_gql.db import models as m


@strawberry.interface(description="An object with an author, private when `isPublic` is false.")
class Owned(Entity):
    is_public: bool
    author_id: strawberry.Private[UUID | None]

    author: User | None = to_one(
        m.User, "author_id", description="Who created it; null once that account is deleted."
    )
