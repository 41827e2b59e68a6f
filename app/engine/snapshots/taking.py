"""Taking a snapshot: a full, checked copy of a library as it was before a transaction.

The copy is made from a second connection's read transaction while the operation holds
the library's write lock (`copying`: the file's pages when the file alone is the
library, else the backup API; in a thread of its own while the transaction works: see
`taking`), into a temp file in the snapshots folder (same filesystem, as private as the
library from its first byte). It is converted to
rollback-journal mode, given the library's identity when it has none yet (`identity`),
synced, reopened and checked, hashed, and only then renamed into place and its manifest
written. A snapshot is never overwritten: each has its own id, and a copy whose content
equals a valid snapshot of this library already there is dropped for that one.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import apsw

from app.engine import errors, private
from app.engine.library import read_version, require_intact, row_counts, translate
from app.engine.progress import Progress
from app.engine.snapshots import copying, identity, store
from app.engine.snapshots.store import Manifest
from app.engine.transaction import watched

log = logging.getLogger(__name__)

# A check in the background (`Taking`): how far its threads step back (Linux nice
# levels), and how many SQLite steps its quick_check runs between two cancel checks (each
# one takes the GIL from the operation's own thread: few, still milliseconds apart).
CHECK_NICENESS = 10
CHECK_PROGRESS_STEPS = 200_000


def take(library: str, kind: str, tracker: Progress, journal_mode: str, library_id: str,
         extra: dict[str, str] | None = None) -> Manifest:
    """Copy the library into a new, checked snapshot. Call while holding its write lock.
    When a valid snapshot of this library holds exactly the same bytes, that one is
    returned and the new copy dropped."""
    store.remove_leftovers(library)
    return _finish(_copy_new(library, kind, tracker), tracker, journal_mode, library_id, extra)[0]


@dataclass
class _Copy:
    """A copy made, not yet checked: under its temporary name until `_finish`."""

    library: str
    kind: str
    snapshot_id: str
    when: datetime
    tmp: Path
    created_folder: bool

    def discard(self) -> None:
        # A WAL library's copy is briefly in WAL mode (until PRAGMA journal_mode=DELETE):
        # a failure then can leave its -wal / -shm beside it too.
        final = store.file_for(self.library, self.snapshot_id)
        for leftover in (self.tmp, *(self.tmp.with_name(self.tmp.name + sfx) for sfx in ("-journal", "-wal", "-shm")),
                         final):
            leftover.unlink(missing_ok=True)
        folder = store.snapshot_dir(self.library)
        if self.created_folder and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def _copy_new(library: str, kind: str, tracker: Progress) -> _Copy:
    """Copy the library under a new snapshot's temporary name."""
    store.require_safe_folder(library)
    folder = store.snapshot_dir(library)
    created_folder = not folder.exists()
    try:
        private.make_dir(folder, library)
    except OSError as exc:
        raise store.folder_error(exc) from exc
    now = datetime.now(timezone.utc)
    snapshot_id = f"{kind}-{now.strftime('%Y%m%dT%H%M%S%fZ')}"
    final = store.file_for(library, snapshot_id)
    copy = _Copy(library, kind, snapshot_id, now, final.with_name(final.name + ".tmp"), created_folder)
    try:
        # Made here, as private as the library, before SQLite opens it (SQLite would make
        # it with its own default mode); its journal takes the same mode from it.
        try:
            private.create_file(copy.tmp, library)
        except OSError as exc:
            raise store.folder_error(exc) from exc
        copying.copy_library(library, copy.tmp, tracker)
    except BaseException:
        copy.discard()
        raise
    return copy


def _finish(copy: _Copy, tracker: Progress, journal_mode: str, library_id: str,
            extra: dict[str, str] | None = None, background: bool = False) -> tuple[Manifest, bool]:
    """Stamp, check and hash a copy and make it a snapshot (or reuse an identical one);
    also says whether the snapshot is new."""
    library = copy.library
    try:
        _stamp(copy.tmp, library_id)
        manifest = _check(library, copy, journal_mode, tracker, background)
        manifest.extra = dict(extra or {})
        same = _identical(library, manifest, tracker)
        if same is not None:
            copy.tmp.unlink()
            log.info("snapshot %s still holds exactly this library; reusing it", same.id)
            used_as = same.used_as + ([copy.kind] if copy.kind not in (same.kind, *same.used_as) else [])
            same = same.model_copy(update={"used_at": copy.snapshot_id.rsplit("-", 1)[1], "used_as": used_as})
            store.write_manifest(library, same)
            return same, False
        final = store.file_for(library, copy.snapshot_id)
        os.replace(copy.tmp, final)
        store.remember_hash(final, (manifest.sha256, manifest.content_sha256 or ""))
        store.write_manifest(library, manifest)
    except BaseException:
        copy.discard()
        raise
    log.info("snapshot %s taken (%d bytes)", copy.snapshot_id, manifest.size_bytes)
    return manifest, True


