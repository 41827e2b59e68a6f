"""Opening a library file and reading what it is, with apsw errors typed as ours.

Nothing here writes. Connections are opened without SQLITE_OPEN_CREATE, so no command
ever creates a missing library by accident.
"""

from __future__ import annotations

import logging
import os
import shutil
from contextlib import contextmanager
from collections.abc import Iterator
from dataclasses import dataclass

import apsw

from app.engine import errors

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 1500  # a second copy of the app waits this long, then gets IN_PROGRESS

def translate(exc: apsw.Error, during: str) -> errors.EngineError:
    """Our typed error for an apsw error; the original goes to the log, not to the user."""
    log.warning("SQLite error during %s: %r", during, exc)
    if isinstance(exc, apsw.BusyError | apsw.LockedError):
        return errors.InProgress()
    if isinstance(exc, apsw.NotADBError):
        return errors.NotALibrary()
    if isinstance(exc, apsw.CorruptError):
        return errors.LibraryCorrupt()
    if isinstance(exc, apsw.ReadOnlyError):
        return errors.ReadOnly()
    if isinstance(exc, apsw.FullError):
        return errors.DiskFull()
    if isinstance(exc, apsw.InterruptError):
        return errors.Cancelled()
    if isinstance(exc, apsw.IOError):
        return errors.IOFault()
    if isinstance(exc, apsw.CantOpenError):
        return errors.NotALibrary()
    return errors.DatabaseError()


def is_path_argument(path: object) -> bool:
    return isinstance(path, str) and bool(path.strip()) and "\x00" not in path


def check_path(path: str) -> None:
    """The cheap checks that need no SQLite: the path names an existing regular file."""
    if not is_path_argument(path):
        raise errors.InvalidArgument("The library location must be a non-empty file path.")
    if not os.path.lexists(path):
        raise errors.LibraryNotFound()
    if os.path.isdir(path):
        raise errors.NotALibrary("The location is a folder, not a library file. Nothing was changed.")
    if not os.path.isfile(path):
        raise errors.NotALibrary()


WRITER_CACHE_KIB = 12288  # page cache of a writing operation: its working set stays in memory


def use_writer_cache(conn: apsw.Connection) -> None:
    """A big page cache for a writing operation: the pages it writes and the indexes it
    looks up stay in memory instead of spilling and being read back (bounded, so memory
    stays flat however big the library is)."""
    conn.execute(f"PRAGMA cache_size = -{WRITER_CACHE_KIB}")


def connect(path: str) -> apsw.Connection:
    """Open an existing library. Never creates one (no SQLITE_OPEN_CREATE)."""
    check_path(path)
    try:
        conn = apsw.Connection(path, flags=apsw.SQLITE_OPEN_READWRITE)
    except apsw.Error as exc:
        raise translate(exc, "open") from exc
    try:
        conn.set_busy_timeout(BUSY_TIMEOUT_MS)
        # Touch the file so a non-database fails here, not in the middle of an operation.
        conn.execute("SELECT count(*) FROM sqlite_schema").fetchall()
    except apsw.Error as exc:
        keep_wal_on_close(conn)
        try:
            conn.close()
        except apsw.Error:
            log.warning("closing a library that failed to open failed", exc_info=True)
        if type(exc) is apsw.SQLError:  # e.g. "unsupported file format": a damaged header
            log.warning("SQLite error during open: %r", exc)
            raise errors.LibraryCorrupt() from exc
        raise translate(exc, "open") from exc
    return conn


def keep_wal_on_close(conn: apsw.Connection) -> None:
    """Closing the last connection of a WAL library copies its -wal into the file. When the
    library looks damaged, that -wal may be a stray one (another copy's, left beside a file
    restored from a backup): copying it in would make the damage permanent and the file
    would no longer be as it was. Leave both files exactly as they are."""
    try:
        conn.config(apsw.SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1)
    except apsw.Error:
        log.warning("could not switch off the checkpoint on close", exc_info=True)


@contextmanager
def reading(path: str) -> Iterator[apsw.Connection]:
    """A connection for operations that only read (status, the cleanup preview).

    When a -wal with content was already beside the library, closing does not checkpoint
    it into the file, so reading changes no file: a stray -wal stays a question for the
    writers, which check integrity first, instead of being folded in by a status call.
    Otherwise the close is the usual one, which removes the -wal and -shm it made.
    """
    try:
        had_wal = os.stat(path + "-wal").st_size > 0  # stat opens nothing: no lock is lost
    except OSError:
        had_wal = False
    conn = connect(path)
    if had_wal:
        keep_wal_on_close(conn)
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def opened(path: str) -> Iterator[apsw.Connection]:
    conn = connect(path)
    try:
        yield conn
    except (errors.LibraryCorrupt, errors.NotALibrary):
        keep_wal_on_close(conn)
        raise
    finally:
        conn.close()


