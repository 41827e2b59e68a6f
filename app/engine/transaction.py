"""The one place that owns locks and BEGIN / COMMIT / ROLLBACK.

Two locks guard a library, and neither can go stale:
- in this process, a non-blocking lock per library file, so a second call from another
  thread (the window runs each JS call in its own thread) is refused at once;
- across processes, SQLite's own write lock, taken with BEGIN IMMEDIATE and a short busy
  timeout. The OS drops it when its holder dies, so a crash never blocks the next run.

A `WriteTransaction` also installs the cancel hook: SQLite's progress handler asks the
tracker whether the user cancelled, and interrupts the running statement when so.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import apsw

from app.engine import errors
from app.engine.library import BUSY_TIMEOUT_MS, keep_wal_on_close, translate, use_writer_cache
from app.engine.progress import ProgressTracker

log = logging.getLogger(__name__)

PROGRESS_STEPS = 1000      # SQLite VM steps between cancel checks (cheap, ~ms apart)
COMMIT_RETRY_SECONDS = 30  # a reader in rollback-journal mode can hold COMMIT up for a while

_registry_guard = threading.Lock()
_process_locks: dict[str, threading.Lock] = {}


# The commits the operation running in this thread has made. After one, the library holds
# the operation's result for good: an error after it (closing, a checkpoint) must not be
# reported as "nothing was changed". See `operation.run`.
_commits: ContextVar[list[str] | None] = ContextVar("engine_commits", default=None)


@contextmanager
def commit_log() -> Iterator[list[str]]:
    """Collect the commits made in this thread while inside (one operation's run)."""
    token = _commits.set([])
    try:
        yield _commits.get()
    finally:
        _commits.reset(token)


def note_commit(what: str) -> None:
    """Record that the operation's changes are now durable in the library."""
    made = _commits.get()
    if made is not None:
        made.append(what)


@contextmanager
def process_lock(path: str) -> Iterator[None]:
    """Refuse at once when this process already runs an operation on the library."""
    key = os.path.realpath(path)
    with _registry_guard:
        lock = _process_locks.setdefault(key, threading.Lock())
    if not lock.acquire(blocking=False):
        raise errors.InProgress()
    try:
        yield
    finally:
        lock.release()


@contextmanager
def relocked(conn: apsw.Connection) -> Iterator[bool]:
    """The write lock again, once the operation's COMMIT has released it, for the
    operation's bookkeeping (pruning snapshots, recording what it left): that touches
    files another copy of the app, holding the lock, may be using, such as the snapshot it
    is copying. Yields False when another operation holds the lock: it does the same
    bookkeeping at its end. Writes nothing to the library; never raises (the operation's
    result is committed: nothing after it may turn it into a failure)."""
    conn.set_busy_timeout(0)  # another writer is a whole operation: not worth waiting for
    try:
        conn.execute("BEGIN IMMEDIATE")
    except apsw.Error as exc:
        if not isinstance(exc, apsw.BusyError):
            log.warning("could not take the lock again after the commit", exc_info=True)
        held = False
    else:
        held = True
    finally:
        conn.set_busy_timeout(BUSY_TIMEOUT_MS)
    try:
        yield held
    finally:
        if held and not conn.get_autocommit():
            try:
                conn.execute("ROLLBACK")
            except apsw.Error:  # nothing was written: closing the connection ends it too
                log.warning("releasing the lock after the bookkeeping failed", exc_info=True)


@contextmanager
def watched(conn: apsw.Connection, tracker: ProgressTracker, cancellable: bool = True,
            steps: int = PROGRESS_STEPS) -> Iterator[None]:
    """While inside, SQLite's progress handler stops the running statement when the user
    cancels (if `cancellable`), within milliseconds even in one long statement. The handler
    is removed on exit: one left behind would interrupt every later statement too."""
    def on_progress() -> bool:
        return cancellable and tracker.cancelled

    conn.set_progress_handler(on_progress, steps)
    try:
        yield
    finally:
        conn.set_progress_handler(None)


class WriteTransaction:
    """BEGIN IMMEDIATE on enter; ROLLBACK on exit unless `commit()` succeeded.

    Any apsw error inside the block is re-raised as our typed error. After a cancel or an
    interrupt SQLite has already rolled back; exit then only checks, never double-rolls.
    """

    def __init__(self, conn: apsw.Connection, tracker: ProgressTracker) -> None:
        self.conn = conn
        self.tracker = tracker
        self.committed = False

    def __enter__(self) -> "WriteTransaction":
        self._watch = watched(self.conn, self.tracker)
        self._watch.__enter__()
        try:
            use_writer_cache(self.conn)
            self.conn.execute("BEGIN IMMEDIATE")
        except apsw.BusyError as exc:  # another process holds the write lock
            self._watch.__exit__(None, None, None)
            raise errors.InProgress() from exc
        except apsw.Error as exc:
            self._watch.__exit__(None, None, None)
            raise translate(exc, "begin") from exc
        return self

    def check_cancel(self) -> None:
        if self.tracker.cancelled:
            raise errors.Cancelled()

    def commit(self) -> None:
        self.check_cancel()
        deadline = time.monotonic() + COMMIT_RETRY_SECONDS
        while True:
            try:
                self.conn.execute("COMMIT")
                self.committed = True
                note_commit("transaction")
                self._checkpoint()
                return
            except apsw.BusyError:
                # Rollback-journal mode: a reader still holds SHARED. The transaction stays
                # open; wait for the reader to finish, unless the user gives up first.
                if time.monotonic() > deadline:
                    raise errors.InProgress()
                self.check_cancel()
                time.sleep(0.05)

    def _checkpoint(self) -> None:
        """Copy the committed -wal into the file and empty it now, as a statement: apsw's
        close() would do it holding the GIL (and unlink a -wal of gigabytes), which
        starved the progress heartbeat for up to a second after a big upgrade. TRUNCATE
        waits, the busy timeout at most, for readers of an older state; whatever it
        leaves, close() finishes. A no-op in rollback-journal mode."""
        try:
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        except apsw.Error:  # committed already: a checkpoint that fails changes nothing
            log.warning("checkpoint after COMMIT failed", exc_info=True)

    def __exit__(self, exc_type, exc, tb) -> bool:
        self._watch.__exit__(None, None, None)  # a handler left on would interrupt ROLLBACK too
        if not self.committed and not self.conn.get_autocommit():
            try:
                self.conn.execute("ROLLBACK")
            except apsw.Error:  # the reopen-and-reread after every failure tells the truth
                log.exception("ROLLBACK failed")
        if exc is None:
            return False
        if isinstance(exc, apsw.CorruptError | errors.LibraryCorrupt):
            keep_wal_on_close(self.conn)  # a stray -wal must not be copied into the file
        if isinstance(exc, apsw.InterruptError) or (
                isinstance(exc, apsw.Error) and self.tracker.cancelled):
            raise errors.Cancelled() from exc
        if isinstance(exc, apsw.Error):
            raise translate(exc, "transaction") from exc
        return False