def _stamp(path: Path, library_id: str) -> None:
    try:
        identity.stamp(path, library_id)
    except apsw.Error as exc:
        # A failed write surfaces again from the ROLLBACK that follows it, as another
        # error: the first one in the chain says what the disk did.
        first = exc
        while isinstance(first.__context__, apsw.Error):
            first = first.__context__
        raise translate(first, "snapshot") from exc


def _identical(library: str, new: Manifest, tracker: Progress) -> Manifest | None:
    """The newest valid snapshot of this library with exactly the new copy's content; for
    a pre-upgrade copy (the way back) only a pre-upgrade one, which retention keeps as such."""
    for old in reversed(store.list_manifests(library)):
        if new.kind == store.PRE_UPGRADE and old.kind != store.PRE_UPGRADE:
            continue
        if (old.size_bytes == new.size_bytes
                and (old.sha256 == new.sha256 or old.content_sha256 == new.content_sha256)
                and store.problem(library, old, new.library_id, tracker) is None):
            return old
    return None


class _Background:
    """Stands in for the operation's tracker inside a snapshot thread (a `Progress`): it
    keeps the copy's progress for the operation to show (two phases must not fight over
    one bar), and it says "cancelled" when the user cancels or the operation gives up on
    the snapshot."""

    def __init__(self, tracker: Progress) -> None:
        self._tracker = tracker
        self.stop = threading.Event()
        self.processed: int | None = None
        self.total: int | None = None

    @property
    def cancelled(self) -> bool:
        return self.stop.is_set() or self._tracker.cancelled

    def update(self, phase: str, processed: int | None = None, total: int | None = None,
               message: str = "") -> None:
        self.processed, self.total = processed, total


class Taking(threading.Thread):
    """A snapshot taken in its own thread; `wait()` hands its result or error over.

    `copy_first()` makes the copy at once, in the caller's thread (rollback-journal mode:
    before the transaction writes); the thread then only checks it and makes it a snapshot.
    """

    def __init__(self, library: str, kind: str, tracker: Progress, journal_mode: str,
                 library_id: str, extra: dict[str, str] | None = None, hold_check: bool = False) -> None:
        super().__init__(name="snapshot", daemon=True)
        self._args = (library, kind, journal_mode)
        self.library_id = library_id
        self.extra = extra
        self.copied: _Copy | None = None
        self._tracker = tracker
        self.progress = _Background(tracker)
        self.manifest: Manifest | None = None
        self.created = False  # a new snapshot, not an identical older one reused
        self.error: BaseException | None = None
        self._begun = False
        self._copy_done = threading.Event()  # the library has been read: set on error too
        # With `hold_check` the check (hashes beside a quick_check: two threads' work for a
        # moment) waits for the operation to say its work on both cores is over
        # (`wait_copied`, `wait`): it then runs beside the single-threaded SQL that follows
        # instead of taking a core from the data pass.
        self._may_check = threading.Event()
        self._holds_check = hold_check
        if not hold_check:
            self._may_check.set()

    def begin(self) -> None:
        """Start copying, once: when the operation leaves a core free for it."""
        if not self._begun:
            self._begun = True
            self.start()

    def copy_first(self) -> None:
        library, kind, _ = self._args
        self.copied = _copy_new(library, kind, self._tracker)

    def run(self) -> None:
        library, kind, journal_mode = self._args
        try:
            copy = self.copied or _copy_new(library, kind, self.progress)
            self._copy_done.set()
            try:
                self._wait_for_a_core()
            except BaseException:  # given up before its check: the copy is no snapshot
                copy.discard()
                raise
            self.manifest, self.created = _finish(copy, self.progress, journal_mode, self.library_id, self.extra,
                                                  background=self._holds_check)
        except BaseException as exc:  # handed to the operation's thread by wait()
            self.error = exc
        finally:
            self._copy_done.set()

    def _wait_for_a_core(self) -> None:
        while not self._may_check.wait(0.05):
            if self.progress.cancelled:
                raise errors.Cancelled()
        if self._holds_check:
            _step_back()

    def wait(self) -> Manifest:
        """Block until the snapshot is taken (showing its progress); raise its error."""
        self._may_check.set()
        self.begin()
        while self.is_alive():
            self.join(0.1)
            self._tracker.update("snapshot", self.progress.processed, self.progress.total,
                                 message="finishing the safety copy")
        if self.error is not None:
            raise self.error
        assert self.manifest is not None
        return self.manifest

    def wait_copied(self) -> None:
        """Block until the copy has read the whole library, and let its check begin (in
        the thread): the caller's work on both cores is over. Rollback-journal mode: before
        the transaction's first write that may reach the file, which the copy's reader
        would block. WAL mode: returns at once."""
        self._may_check.set()
        if self._args[2] == "wal" or self.copied is not None:
            return
        self.begin()
        while not self._copy_done.wait(0.1):
            self._tracker.update("snapshot", self.progress.processed, self.progress.total,
                                 message="making a safety copy")
        self.raise_if_failed()

    def raise_if_failed(self) -> None:
        """Raise the copy's error as soon as there is one (a full disk, say), so the
        transaction stops early instead of finishing work that cannot be committed."""
        if self.error is not None:
            raise self.error

    def discard(self) -> None:
        """The operation did not commit: stop the copy, or remove the snapshot it made
        (never an identical older one it reused). It holds the library as it still is, so
        it is no way back, and no retry needs it. Never raises the copy's error."""
        if self._begun:
            self.progress.stop.set()
            self.join()
        elif self.copied is not None:
            self.copied.discard()
        if self.manifest is not None and self.created:
            self.created = False
            store.remove(self._args[0], self.manifest)