def table_names(conn: apsw.Connection, schema: str = "main") -> set[str]:
    return {r[0] for r in conn.execute(
        f"SELECT name FROM {schema}.sqlite_schema WHERE type='table' AND substr(name, 1, 7) <> 'sqlite_'")}


def column_names(conn: apsw.Connection, table: str, schema: str = "main") -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA {schema}.table_info({quote_ident(table)})")]


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def read_version(conn: apsw.Connection) -> int:
    """The library's version, MAX(schema_version.version); NOT_A_LIBRARY when it has none."""
    try:
        if "schema_version" not in table_names(conn):
            raise errors.NotALibrary()
        (version,) = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
    except apsw.Error as exc:
        raise translate(exc, "reading the version") from exc
    if not isinstance(version, int):
        raise errors.NotALibrary()
    return version


def require_intact(conn: apsw.Connection, table: str | None = None) -> None:
    """quick_check (of one table and its indexes, or of the whole file): LIBRARY_CORRUPT
    when SQLite finds damage."""
    pragma = f"PRAGMA quick_check({quote_ident(table)})" if table else "PRAGMA quick_check"
    try:
        rows = conn.execute(pragma).fetchall()
    except apsw.Error as exc:
        if isinstance(exc, apsw.InterruptError):
            raise errors.Cancelled() from exc
        keep_wal_on_close(conn)
        raise errors.LibraryCorrupt() from exc
    if rows != [("ok",)]:
        log.warning("quick_check found %d problems, first: %r", len(rows), rows[:3])
        keep_wal_on_close(conn)
        raise errors.LibraryCorrupt()


def journal_mode(conn: apsw.Connection) -> str:
    return conn.execute("PRAGMA journal_mode").fetchone()[0].lower()


def size_bytes(conn: apsw.Connection) -> int:
    """The library's size as SQLite sees it (no plain file I/O on a library SQLite may lock)."""
    (pages,) = conn.execute("PRAGMA page_count").fetchone()
    (page_size,) = conn.execute("PRAGMA page_size").fetchone()
    return pages * page_size


def require_writable(path: str, conn: apsw.Connection) -> None:
    if conn.readonly("main") or not os.access(path, os.W_OK) \
            or not os.access(os.path.dirname(os.path.abspath(path)), os.W_OK):
        raise errors.ReadOnly()


@dataclass(frozen=True)
class LibraryInfo:
    """What pre-flight learned about a library, handed read-only to the operation."""

    version: int
    journal_mode: str
    size_bytes: int


def inspect(conn: apsw.Connection, path: str, *, check_integrity: bool = True) -> LibraryInfo:
    """Pre-flight of a writing operation: version, integrity, writability. Writes nothing.
    Whether the version is one this tool upgrades is the registry's answer (`steps`)."""
    version = read_version(conn)
    if check_integrity:
        require_intact(conn)
    require_writable(path, conn)
    return LibraryInfo(version, journal_mode(conn), size_bytes(conn))


def recording_counts(conn: apsw.Connection) -> dict[str, int]:
    """Recordings by migration status; all pending in a library without the column."""
    counts = {"pending": 0, "migrated": 0, "skipped": 0, "error": 0}
    if "migration_status" in {c.lower() for c in column_names(conn, "recordings")}:
        # Unknown values count as errors, in SQL: they need not even be UTF-8.
        for status, n in conn.execute(
                "SELECT CASE WHEN migration_status IS NULL THEN 'pending' WHEN migration_status "
                "IN ('pending', 'migrated', 'skipped', 'error') THEN migration_status ELSE 'error' END, "
                "count(*) FROM recordings GROUP BY 1"):
            counts[status] += n
    else:
        counts["pending"] = conn.execute("SELECT count(*) FROM recordings").fetchone()[0]
    counts["total"] = sum(counts.values())
    return counts


def row_counts(conn: apsw.Connection, schema: str = "main") -> dict[str, int]:
    return {t: conn.execute(f"SELECT count(*) FROM {schema}.{quote_ident(t)}").fetchone()[0]
            for t in sorted(table_names(conn, schema))}


SPACE_MARGIN = 8 * 1024 * 1024


def free_space(path: str) -> int:
    """Bytes free on the library's filesystem (`snapshots.retention.make_room` decides)."""
    return shutil.disk_usage(os.path.dirname(os.path.abspath(path))).free
