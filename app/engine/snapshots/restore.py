"""Restoring a snapshot: the copy put over the live library, atomically, by the backup API."""

from __future__ import annotations

import os

import apsw

from app.engine import errors
from app.engine.library import translate
from app.engine.progress import Progress
from app.engine.snapshots import store
from app.engine.snapshots.store import Manifest

BACKUP_STEP_PAGES = 4096  # 16 MB at 4 KB pages: large steps, still a progress event each


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


def restore(conn: apsw.Connection, library: str, manifest: Manifest, tracker: Progress,
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
    source = apsw.Connection(str(store.file_for(library, manifest.id)), flags=apsw.SQLITE_OPEN_READONLY)
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
        raise backup_error(exc, "restore") from exc
    finally:
        source.close()
    return restored


def backup_error(exc: SystemError, during: str) -> errors.EngineError:
    """apsw's `Backup.__exit__` raises SystemError ("returned a result with an exception
    set") when finishing the backup fails after a first disk error; the disk's errors are
    chained to it. Type it by the first apsw error found, like any other."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, apsw.Error):
            return translate(seen, during)
        seen = seen.__cause__ or seen.__context__
    raise exc