def _step_back() -> None:
    """Lower this thread's CPU priority (and that of the threads it starts): a check held
    until the operation's work on both cores is over runs beside its single-threaded SQL,
    on the core that SQL leaves, instead of taking half of that SQL's core. Linux only
    (elsewhere a thread id is no process id for setpriority): the usual priority there."""
    if not sys.platform.startswith("linux"):
        return
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), CHECK_NICENESS)
    except OSError:  # not allowed here (a sandbox): the usual priority is correct, only slower
        log.debug("could not lower the snapshot check's priority", exc_info=True)


@contextmanager
def taking(library: str, kind: str, tracker: Progress, journal_mode: str, library_id: str,
           writes: bool = True, extra: dict[str, str] | None = None, overlap: bool = False) -> Iterator[Taking]:
    """Take a snapshot while the caller's transaction goes on. The caller must `wait()` for
    it before COMMIT (an operation is never durable without its snapshot), and write
    `library_id` into the library in that transaction (`identity.ensure`).

    In WAL mode the copy runs in its own thread, on the other core: WAL readers see the
    last committed state and never block the writer, so the copy holds exactly the library
    as it was before the transaction, whatever the transaction writes meanwhile. (In
    rollback-journal mode a reader would stop the writer from spilling pages to the file,
    so the copy is made first, in the caller's thread, unless the caller says its
    transaction `writes` nothing to the library, or will `overlap` its work with the copy
    and call `wait_copied()` before its first write that may reach the file; the check,
    which reads only the copy, runs in the thread, after `wait_copied()` when `overlap`.)
    The thread starts at `begin()`, when the caller has a core to spare (or at `wait()`).
    Leaving the block by an error discards the snapshot: the library is as it was, and the
    copy is no way back.
    """
    # Here, not in the thread: the operation's own temp files (split_pass) come after.
    store.remove_leftovers(library)
    job = Taking(library, kind, tracker, journal_mode, library_id, extra, hold_check=overlap)
    if journal_mode != "wal" and writes and not overlap:
        job.copy_first()
    tracker.update("snapshot", 0, None, message="making a safety copy")
    try:
        yield job
    except BaseException:
        job.discard()
        raise
    finally:
        if job.is_alive():
            job.progress.stop.set()
            job.join()
        elif not job._begun and job.copied is not None:  # never checked: not a snapshot
            job.copied.discard()


def _check(library: str, copy: _Copy, journal_mode: str, tracker: Progress, background: bool = False) -> Manifest:
    """Reopen the copy read-only and prove it is a whole, readable library.

    The copy holds the library's pages as they are, so its quick_check is the library's
    too. When it fails, the library itself is checked to say which one is damaged.
    `background`: the operation is busy on every core, so the hashes take one thread.
    """
    # The hash runs beside the quick_check (both leave the GIL): one pass's time for two.
    with ThreadPoolExecutor(1, thread_name_prefix="snapshot-hash") as hashing:
        digests = hashing.submit(store.digests, copy.tmp, tracker, parallel=not background)
        try:
            conn = apsw.Connection(str(copy.tmp), flags=apsw.SQLITE_OPEN_READONLY)
            try:
                with watched(conn, tracker, steps=CHECK_PROGRESS_STEPS):
                    require_intact(conn)
                version = read_version(conn)
                counts = row_counts(conn)
                held = identity.read(conn)
            finally:
                conn.close()
        except apsw.Error as exc:
            raise translate(exc, "checking the snapshot") from exc
        except errors.LibraryCorrupt as exc:
            _require_library_intact(library, tracker)
            raise errors.SnapshotInvalid("The snapshot could not be verified, so the operation "
                                         "stopped before changing anything.") from exc
        exact, content = digests.result()
    return Manifest(id=copy.snapshot_id, kind=copy.kind, created_at=copy.when.isoformat(timespec="seconds"),
                    version=version, journal_mode=journal_mode, size_bytes=copy.tmp.stat().st_size,
                    row_counts=counts, sha256=exact, content_sha256=content, library_id=held)


def _require_library_intact(library: str, tracker: Progress) -> None:
    try:
        conn = apsw.Connection(library, flags=apsw.SQLITE_OPEN_READONLY)
    except apsw.Error as exc:
        raise translate(exc, "checking the library") from exc
    try:
        with watched(conn, tracker):
            require_intact(conn)
    finally:
        conn.close()
