"""Expected failures of a write, raised by services and shown by each entrance in its own form
(a GraphQL payload member, an HTTP status, a CLI message)."""

from __future__ import annotations

from uuid import UUID

from timeside_gql.db import errors as db_errors


class ServiceError(Exception):
    """A failure the caller can fix or must be told about; ``message`` is safe to show."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(ServiceError):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFound(ServiceError):
    """Absent, or not visible to the viewer: the two are never told apart."""

    def __init__(self, kind: str, id: UUID | None) -> None:
        super().__init__(f"{kind} {id} not found")
        self.id = id


class Forbidden(ServiceError):
    """Visible, but not the viewer's to change (or no viewer at all)."""


class CycleRefused(ServiceError):
    pass


class Conflict(ServiceError):
    pass


class BadCredentials(ServiceError):
    pass


class MediaRefused(ServiceError):
    """A ``storage.errors.MediaError``; ``reason`` is its class name."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


def from_data_error(error: db_errors.DataError) -> ServiceError:
    """The service failure a database rule's refusal stands for."""
    message = str(error)
    match error:
        case db_errors.SelectionCycleError():
            return CycleRefused(message)
        case db_errors.DuplicatePresetError():
            return InvalidInput(message, field="presetIds")
        case db_errors.InvalidCredentials():
            return BadCredentials(message)
        case db_errors.DeleteRefusedError() | db_errors.UserExists():
            return Conflict(message)
        case _:
            return InvalidInput(message)
