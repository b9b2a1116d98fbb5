"""The GraphQL permission classes of query fields (who changes what: ``services.permissions``;
who sees what: ``db.visibility``)."""

from __future__ import annotations

from typing import Any

from strawberry import Info
from strawberry.permission import BasePermission


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
