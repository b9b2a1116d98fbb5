"""Who changes what, and the GraphQL permission classes (who sees what: ``db.visibility``)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from strawberry import Info
from strawberry.permission import BasePermission

from timeside_gql.api.errors import Forbidden
from timeside_gql.db.visibility import Viewer


def require_user(viewer: Viewer) -> UUID:
    """The caller's id; anonymous callers write nothing."""
    if viewer.user_id is None:
        raise Forbidden("log in to change data")
    return viewer.user_id


def require_admin(viewer: Viewer) -> None:
    require_user(viewer)
    if not viewer.is_admin:
        raise Forbidden("only administrators may change this")


def require_owner(author_id: UUID | None, viewer: Viewer) -> None:
    """Only the author or an admin changes a shareable object (ownerless ones: admins only)."""
    require_user(viewer)
    if not viewer.is_admin and author_id != viewer.user_id:
        raise Forbidden("only the author or an administrator may change this")


class CanRead(BasePermission):
    """Every query field: anonymous readers pass unless TIMESIDE_REQUIRE_LOGIN is set."""

    message = "authentication required"
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        context = info.context
        return not (context.settings.require_login and context.viewer.is_anonymous)


class IsAdmin(BasePermission):
    """Query fields about the whole instance (accounts)."""

    message = "only administrators may read this"
    error_extensions = {"code": "FORBIDDEN"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        return bool(info.context.viewer.is_admin)
