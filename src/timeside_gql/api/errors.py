"""Failures the API reports, and how each reaches the client.

Expected failures of a mutation (bad input, unknown id, not allowed, cycle) are raised as
:class:`ApiError` by the write code and returned as a member of the mutation's payload union, so
clients branch on ``__typename`` instead of parsing messages. Failures of a query that are the
client's fault raise :class:`ClientError`: it keeps its message when everything else is masked.
"""

from __future__ import annotations

from uuid import UUID

import strawberry


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


class ApiError(Exception):
    """An expected failure of a write; ``to_graphql`` gives its payload member."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_graphql(self) -> Error:
        raise NotImplementedError


class InvalidInput(ApiError):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    def to_graphql(self) -> Error:
        return ValidationError(message=self.message, field=self.field)


class NotFound(ApiError):
    def __init__(self, kind: str, id: UUID | None) -> None:
        super().__init__(f"{kind} {id} not found")
        self.id = id

    def to_graphql(self) -> Error:
        return NotFoundError(message=self.message, id=self.id)


class Forbidden(ApiError):
    def to_graphql(self) -> Error:
        return PermissionDenied(message=self.message)


class CycleRefused(ApiError):
    def to_graphql(self) -> Error:
        return CycleError(message=self.message)


class Conflict(ApiError):
    def to_graphql(self) -> Error:
        return ConflictError(message=self.message)


class BadCredentials(ApiError):
    def to_graphql(self) -> Error:
        return AuthenticationError(message=self.message)


class MediaRefused(ApiError):
    """A ``media.errors.MediaError``; ``reason`` is its class name."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason

    def to_graphql(self) -> Error:
        return MediaRefusedError(message=self.message, reason=self.reason)


ERROR_TYPES = (
    ValidationError,
    NotFoundError,
    PermissionDenied,
    CycleError,
    ConflictError,
    AuthenticationError,
    MediaRefusedError,
)
