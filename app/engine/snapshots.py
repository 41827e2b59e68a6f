"""Snapshots: full copies of a library as it was before an operation's transaction.

A snapshot is made through apsw's backup API from a second connection while the operation
holds the library's write lock (for an upgrade of a WAL library, in a thread of its own
while the transaction works: see `taking`), into a temp file beside the library (same
filesystem), which is then converted to rollback-journal mode, synced, reopened and
checked, hashed, and only then renamed into place. Its manifest (JSON beside it) records
the version, size, row counts, a SHA-256 of the file and the time; a snapshot without a
manifest, or whose hash does not match, is not a snapshot. Snapshots are never
overwritten: each has its own id, and the pre-upgrade one of a successful upgrade stays
until the user removes it.
"""

from __future__ import annotations

import errno
import hashlib
import re
import logging
import os
import stat
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import apsw
from pydantic import BaseModel, Field

from app import __version__
from app.engine import errors, private
from app.engine.library import row_counts, read_version, require_intact, translate
from app.engine.progress import ProgressTracker
from app.engine.transaction import watched

log = logging.getLogger(__name__)

BACKUP_STEP_PAGES = 4096  # 16 MB at 4 KB pages: large steps, still a progress event each
PRE_UPGRADE = "pre-upgrade"
PRE_ROLLBACK = "pre-rollback"
PRE_CLEANUP = "pre-cleanup"
# The ids this app makes (`_copy_new`): a manifest with any other is not one of its snapshots.
_ID = re.compile(r"(pre-upgrade|pre-rollback|pre-cleanup)-\d{8}T\d{12}Z")


class Manifest(BaseModel):
    id: str
    kind: str
    created_at: str
    app_version: str = __version__
    version: int
    journal_mode: str
    size_bytes: int
    row_counts: dict[str, int]
    sha256: str
    extra: dict[str, str] = Field(default_factory=dict)


def snapshot_dir(library: str) -> Path:
    """Beside the library's real file: a link to the library and the library itself
    share one snapshots folder, and the folder's path is absolute."""
    lib = Path(os.path.realpath(library))
    return lib.parent / f"{lib.name}.snapshots"


def require_safe_folder(library: str) -> None:
    """SNAPSHOTS_UNSAFE unless the snapshots folder is missing or a real folder (not a
    link) of this user's: the app writes and deletes only there."""
    try:
        st = os.lstat(snapshot_dir(library))
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
        raise errors.SnapshotsUnsafe()


def _folder_error(exc: OSError) -> errors.EngineError:
    """A snapshots folder that cannot be written, said as what it is."""
    log.warning("the snapshots folder cannot be written: %r", exc)
    if exc.errno == errno.ENOSPC:
        return errors.DiskFull()
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return errors.ReadOnly("The snapshots folder beside the library cannot be written to, so no "
                               "safety copy could be made. Check its permissions. Nothing was changed.")
    return errors.IOFault()


def file_for(library: str, snapshot_id: str) -> Path:
    return snapshot_dir(library) / f"{snapshot_id}.sqlite"


def _manifest_path(library: str, snapshot_id: str) -> Path:
    return snapshot_dir(library) / f"{snapshot_id}.json"


def _sha256(path: Path, tracker: ProgressTracker | None = None) -> str:
    """The file's SHA-256; a cancel stops it within one 1 MB chunk (a big library's
    snapshot takes seconds to hash)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:  # our own snapshot file, never the locked library
        while chunk := f.read(1 << 20):
            digest.update(chunk)
            if tracker is not None and tracker.cancelled:
                raise errors.Cancelled()
    return digest.hexdigest()


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_json_atomically(path: Path, data: str, library: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, private.file_mode(library))
    with open(fd, "w", encoding="utf-8") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    _fsync_path(path.parent)


def remove_leftovers(library: str) -> None:
    """Delete temp files of a run that died; called only while holding the library lock.
    Only in a folder that is the app's own (`require_safe_folder`)."""
    require_safe_folder(library)
    folder = snapshot_dir(library)
    if not folder.is_dir():
        return
    complete = {p.stem for p in folder.glob("*.json")}
    for path in folder.iterdir():
        stale = path.name.endswith((".tmp", ".tmp-journal", ".tmp-wal", ".tmp-shm")) or (
            path.suffix == ".sqlite" and path.stem not in complete)
        if stale:
            log.info("removing leftover snapshot file %s", path)
            path.unlink(missing_ok=True)


