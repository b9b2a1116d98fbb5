"""The processor registry: every concrete Processor subclass, by pid.

Subclasses register themselves when their module is imported (``Processor.__init_subclass__``);
:func:`all_processors` imports the plugin modules first, so callers never import them.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from timeside_gql.core.processor import Processor

PLUGIN_MODULES: tuple[str, ...] = (
    "timeside_gql.core.analyzers",
    "timeside_gql.core.graphers",
    "timeside_gql.core.encoders",
)
_REGISTRY: dict[str, type[Processor]] = {}
_loaded = False


class UnknownProcessor(LookupError):
    """No processor has this id."""


def register(cls: type[Processor]) -> None:
    from timeside_gql.core.processor import check_pid

    check_pid(cls.pid)
    existing = _REGISTRY.get(cls.pid)
    if existing is not None and existing.__qualname__ != cls.__qualname__:
        raise ValueError(f"processor id {cls.pid!r} is used by {existing.__qualname__} already")
    _REGISTRY[cls.pid] = cls


def _load_plugins() -> None:
    global _loaded
    if _loaded:
        return
    for module in PLUGIN_MODULES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
    _loaded = True


def all_processors() -> list[type[Processor]]:
    """Every registered processor, sorted by kind then pid."""
    _load_plugins()
    return sorted(_REGISTRY.values(), key=lambda cls: (cls.kind, cls.pid))


def get_processor(pid: str) -> type[Processor]:
    _load_plugins()
    try:
        return _REGISTRY[pid]
    except KeyError:
        raise UnknownProcessor(f"unknown processor {pid!r}") from None


def unregister(pid: str) -> None:
    """Forget a processor (tests that define throwaway processors clean up with this)."""
    _REGISTRY.pop(pid, None)
