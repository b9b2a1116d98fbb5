"""Typed failures of the data layer; the API maps each to a typed GraphQL error."""

from __future__ import annotations

import uuid


class DataError(Exception):
    """Base of every expected failure raised by timeside_gql.db."""


class SelectionCycleError(DataError):
    def __init__(self, parent_id: uuid.UUID, child_id: uuid.UUID) -> None:
        super().__init__(
            f"selection {child_id} already contains {parent_id}: "
            "nesting it there would create a cycle"
        )
        self.parent_id = parent_id
        self.child_id = child_id


class DuplicatePresetError(DataError):
    def __init__(self, preset_id: uuid.UUID) -> None:
        super().__init__(f"preset {preset_id} is listed twice in the experience")
        self.preset_id = preset_id


class DeleteRefusedError(DataError):
    """A RESTRICT foreign key kept the row: something still depends on it."""

    def __init__(self, model: str, object_id: uuid.UUID, reason: str) -> None:
        super().__init__(f"cannot delete {model} {object_id}: {reason}")
        self.model = model
        self.object_id = object_id
        self.reason = reason


class InvalidCredentials(DataError):
    def __init__(self) -> None:
        super().__init__("invalid username or password")


class InvalidToken(DataError):
    def __init__(self, reason: str = "invalid token") -> None:
        super().__init__(reason)


class UserExists(DataError):
    def __init__(self, username: str) -> None:
        super().__init__(f"user {username!r} already exists")
        self.username = username


class UnknownUser(DataError):
    def __init__(self, username: str) -> None:
        super().__init__(f"no user {username!r}")
        self.username = username
