"""``import`` and ``import-urls``: items from local audio files, or from URLs and provider ids.

Both go through the server's own intake (files are probed, copied into the media dir under
generated names) and queue the same ingest as the API. Without Redis (embedded mode) no worker
would pick the ingests up, so the command runs them itself before it returns.
"""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from timeside_gql.db.auth import get_user
from timeside_gql.db.engine import create_engine, session_scope
from timeside_gql.db.errors import DataError
from timeside_gql.db.models import IngestStatus, Item, Selection, SelectionItem
from timeside_gql.db.providers import provider_id
from timeside_gql.db.visibility import SYSTEM, Viewer
from timeside_gql.jobs import ingest
from timeside_gql.jobs.config import configure
from timeside_gql.services import items, selections
from timeside_gql.services.errors import ServiceError
from timeside_gql.services.inputs import ItemFields, SelectionFields
from timeside_gql.settings import Settings, get_settings
from timeside_gql.storage import intake
from timeside_gql.storage.errors import MediaError
from timeside_gql.storage.providers import resolve

EMBEDDED_NOTE = (
    "Each item is then ingested (hash, probe, waveform; downloads for URLs): by the workers when "
    "TIMESIDE_REDIS_URL is set, otherwise by this command itself before it returns."
)
#: Fields an import-urls object may set on its item, and the aliases TimeSide's scripts used.
URL_FIELDS = (
    "title",
    "artist",
    "album",
    "description",
    "external_id",
    "external_uri",
    "picture_url",
)
ALIASES = {"url": "source_url", "picture": "picture_url", "summary": "description"}


def register(subparsers: Any) -> None:
    files = subparsers.add_parser(
        "import",
        help="create items from local audio files (copied into the media dir)",
        description="Create one item per audio file (title: the file name without extension); "
        "files that are not audio are skipped with a message. " + EMBEDDED_NOTE,
    )
    files.add_argument("paths", nargs="+", type=Path, help="files, or folders of files")
    files.add_argument("--recursive", "-r", action="store_true", help="descend into sub-folders")
    _common(files)
    files.set_defaults(func=run_import)

    urls = subparsers.add_parser(
        "import-urls",
        help="create items from URLs or provider ids listed in a file",
        description="FILE holds one URL per line (# comments), or a JSON list of URLs or of "
        'objects like {"title": ..., "url" or "source_url": ..., "provider": "deezer_preview", '
        '"external_id": ...}. Provider metadata fills only the fields left empty. ' + EMBEDDED_NOTE,
    )
    urls.add_argument("file", type=Path)
    _common(urls)
    urls.set_defaults(func=run_import_urls)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--selection", help="add the items to this selection (created if missing)")
    parser.add_argument("--user", help="author of the items and of a new selection")
    parser.add_argument("--private", action="store_true", help="items visible to their author only")


@dataclass
class Report:
    created: list[uuid.UUID] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def summary(self, ingested: int | None) -> str:
        parts = [f"{len(self.created)} items created"]
        if ingested is not None:
            parts.append(f"{ingested} ingested")
        parts += [f"{len(self.skipped)} skipped", f"{len(self.failed)} ingests failed"]
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class Target:
    """Who creates the new items (a user, or the instance itself) and where they go."""

    viewer: Viewer
    is_public: bool
    selection_id: uuid.UUID | None


# ---------------------------------------------------------------------------------------------
# Commands


def run_import(args: argparse.Namespace) -> int:
    paths = list(audio_candidates(args.paths, recursive=args.recursive))

    def create(session: Session, path: Path, target: Target, settings: Settings) -> uuid.UUID:
        stored = intake.store_file(settings, path)
        with intake.removed_on_failure(settings, stored):
            data = ItemFields(title=path.stem, is_public=target.is_public)
            send = _send(settings)
            item = items.create_item_with_file(
                session, target.viewer, data, stored, settings, send=send
            )
            return item.id

    return _run(args, paths, create, label=lambda path: path.name)


def run_import_urls(args: argparse.Namespace) -> int:
    try:
        entries = read_url_list(args.file.read_text())
    except (OSError, ValueError) as error:
        print(f"error: {args.file}: {error}", file=sys.stderr)
        return 1

    def create(session: Session, entry: dict[str, Any], target: Target, settings: Settings) -> Any:
        ref = resolve(entry.get("source_url"), **_provider_args(entry))
        fields = {k: entry[k] for k in URL_FIELDS if entry.get(k)}
        fields["source_url"] = entry.get("source_url") or ref.url
        fields["external_id"] = fields.get("external_id") or ref.external_id
        fields["provider_id"] = provider_id(session, ref.provider)
        data = ItemFields(**fields, is_public=target.is_public)
        return items.create_item(session, target.viewer, data, send=_send(settings)).id

    return _run(args, entries, create, label=lambda e: e.get("source_url") or e.get("external_id"))


