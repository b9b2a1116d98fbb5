"""The janitor's file side: temporary files and folders a killed process left in the data dir.

Every process names what it writes temporarily with an owner tag (``<host>.<pid>``): partial
uploads (``media/.incoming-*``), downloads (``media/.download-*``), computation folders
(``results/.work-*``) and atomic writes (``*.tmp``). One is left over when its owner is a
process of this host that no longer exists, or, whoever its owner, when nothing in it changed
for ``older_than`` seconds (the job time limit plus a heartbeat timeout: no live job outlives
it). A file of a live process of this host younger than that is never touched.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

#: Names of temporary files and folders, and where the owner tag sits in them.
_TEMPORARY = re.compile(
    r"^\.(?:incoming|download|work)-(?P<tag>[^-]+\.\d+)-|^\.(?:incoming|download|work)-"
    r"|^\..*\.(?P<tmp_tag>[^.]+\.\d+)\.\d+\.tmp$|\.tmp$"
)


def owner_tag() -> str:
    """``<host>.<pid>`` of this process, for the names of its temporary files."""
    host = re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname()) or "host"
    return f"{host}.{os.getpid()}"


def leftovers(data_dir: Path, *, older_than: float, now: float | None = None) -> Iterator[Path]:
    """Temporary files and folders under ``data_dir`` whose writer is gone."""
    now = time.time() if now is None else now
    for folder in (data_dir / "media", data_dir / "results"):
        if folder.is_dir():
            yield from _scan(folder, older_than=older_than, now=now)


def sweep(data_dir: Path, *, older_than: float) -> list[Path]:
    """Remove the leftovers; the paths removed."""
    removed = []
    for path in list(leftovers(data_dir, older_than=older_than)):
        try:
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
        except OSError as error:
            log.warning("janitor: could not remove %s: %s", path, error)
            continue
        removed.append(path)
    if removed:
        log.info("janitor: removed %d leftover files and folders", len(removed))
    return removed


def _scan(folder: Path, *, older_than: float, now: float) -> Iterator[Path]:
    for entry in os.scandir(folder):
        path = Path(entry.path)
        match = _TEMPORARY.search(entry.name)
        if match:
            if _stale(path, match.group("tag") or match.group("tmp_tag"), older_than, now):
                yield path
        elif entry.is_dir(follow_symlinks=False):
            yield from _scan(path, older_than=older_than, now=now)


def _stale(path: Path, tag: str | None, older_than: float, now: float) -> bool:
    if tag is not None and _dead_here(tag):
        return True
    return now - _last_change(path) > older_than


def _dead_here(tag: str) -> bool:
    """The tag names a process of this host that no longer exists."""
    host, _, pid = tag.rpartition(".")
    if host != owner_tag().rpartition(".")[0]:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except (PermissionError, ValueError):
        return False
    return False


def _last_change(path: Path) -> float:
    """The newest mtime of the file, or of the folder and anything in it."""
    try:
        newest = path.stat().st_mtime
    except FileNotFoundError:
        return time.time()
    if path.is_dir():
        for root, _, files in os.walk(path):
            for name in files:
                try:
                    newest = max(newest, os.stat(os.path.join(root, name)).st_mtime)
                except FileNotFoundError:
                    continue
    return newest