def take(library: str, kind: str, tracker: ProgressTracker, journal_mode: str) -> Manifest:
    """Copy the library into a new, checked snapshot. Call while holding its write lock.

    When the newest snapshot of the same kind is byte-identical to the new copy (a retry
    after a failed upgrade: the library was rolled back to exactly what it held), that one
    is kept and returned, and the new copy is dropped: a valid snapshot is never replaced,
    and retries do not pile up copies.
    """
    remove_leftovers(library)
    return _take(library, kind, tracker, journal_mode)[0]


def _take(library: str, kind: str, tracker: ProgressTracker, journal_mode: str) -> tuple[Manifest, bool]:
    """`take` without the clean-up of leftovers; also says whether the snapshot is new
    (False: an identical one was reused)."""
    return _finish(_copy_new(library, kind, tracker), tracker, journal_mode)


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
        final = file_for(self.library, self.snapshot_id)
        for leftover in (self.tmp, *(self.tmp.with_name(self.tmp.name + sfx) for sfx in ("-journal", "-wal", "-shm")),
                         final):
            leftover.unlink(missing_ok=True)
        folder = snapshot_dir(self.library)
        if self.created_folder and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()


def _copy_new(library: str, kind: str, tracker: ProgressTracker) -> _Copy:
    """Copy the library under a new snapshot's temporary name."""
    require_safe_folder(library)
    folder = snapshot_dir(library)
    created_folder = not folder.exists()
    try:
        private.make_dir(folder, library)
    except OSError as exc:
        raise _folder_error(exc) from exc
    now = datetime.now(timezone.utc)
    snapshot_id = f"{kind}-{now.strftime('%Y%m%dT%H%M%S%fZ')}"
    final = file_for(library, snapshot_id)
    copy = _Copy(library, kind, snapshot_id, now, final.with_name(final.name + ".tmp"), created_folder)
    try:
        # Made here, as private as the library, before SQLite opens it (SQLite would make
        # it with its own default mode); its journal takes the same mode from it.
        try:
            private.create_file(copy.tmp, library)
        except OSError as exc:
            raise _folder_error(exc) from exc
        _copy(library, copy.tmp, tracker)
    except BaseException:
        copy.discard()
        raise
    return copy


def _finish(copy: _Copy, tracker: ProgressTracker, journal_mode: str) -> tuple[Manifest, bool]:
    """Check a copy and make it a snapshot (or reuse an identical older one)."""
    library = copy.library
    try:
        manifest = _check(library, copy.tmp, copy.snapshot_id, copy.kind, copy.when, journal_mode, tracker)
        previous = latest(library, copy.kind)
        if (previous is not None and previous.sha256 == manifest.sha256
                and _is_valid(library, previous, tracker)):
            copy.tmp.unlink()
            log.info("snapshot %s still holds exactly this library; reusing it", previous.id)
            return previous, False
        os.replace(copy.tmp, file_for(library, copy.snapshot_id))
        _write_json_atomically(_manifest_path(library, copy.snapshot_id), manifest.model_dump_json(indent=1),
                               library)
    except BaseException:
        copy.discard()
        raise
    log.info("snapshot %s taken (%d bytes)", copy.snapshot_id, manifest.size_bytes)
    return manifest, True


