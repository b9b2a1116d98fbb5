"""Files of an import, placed all or nothing together with the transaction.

Each file is first copied next to its target under a temporary name (checked against its sha1
while copying), outside any transaction; just before the commit the needed ones are renamed
into place, a file they replace being kept aside until the commit succeeded. If anything fails,
placed files are removed and replaced ones restored: nothing of the import stays on disk.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
from collections.abc import Iterable
from pathlib import Path

from timeside_gql.core.decode import file_sha1
from timeside_gql.portability.archive import CHUNK, ArchiveReader, FileEntry, file_member
from timeside_gql.portability.errors import ChecksumMismatch
from timeside_gql.portability.progress import Advance
from timeside_gql.storage import store

log = logging.getLogger(__name__)


class Staging:
    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir
        self.token = secrets.token_hex(4)
        self.temps: dict[str, Path] = {}
        self.present: set[str] = set()
        self.placed: list[Path] = []
        self.backups: list[tuple[Path, Path]] = []
        self.created: list[Path] = []

    def stage(self, reader: ArchiveReader, files: dict[str, FileEntry], advance: Advance) -> None:
        """Copy each file whose target is absent or differs to a temporary name beside it."""
        for relative, entry in files.items():
            target = self.root / relative
            if _same(target, entry):
                self.present.add(relative)
                advance(entry.size)
                continue
            self._mkdir(target.parent)
            temporary = target.with_name(f".{target.name}.{self.token}.load.tmp")
            self.temps[relative] = temporary
            with reader.open(file_member(relative), advance) as source:
                with open(temporary, "wb") as out:
                    shutil.copyfileobj(source, out, CHUNK)  # type: ignore[misc]
                    out.flush()
                    os.fsync(out.fileno())
                if source.sha1.hexdigest() != entry.sha1:
                    raise ChecksumMismatch(f"{relative} changed while it was being imported")

    def exists(self, relative: str) -> bool:
        """The file is, or will be, in place: already on disk or staged."""
        return relative in self.temps or (self.root / relative).is_file()

    def place(self, relatives: Iterable[str]) -> int:
        """Rename the staged files of ``relatives`` into place; returns how many."""
        for relative in sorted(set(relatives) & set(self.temps)):
            target = self.root / relative
            if target.exists():
                backup = target.with_name(f".{target.name}.{self.token}.load.bak")
                os.replace(target, backup)
                self.backups.append((target, backup))
            os.replace(self.temps.pop(relative), target)
            self.placed.append(target)
            store.publish(self.root, relative)
        return len(self.placed)

    def rollback(self) -> None:
        """Undo everything: placed files go, replaced ones come back, temporaries go."""
        restored = {target for target, _ in self.backups}
        for target in reversed(self.placed):
            if target not in restored:
                store.remove(self.root, target.relative_to(self.root).as_posix())
        for target, backup in reversed(self.backups):
            os.replace(backup, target)
            store.publish(self.root, target.relative_to(self.root).as_posix())
        self._drop_temps()
        for directory in reversed(self.created):
            with contextlib.suppress(OSError):  # not empty: other files live there
                directory.rmdir()

    def finish(self) -> None:
        """After the commit: drop replaced files and unused temporaries (never raises)."""
        for _, backup in self.backups:
            _unlink(backup)
        self._drop_temps()

    def _drop_temps(self) -> None:
        for temporary in self.temps.values():
            _unlink(temporary)
        self.temps.clear()

    def _mkdir(self, directory: Path) -> None:
        missing = [d for d in [directory, *directory.parents] if not d.exists()]
        directory.mkdir(parents=True, exist_ok=True)
        self.created.extend(reversed(missing))


def _same(path: Path, entry: FileEntry) -> bool:
    return path.is_file() and path.stat().st_size == entry.size and file_sha1(path) == entry.sha1


def _unlink(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError as error:
        log.warning("could not remove %s: %s", path, error)
