"""Failures the API reports, and how each reaches the client.

Expected failures of a mutation (bad input, unknown id, not allowed, cycle) are raised as
``services.errors.ServiceError`` by the services and returned as a member of the mutation's
payload union, so clients branch on ``__typename`` instead of parsing messages. Failures of a
query that are the client's fault raise :class:`ClientError`: it keeps its message when
everything else is masked.
"""

from __future__ import annotations

from uuid import UUID

import strawberry

from timeside_gql.services import errors as services
from timeside_gql.services.errors import ServiceError


class ClientError(Exception):
    """A query-level failure the client caused; shown verbatim, with ``extensions.code``."""

    code = "BAD_USER_INPUT"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code or self.code

    @property
    def extensions(self) -> dict[str, str]:
        """graphql-core copies these into the error it reports."""
        return {"code": self.code}


@strawberry.interface(description="Common shape of every expected failure of a mutation.")
class Error:
    message: str


@strawberry.type(description="An input value was refused; `field` names it when there is one.")
class ValidationError(Error):
    field: str | None = None


@strawberry.type(description="No object with this id is visible to you.")
class NotFoundError(Error):
    id: UUID | None = None


@strawberry.type(description="You may see this object but not change it, or you are not logged in.")
class PermissionDenied(Error):
    pass


@strawberry.type(description="The change would make a selection contain itself.")
class CycleError(Error):
    pass


@strawberry.type(description="The change conflicts with existing data (a unique value, a use).")
class ConflictError(Error):
    pass


@strawberry.type(description="Wrong username or password.")
class AuthenticationError(Error):
    pass


@strawberry.type(description="Audio refused or out of reach: not audio, too large, unsafe URL...")
class MediaRefusedError(Error):
    reason: str = strawberry.field(
        description="NotAudio, TooLarge, UnknownSource, DownloadError, NoSourceAccess, UnsafeURL."
    )


@strawberry.type(description="Too many failed attempts: try again in `retryAfter` seconds.")
class RateLimited(Error):
    retry_after: int = strawberry.field(description="Seconds to wait before trying again.")


def to_graphql(error: ServiceError) -> Error:
    """The payload member a service failure is returned as."""
    match error:
        case services.InvalidInput():
            return ValidationError(message=error.message, field=error.field)
        case services.NotFound():
            return NotFoundError(message=error.message, id=error.id)
        case services.Forbidden():
            return PermissionDenied(message=error.message)
        case services.CycleRefused():
            return CycleError(message=error.message)
        case services.Conflict():
            return ConflictError(message=error.message)
        case services.BadCredentials():
            return AuthenticationError(message=error.message)
        case services.MediaRefused():
            return MediaRefusedError(message=error.message, reason=error.reason)
        case _:
            return ValidationError(message=error.message)


ERROR_TYPES = (
    ValidationError,
    NotFoundError,
    PermissionDenied,
    CycleError,
    ConflictError,
    AuthenticationError,
    MediaRefusedError,
    RateLimited,
)
