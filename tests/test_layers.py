"""The package's layers import only from below: a test fails on any import running up a layer.

``core`` (the audio library) < ``settings`` < ``db`` < ``storage`` < ``jobs`` < ``services``
and ``portability`` < ``api`` and ``web`` < ``http`` < ``cli``. Layers of one rank are peers
and import nothing of each other. Imports inside functions count as much as those at the top.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import timeside_gql

RANKS = {
    "core": 0,
    "settings": 1,
    "db": 2,
    "storage": 3,
    "jobs": 4,
    "services": 5,
    "portability": 5,
    "api": 6,
    "web": 6,
    "http": 7,
    "cli": 8,
}
ROOT = Path(timeside_gql.__file__).parent


def layer_of(path: Path) -> str:
    return path.relative_to(ROOT).parts[0].removesuffix(".py")


def imported_layers(path: Path) -> list[tuple[int, str]]:
    """(line, layer) of every ``timeside_gql`` import in the file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
            if node.module == "timeside_gql":
                names = [f"timeside_gql.{alias.name}" for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "timeside_gql" and len(parts) > 1 and _is_module(parts[1]):
                found.append((node.lineno, parts[1]))
    return found


def _is_module(name: str) -> bool:
    """A subpackage or module of the package (not an attribute such as ``__version__``)."""
    return (ROOT / name).is_dir() or (ROOT / f"{name}.py").is_file()


def modules() -> list[Path]:
    return sorted(p for p in ROOT.rglob("*.py") if p.parent != ROOT or p.name != "__init__.py")


def test_every_module_belongs_to_a_layer():
    assert {layer_of(path) for path in modules()} <= set(RANKS)


@pytest.mark.parametrize("layer", sorted(RANKS))
def test_layer_imports_only_from_below(layer):
    offenders = []
    for path in modules():
        if layer_of(path) != layer:
            continue
        for line, target in imported_layers(path):
            if target != layer and RANKS[target] >= RANKS[layer]:
                offenders.append(f"{path.relative_to(ROOT)}:{line} imports {target}")
    assert not offenders, offenders


def test_an_upward_import_is_caught(tmp_path):
    """The check itself: imports inside functions and ``from timeside_gql import x`` count."""
    module = tmp_path / "bad.py"
    module.write_text(
        "from timeside_gql import __version__, api\n"
        "def f():\n    from timeside_gql.services import items\n"
    )
    assert imported_layers(module) == [(1, "api"), (3, "services")]