def _remove(library: str, manifest: Manifest) -> None:
    """Delete a snapshot that is no longer needed: the manifest first, so that whatever
    stops it halfway leaves a file without one, which is no snapshot and goes with the next
    clean-up of leftovers. Never raises: the operation's own outcome is what matters."""
    try:
        _manifest_path(library, manifest.id).unlink(missing_ok=True)
        file_for(library, manifest.id).unlink(missing_ok=True)
        _fsync_path(snapshot_dir(library))
    except OSError:  # a whole snapshot, or a file without manifest, left: both harmless
        log.warning("could not remove snapshot %s", manifest.id, exc_info=True)
        return
    log.info("snapshot %s discarded", manifest.id)


class _Background:
    """Stands in for the operation's tracker inside a snapshot thread: it keeps the copy's
    progress for the operation to show (two phases must not fight over one bar), and it
    says "cancelled" when the user cancels or the operation gives up on the snapshot."""

    def __init__(self, tracker: ProgressTracker) -> None:
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


class _SnapshotThread(threading.Thread):
    """A snapshot taken in its own thread; `wait()` hands its result or error over.

    `copy_first()` makes the copy at once, in the caller's thread (rollback-journal mode:
    before the transaction writes); the thread then only checks it and makes it a snapshot.
    """

    def __init__(self, library: str, kind: str, tracker: ProgressTracker, journal_mode: str) -> None:
        super().__init__(name="snapshot", daemon=True)
        self._args = (library, kind, journal_mode)
        self.copied: _Copy | None = None
        self._tracker = tracker
        self.progress = _Background(tracker)
        self.manifest: Manifest | None = None
        self.created = False  # a new snapshot, not an identical older one reused
        self.error: BaseException | None = None
        self._begun = False

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
            copy = self.copied or _copy_new(library, kind, self.progress)  # type: ignore[arg-type]
            self.manifest, self.created = _finish(copy, self.progress, journal_mode)  # type: ignore[arg-type]
        except BaseException as exc:  # handed to the operation's thread by wait()
            self.error = exc

    def wait(self) -> Manifest:
        """Block until the snapshot is taken (showing its progress); raise its error."""
        self.begin()
        while self.is_alive():
            self.join(0.1)
            self._tracker.update("snapshot", self.progress.processed, self.progress.total,
                                 message="finishing the safety copy")
        if self.error is not None:
            raise self.error
        assert self.manifest is not None
        return self.manifest

    def ready_copy(self) -> Path | None:
        """The copy made first, before the transaction wrote: exactly the library as it
        was, a file another process may read without touching the library's locks (until
        `begin()`, which renames it). None when the copy is made in the thread."""
        return self.copied.tmp if self.copied is not None and not self._begun else None

    def raise_if_failed(self) -> None:
        """Raise the copy's error as soon as there is one (a full disk, say), so the
        transaction stops early instead of finishing work that cannot be committed."""
        if self.error is not None:
            raise self.error

    def settled_id(self) -> str | None:
        """After the operation failed: let the copy finish (a failed upgrade keeps its
        snapshot, as in rollback-journal mode), or stop it when the user cancelled.
        The snapshot's id, or None when there is none. Never raises its error."""
        if not self._begun and self.copied is None:
            return None
        if self._tracker.cancelled:
            self.progress.stop.set()
        self.begin()  # a copy made first is checked and kept, or removed if cancelled
        self.join()
        return self.manifest.id if self.manifest is not None else None

    def discard(self) -> None:
        """The operation no longer needs the snapshot: stop the copy, or remove the
        snapshot it made (never an identical older one it reused). Never raises the
        copy's error."""
        if self._begun:
            self.progress.stop.set()
            self.join()
        elif self.copied is not None:
            self.copied.discard()
        if self.manifest is not None and self.created:
            self.created = False
            _remove(self._args[0], self.manifest)


Taking = _SnapshotThread  # what `taking` yields


