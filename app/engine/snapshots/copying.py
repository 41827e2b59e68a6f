"""Copying a library into a new snapshot file: its bytes as they are, or the backup API.

A snapshot is taken while the operation holds the library's write lock, from a reader
connection of its own whose read transaction pins the state to copy. When the library's
file alone holds that state (rollback-journal mode; WAL mode with an empty -wal), the
copy is the file's pages read through SQLite's VFS and written through it (a third of
the backup API's time, measured in README: it leaves the data pass the core the backup
API took); otherwise SQLite's backup API copies the pages the reader sees. Either way the
copy is then checked like any snapshot (`taking._check`): quick_check and hashes.

Why the file is the state, and stays so while it is read: the reader holds SHARED, so no
writer can move pages into the file (spilling or committing needs EXCLUSIVE); in WAL
mode a -wal that is empty while the reader is open means its snapshot holds no frame
(the WAL cannot have been emptied under a reader that uses it), and a checkpoint copies
no frame past the oldest reader's snapshot into the file. The library is read through
`apsw.VFSFile`, never a plain `open()`: closing a plain descriptor would drop the POSIX
locks SQLite holds on the file in this process. The snapshot is written through the VFS
too, so that its writes fail the way SQLite's do (a full disk is SQLITE_FULL).
"""

from __future__ import annotations

import os
from pathlib import Path

import apsw

from app.engine import errors
from app.engine.library import journal_mode, size_bytes, translate
from app.engine.progress import Progress
from app.engine.snapshots import store
from app.engine.snapshots.content import CHUNK
from app.engine.snapshots.restore import BACKUP_STEP_PAGES, backup_error

_READ = apsw.SQLITE_OPEN_MAIN_DB | apsw.SQLITE_OPEN_READONLY
_WRITE = apsw.SQLITE_OPEN_MAIN_DB | apsw.SQLITE_OPEN_READWRITE
# The unix VFS writes at most 128 KiB - 1 per call (a longer write comes back as a full
# disk): whole pages of the largest page size at a time.
_WRITE_BYTES = 65536


def copy_library(library: str, dest_path: Path, tracker: Progress) -> None:
    """Copy the library (as of a read transaction begun here) into `dest_path`, an empty
    file already made private; synced, in rollback-journal mode."""
    try:
        source = apsw.Connection(library, flags=apsw.SQLITE_OPEN_READONLY)
        try:
            source.execute("BEGIN")
            source.execute("SELECT count(*) FROM sqlite_schema").fetchall()  # the read lock, now
            # The file SQLite opened (a link to the library resolved): the VFS opens no link.
            real = source.filename
            size = _file_is_content(source, real)
            if size is not None:
                _copy_file(real, dest_path, size, tracker)
            source.execute("COMMIT")
            if size is None:
                _backup(source, dest_path, tracker)
            elif _header_says_wal(dest_path):
                _to_rollback_journal(dest_path)
        finally:
            source.close()
    except apsw.FullError as exc:
        raise errors.DiskFull() from exc
    except apsw.Error as exc:
        raise translate(exc, "snapshot") from exc
    except SystemError as exc:
        raise backup_error(exc, "snapshot") from exc
    store.fsync_path(dest_path.parent)


def _file_is_content(source: apsw.Connection, library: str) -> int | None:
    """The size of the state `source` reads when the library's file holds all of it, else
    None (a WAL library with frames in its -wal: the backup API reads them)."""
    if journal_mode(source) == "wal" and _stat_size(library + "-wal") > 0:
        return None
    size = size_bytes(source)
    # Shorter than its pages (damaged): the backup API reads it and says what is wrong.
    return size if _stat_size(library) >= size else None


def _stat_size(path: str) -> int:
    try:
        return os.stat(path).st_size  # stat opens nothing: no lock is lost
    except FileNotFoundError:
        return 0


def _copy_file(library: str, dest_path: Path, size: int, tracker: Progress) -> None:
    source = apsw.VFSFile("", library, [_READ, 0])
    try:
        dest = apsw.VFSFile("", str(dest_path), [_WRITE, 0])
        try:
            offset = 0
            while offset < size:
                chunk = source.xRead(min(CHUNK, size - offset), offset)
                for part in range(0, len(chunk), _WRITE_BYTES):
                    dest.xWrite(chunk[part:part + _WRITE_BYTES], offset + part)
                offset += len(chunk)
                tracker.update("snapshot", offset, size)
                if tracker.cancelled:
                    raise errors.Cancelled()
            dest.xSync(apsw.SQLITE_SYNC_NORMAL)
        finally:
            dest.xClose()
    finally:
        source.xClose()


def _backup(source: apsw.Connection, dest_path: Path, tracker: Progress) -> None:
    dest = apsw.Connection(str(dest_path))
    try:
        with dest.backup("main", source, "main") as backup:
            while not backup.done:
                backup.step(BACKUP_STEP_PAGES)
                tracker.update("snapshot", backup.page_count - backup.remaining, backup.page_count)
                if tracker.cancelled:
                    raise errors.Cancelled()
        # A snapshot is a plain file: no -wal/-shm beside it when it is read later.
        dest.execute("PRAGMA journal_mode=DELETE")
    finally:
        dest.close()
    store.fsync_path(dest_path)


def _header_says_wal(path: Path) -> bool:
    with open(path, "rb") as f:  # our own new copy, which no connection has open
        return f.read(20)[18:20] == b"\x02\x02"


def _to_rollback_journal(path: Path) -> None:
    """The copy of a WAL library: made a plain file by SQLite itself, as the backup path does."""
    dest = apsw.Connection(str(path))
    try:
        dest.execute("PRAGMA journal_mode=DELETE")
    finally:
        dest.close()
    store.fsync_path(path)
