"""Progress reporting for long steps, kept out of dump and load so they stay UI-free."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

Advance = Callable[[int], object]


class Steps(Protocol):
    def step(self, description: str, total: int) -> Advance:
        """Start a step of ``total`` units; the returned function advances it."""
        ...


class Quiet:
    def step(self, description: str, total: int) -> Advance:
        return lambda _: None


QUIET = Quiet()