@contextmanager
def taking(library: str, kind: str, tracker: ProgressTracker,
           journal_mode: str, writes: bool = True) -> Iterator[Taking]:
    """Take a snapshot while the caller's transaction goes on. The caller must `wait()` for
    it before COMMIT (an upgrade is never durable without its snapshot).

    In WAL mode the copy runs in its own thread, on the other core: WAL readers see the
    last committed state and never block the writer, so the copy holds exactly the library
    as it was before the transaction, whatever the transaction writes meanwhile. (In
    rollback-journal mode a reader would stop the writer from spilling pages to the file,
    so the copy is made first, in the caller's thread, unless the caller says its
    transaction `writes` nothing to the library; its check, which reads only the copy,
    still runs in the thread.) The thread starts at `begin()`,
    when the caller has a core to spare (or at `wait()`). Leaving the block stops a copy
    still running and waits for it to clean up; `discard()` also removes a finished one,
    for an operation that stops before it needs its snapshot.
    """
    # Here, not in the thread: the operation's own temp files (split_pass) come after.
    remove_leftovers(library)
    job = _SnapshotThread(library, kind, tracker, journal_mode)
    if journal_mode != "wal" and writes:
        job.copy_first()
    tracker.update("snapshot", 0, None, message="making a safety copy")
    try:
        yield job
    finally:
        if job.is_alive():
            job.progress.stop.set()
            job.join()
        elif not job._begun and job.copied is not None:  # never checked: not a snapshot
            job.copied.discard()


def _copy(library: str, dest_path: Path, tracker: ProgressTracker) -> None:
    try:
        source = apsw.Connection(library, flags=apsw.SQLITE_OPEN_READONLY)
        try:
            dest = apsw.Connection(str(dest_path))
            try:
                with dest.backup("main", source, "main") as backup:
                    while not backup.done:
                        backup.step(BACKUP_STEP_PAGES)
                        tracker.update("snapshot", backup.page_count - backup.remaining,
                                       backup.page_count)
                        if tracker.cancelled:
                            raise errors.Cancelled()
                # A snapshot is a plain file: no -wal/-shm beside it when it is read later.
                dest.execute("PRAGMA journal_mode=DELETE")
            finally:
                dest.close()
        finally:
            source.close()
    except apsw.FullError as exc:
        raise errors.DiskFull() from exc
    except apsw.Error as exc:
        raise translate(exc, "snapshot") from exc
    except SystemError as exc:
        raise _backup_error(exc, "snapshot") from exc
    _fsync_path(dest_path)
    _fsync_path(dest_path.parent)


def _check(library: str, path: Path, snapshot_id: str, kind: str, when: datetime,
           journal_mode: str, tracker: ProgressTracker) -> Manifest:
    """Reopen the copy read-only and prove it is a whole, readable library.

    The copy holds the library's pages as they are, so its quick_check is the library's
    too. When it fails, the library itself is checked to say which one is damaged.
    """
    try:
        conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
        try:
            with watched(conn, tracker):
                require_intact(conn)
            version = read_version(conn)
            counts = row_counts(conn)
        finally:
            conn.close()
    except apsw.Error as exc:
        raise translate(exc, "checking the snapshot") from exc
    except errors.LibraryCorrupt as exc:
        _require_library_intact(library, tracker)
        raise errors.SnapshotInvalid("The snapshot could not be verified, so the operation "
                                     "stopped before changing anything.") from exc
    return Manifest(id=snapshot_id, kind=kind, created_at=when.isoformat(timespec="seconds"),
                    version=version, journal_mode=journal_mode, size_bytes=path.stat().st_size,
                    row_counts=counts, sha256=_sha256(path, tracker))


def _require_library_intact(library: str, tracker: ProgressTracker) -> None:
    try:
        conn = apsw.Connection(library, flags=apsw.SQLITE_OPEN_READONLY)
    except apsw.Error as exc:
        raise translate(exc, "checking the library") from exc
    try:
        with watched(conn, tracker):
            require_intact(conn)
    finally:
        conn.close()


