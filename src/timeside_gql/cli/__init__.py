"""The ``timeside-gql`` command: each submodule of COMMAND_MODULES registers its subcommands."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Each module exposes ``register(subparsers)``; the subparser sets ``func(args) -> int | None``.
COMMAND_MODULES: tuple[str, ...] = ("admin", "server", "worker", "analyze", "portability", "media")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="timeside-gql", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
