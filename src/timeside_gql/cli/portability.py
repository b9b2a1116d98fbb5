"""``dump`` and ``load``: move data between instances (docs/operations.md)."""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

from timeside_gql.db.engine import create_engine
from timeside_gql.portability.closure import DumpOptions
from timeside_gql.portability.dump import dump
from timeside_gql.portability.errors import ArchiveError
from timeside_gql.portability.load import load
from timeside_gql.portability.progress import Advance
from timeside_gql.settings import get_settings


def register(subparsers: Any) -> None:
    out = subparsers.add_parser("dump", help="write this instance's data to an archive")
    out.add_argument("out", type=Path, help="archive to create (a .tar; never overwritten)")
    out.add_argument(
        "--selection",
        type=uuid.UUID,
        help="only this selection, its nested selections, their items and what hangs off them",
    )
    out.add_argument(
        "--no-audio", action="store_true", help="leave the items' audio out (results stay)"
    )
    out.add_argument(
        "--since", type=parse_since, metavar="DATE", help="only rows updated since (ISO date)"
    )
    out.add_argument("--with-users", action="store_true", help="include users and API tokens")
    out.set_defaults(func=run_dump)

    into = subparsers.add_parser("load", help="import an archive made by dump")
    into.add_argument("archive", type=Path)
    into.add_argument(
        "--author",
        metavar="USERNAME",
        help="owner of imported rows whose author is not on this instance (default: none)",
    )
    into.set_defaults(func=run_load)


def parse_since(text: str) -> datetime:
    """An ISO date or datetime; without a timezone, UTC."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date: {text!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


class RichSteps:
    """Steps shown as rich progress bars (on stderr)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def step(self, description: str, total: int) -> Advance:
        task = self.progress.add_task(description, total=total)
        return lambda amount: self.progress.advance(task, amount)


@contextmanager
def _steps() -> Iterator[RichSteps]:
    console = Console(stderr=True)
    columns = (TextColumn("{task.description:>9}"), BarColumn(), TaskProgressColumn())
    with Progress(
        *columns,
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,  # bars on a terminal; logs get the summary only
    ) as progress:
        yield RichSteps(progress)


def _guarded(command: Callable[[argparse.Namespace], str]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            print(command(args))
        except (ArchiveError, OSError) as error:  # OSError: disk full, permissions...
            print(f"error: {error}", file=sys.stderr)
            return 1
        return 0

    return run


@_guarded
def run_dump(args: argparse.Namespace) -> str:
    settings = get_settings()
    options = DumpOptions(args.selection, args.since, args.no_audio, args.with_users)
    engine = create_engine(settings.db_url)
    try:
        with _steps() as steps:
            manifest = dump(engine, settings.data_dir, args.out, options, steps)
    finally:
        engine.dispose()
    rows = sum(t.rows for t in manifest.tables.values())
    files = manifest.data_files()
    size = sum(e.size for e in files.values())
    text = f"{args.out}: {rows} rows of {len(manifest.tables)} tables, {len(files)} files"
    text += f" ({size} bytes)"
    if manifest.missing_files:
        text += f"; {len(manifest.missing_files)} files missing on disk (listed in the manifest)"
    return text


@_guarded
def run_load(args: argparse.Namespace) -> str:
    settings = get_settings()
    engine = create_engine(settings.db_url)
    try:
        with _steps() as steps:
            report = load(engine, settings.data_dir, args.archive, author=args.author, steps=steps)
    finally:
        engine.dispose()
    lines = [
        f"{table}: " + ", ".join(f"{n} {what}" for what, n in sorted(counts.items()) if n)
        for table, counts in report.counts.items()
        if any(counts.values())
    ]
    lines.append(f"files: {report.files_placed} written, {report.files_present} already present")
    return "\n".join(lines)
