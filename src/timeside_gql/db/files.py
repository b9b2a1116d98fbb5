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


def remove_after_commit(session: OrmSession, paths: Iterable[Path]) -> None:
    session.info.setdefault(_QUEUE, set()).update(paths)


@event.listens_for(OrmSession, "after_commit")
def _remove_queued(session: OrmSession) -> None:
    for path in sorted(session.info.pop(_QUEUE, ()), reverse=True):
        _remove(path)


@event.listens_for(OrmSession, "after_rollback")
def _forget_queued(session: OrmSession) -> None:
    session.info.pop(_QUEUE, None)


def _remove(path: Path) -> None:
    try:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    except OSError as error:  # a leftover file must not turn a committed delete into an error
        log.warning("could not remove %s: %s", path, error)
