"""The fields of shareable objects: visibility flag and author."""

from __future__ import annotations

from uuid import UUID

import strawberry

from timeside_gql.api.types.base import Entity, as_type, loaders
from timeside_gql.api.types.users import User
from timeside_gql.db import models as m


@strawberry.interface(description="An object with an author, private when `isPublic` is false.")
class Owned(Entity):
    is_public: bool
    author_id: strawberry.Private[UUID | None]

    @strawberry.field(description="Who created it; null once that account is deleted.")
    async def author(self) -> User | None:
        if self.author_id is None:
            return None
        return as_type(await loaders().by_id(m.User).load(self.author_id))
