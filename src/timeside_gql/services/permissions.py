"""Who changes what (who sees what is ``db.visibility``, shared with reads and jobs)."""

from __future__ import annotations

from uuid import UUID

from timeside_gql.db.visibility import Viewer
from timeside_gql.services.errors import Forbidden


def require_user(viewer: Viewer) -> UUID:
    """The caller's id; anonymous callers write nothing."""
    if viewer.user_id is None:
        raise Forbidden("log in to change data")
    return viewer.user_id


def require_admin(viewer: Viewer) -> None:
    if viewer.is_admin:
        return
    require_user(viewer)
    raise Forbidden("only administrators may change this")


def require_owner(author_id: UUID | None, viewer: Viewer) -> None:
    """Only the author or an admin changes a shareable object (ownerless ones: admins only)."""
    if viewer.is_admin:
        return
    if require_user(viewer) != author_id:
        raise Forbidden("only the author or an administrator may change this")


def author_of(viewer: Viewer) -> UUID | None:
    """The author of the rows the viewer creates: the user, or nobody for the instance's own
    viewer (``db.visibility.SYSTEM``: the CLI importing without ``--user``)."""
    if viewer.is_admin and viewer.user_id is None:
        return None
    return require_user(viewer)
