"""The core is a library: it never imports the server, database, jobs, settings, media or tools."""

from __future__ import annotations

import ast
from pathlib import Path

import timeside_gql.core

FORBIDDEN = ("api", "db", "jobs", "settings", "media", "cli", "portability", "web")


def test_core_imports_nothing_of_the_server():
    root = Path(timeside_gql.core.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                parts = name.split(".")
                if parts[0] == "timeside_gql" and len(parts) > 1 and parts[1] in FORBIDDEN:
                    offenders.append(f"{path.relative_to(root)}: {name}")
    assert not offenders, offenders
