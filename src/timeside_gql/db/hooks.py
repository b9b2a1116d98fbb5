"""Side effects that must wait for the commit: jobs to send, events to publish, files to remove.

A message sent before its transaction commits could reach a worker that does not see the row
yet; one sent for a transaction that then rolls back would run work nobody asked for; a file
removed before the commit is lost when the transaction rolls back. So callbacks are queued on
the session and run by one ``after_commit`` hook, in order; a rollback forgets them.

The transaction is committed when they run: a callback that fails is logged and the next ones
still run, so nothing after the commit can turn a committed write into an error (the caller
would undo what the rows now point to, such as an uploaded file).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session as OrmSession

log = logging.getLogger(__name__)
_QUEUE = "timeside_after_commit"
_BATCHES = "timeside_after_commit_batches"
#: Called with (path, tree) after each removal: the storage layer removes a bucket's copy.
_removal_observers: list[Callable[[Path, bool], None]] = []


def after_commit(session: OrmSession, callback: Callable[[], object]) -> None:
    """Run ``callback`` once the session's transaction commits; never if it rolls back."""
    session.info.setdefault(_QUEUE, []).append(callback)


def batch_after_commit(
    session: OrmSession, key: str, item: object, callback: Callable[[list[object]], None]
) -> None:
    """Collect ``item`` under ``key``; once the transaction commits, ``callback`` runs once
    with every item collected under ``key`` in it."""
    batches: dict[str, list[object]] = session.info.setdefault(_BATCHES, {})
    if key not in batches:
        items = batches[key] = []
        after_commit(session, lambda: callback(items))
    batches[key].append(item)


def remove_after_commit(
    session: OrmSession, files: Iterable[Path], *, trees: Iterable[Path] = ()
) -> None:
    """Unlink ``files`` (never directories) and remove ``trees`` recursively, after commit."""
    for path in files:
        after_commit(session, partial(_remove, path, tree=False))
    for path in trees:
        after_commit(session, partial(_remove, path, tree=True))


def on_file_removed(observer: Callable[[Path, bool], None]) -> None:
    """Also run ``observer(path, tree)`` for every file or tree removed after a commit."""
    _removal_observers.append(observer)


@event.listens_for(OrmSession, "after_commit")
def _run_queued(session: OrmSession) -> None:
    session.info.pop(_BATCHES, None)
    for callback in session.info.pop(_QUEUE, ()):
        try:
            callback()
        except Exception:
            log.exception("after-commit callback %r failed", callback)


@event.listens_for(OrmSession, "after_rollback")
def _forget_queued(session: OrmSession) -> None:
    session.info.pop(_QUEUE, None)
    session.info.pop(_BATCHES, None)


def _remove(path: Path, *, tree: bool) -> None:
    try:
        if tree:
            if path.exists():
                shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    except OSError as error:  # a leftover file must not turn a committed delete into an error
        log.warning("could not remove %s: %s", path, error)
    for observer in _removal_observers:
        observer(path, tree)
