"""Files owned by rows are removed only once the delete is committed.

Removing them earlier would lose data when the transaction rolls back; never removing them
leaves orphans. Paths are queued on the session and unlinked by an ``after_commit`` hook.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession

log = logging.getLogger(__name__)
_QUEUE = "timeside_remove_after_commit"


def remove_after_commit(
    session: OrmSession, files: Iterable[Path], *, trees: Iterable[Path] = ()
) -> None:
    """Unlink ``files`` (never directories) and remove ``trees`` recursively, after commit."""
    queue: dict[Path, bool] = session.info.setdefault(_QUEUE, {})
    queue.update(dict.fromkeys(files, False))
    queue.update(dict.fromkeys(trees, True))


@event.listens_for(OrmSession, "after_commit")
def _remove_queued(session: OrmSession) -> None:
    for path, tree in session.info.pop(_QUEUE, {}).items():
        _remove(path, tree=tree)


@event.listens_for(OrmSession, "after_rollback")
def _forget_queued(session: OrmSession) -> None:
    session.info.pop(_QUEUE, None)


def _remove(path: Path, *, tree: bool) -> None:
    try:
        if tree:
            if path.exists():
                shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    except OSError as error:  # a leftover file must not turn a committed delete into an error
        log.warning("could not remove %s: %s", path, error)