def list_manifests(library: str) -> list[Manifest]:
    """Every snapshot with a readable manifest, oldest first. Does not hash the files."""
    folder = snapshot_dir(library)
    found = []
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            try:
                manifest = Manifest.model_validate_json(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):  # unreadable or not ours: not a snapshot
                log.warning("ignoring unreadable snapshot manifest %s", path.name)
                continue
            if (manifest.id == path.stem and _ID.fullmatch(manifest.id)
                    and manifest.id.startswith(manifest.kind + "-") and file_for(library, manifest.id).is_file()):
                found.append(manifest)
    # Oldest first by the time the id records (made by `_copy_new`, to the microsecond).
    return sorted(found, key=lambda m: m.id.rsplit("-", 1)[1])


def latest(library: str, kind: str) -> Manifest | None:
    candidates = [m for m in list_manifests(library) if m.kind == kind]
    return candidates[-1] if candidates else None


def _is_valid(library: str, manifest: Manifest, tracker: ProgressTracker | None = None) -> bool:
    path = file_for(library, manifest.id)
    try:
        return path.stat().st_size == manifest.size_bytes and _sha256(path, tracker) == manifest.sha256
    except OSError:  # gone or unreadable: not a usable snapshot
        return False


def validate(library: str, manifest: Manifest) -> None:
    """SNAPSHOT_INVALID unless the file is exactly what was checked when it was taken."""
    if not _is_valid(library, manifest):
        log.warning("snapshot %s does not match its manifest", manifest.id)
        raise errors.SnapshotInvalid()


def file_signature(library: str) -> tuple:
    """Size and modification time of the library and its journal files, via stat only.

    stat() opens nothing, so unlike reading the file it cannot drop SQLite's POSIX locks.
    Any commit by another connection changes the file or its -wal / -journal.
    """
    signature = []
    for suffix in ("", "-wal", "-journal"):
        try:
            st = os.stat(library + suffix)
            signature.append((suffix, st.st_size, st.st_mtime_ns))
        except FileNotFoundError:
            signature.append((suffix, None, None))
    return tuple(signature)


def restore(conn: apsw.Connection, library: str, manifest: Manifest, tracker: ProgressTracker,
            signature: tuple) -> tuple:
    """Copy a snapshot over the live library, atomically, through the backup API.

    `conn` must have no transaction open. The backup holds the library's write lock from
    its first step to the end. `signature` is `file_signature()` taken while the caller
    still held the lock: if it changed before the backup took the lock again, someone
    wrote in between, and the restore stops before changing anything. (The destination
    connection itself must not run SQL during a backup: apsw crashes.)

    Returns the files' signature taken the moment the backup committed (which releases the
    lock), so the caller can tell later whether anyone wrote after the restore.
    """
    source = apsw.Connection(str(file_for(library, manifest.id)), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        with conn.backup("main", source, "main") as backup:
            backup.step(0)  # takes the write lock on the library
            if file_signature(library) != signature:
                raise errors.InProgress()
            restored = signature
            while not backup.done:
                backup.step(BACKUP_STEP_PAGES)
                if backup.done:
                    restored = file_signature(library)
                tracker.update("restoring", backup.page_count - backup.remaining, backup.page_count)
                if tracker.cancelled and not backup.done:
                    raise errors.Cancelled()
    except apsw.Error as exc:
        raise translate(exc, "restore") from exc
    except SystemError as exc:
        raise _backup_error(exc, "restore") from exc
    finally:
        source.close()
    return restored


def _backup_error(exc: SystemError, during: str) -> errors.EngineError:
    """apsw's `Backup.__exit__` raises SystemError ("returned a result with an exception
    set") when finishing the backup fails after a first disk error; the disk's errors are
    chained to it. Type it by the first apsw error found, like any other."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, apsw.Error):
            return translate(seen, during)
        seen = seen.__cause__ or seen.__context__
    raise exc