def _provider_args(entry: dict[str, Any]) -> dict[str, Any]:
    return {"provider": entry.get("provider"), "external_id": entry.get("external_id")}


def _run(
    args: argparse.Namespace,
    sources: list[Any],
    create: Callable[[Session, Any, Target, Settings], uuid.UUID],
    *,
    label: Callable[[Any], str],
) -> int:
    settings = get_settings()
    console = Console(stderr=True)
    engine = create_engine(settings.db_url)
    try:
        with session_scope(engine) as session:
            target = _target(session, args)
        report = Report()
        with _progress(console) as progress:
            task = progress.add_task("importing", total=len(sources))
            for source in sources:
                _create_one(engine, settings, create, source, target, report, console, label)
                progress.advance(task)
        ingested = (
            _ingest_inline(engine, settings, report, console) if not _send(settings) else None
        )
    except DataError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    print(report.summary(ingested))
    return 0 if not report.failed else 1


def _create_one(
    engine: Engine,
    settings: Settings,
    create: Callable[[Session, Any, Target, Settings], uuid.UUID],
    source: Any,
    target: Target,
    report: Report,
    console: Console,
    label: Callable[[Any], str],
) -> None:
    """One transaction per source: a refused one is skipped, the others stand."""
    try:
        with session_scope(engine) as session:
            item_id = create(session, source, target, settings)
            if target.selection_id is not None:
                session.add(SelectionItem(selection_id=target.selection_id, item_id=item_id))
    except (MediaError, ServiceError, OSError) as error:
        console.print(f"skipped {label(source)}: {error}")
        report.skipped.append(str(label(source)))
        return
    report.created.append(item_id)


def _ingest_inline(engine: Engine, settings: Settings, report: Report, console: Console) -> int:
    """Embedded mode: run the ingests here (nobody else would); the number that ended done."""
    configure(settings, engine)
    done = 0
    with _progress(console) as progress:
        task = progress.add_task("ingesting", total=len(report.created))
        for item_id in report.created:
            ingest.ingest(item_id, settings=settings)
            with session_scope(engine) as session:
                item = session.get(Item, item_id)
                if item is not None and item.ingest_status == IngestStatus.DONE:
                    done += 1
                elif item is not None:
                    console.print(f"ingest of {item.title or item.id} failed: {item.ingest_error}")
                    report.failed.append(str(item_id))
            progress.advance(task)
    return done


def _send(settings: Settings) -> bool:
    """Whether workers take the ingests (Redis), or this command runs them (embedded)."""
    return bool(settings.redis_url)


def _progress(console: Console) -> Progress:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    return Progress(*columns, console=console)


# ---------------------------------------------------------------------------------------------
# Rows


def _target(session: Session, args: argparse.Namespace) -> Target:
    viewer = Viewer.of(get_user(session, args.user)) if args.user else SYSTEM
    selection_id = _selection(session, args.selection, viewer) if args.selection else None
    return Target(viewer, not args.private, selection_id)


def _selection(session: Session, title: str, viewer: Viewer) -> uuid.UUID:
    """The selection of that title (the author's own first), created when missing."""
    query = select(Selection).where(Selection.title == title)
    mine = viewer.user_id
    found = sorted(session.exec(query), key=lambda s: (s.author_id != mine, s.created_at))
    if found:
        return found[0].id
    return selections.create_selection(session, viewer, SelectionFields(title=title)).id


# ---------------------------------------------------------------------------------------------
# Inputs


def audio_candidates(paths: Iterable[Path], *, recursive: bool) -> Iterator[Path]:
    """The files named, and those in the folders named (sorted; hidden files left out)."""
    for path in paths:
        if path.is_dir():
            found = path.rglob("*") if recursive else path.iterdir()
            yield from sorted(p for p in found if p.is_file() and not _hidden(p, path))
        else:
            yield path


def _hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def read_url_list(text: str) -> list[dict[str, Any]]:
    """Entries of an import-urls file: URL lines, or a JSON list of URLs or of objects."""
    stripped = text.strip()
    if stripped.startswith("["):
        entries = json.loads(stripped)
        return [_entry(entry) for entry in entries]
    lines = (line.strip() for line in text.splitlines())
    return [{"source_url": line} for line in lines if line and not line.startswith("#")]


def _entry(entry: Any) -> dict[str, Any]:
    if isinstance(entry, str):
        return {"source_url": entry}
    if not isinstance(entry, dict):
        raise ValueError(f"expected a URL or an object, got {entry!r}")
    normalized = {ALIASES.get(str(key), str(key)): value for key, value in entry.items()}
    if not (normalized.get("source_url") or normalized.get("external_id")):
        raise ValueError(f"entry without url, source_url or external_id: {entry!r}")
    return normalized
