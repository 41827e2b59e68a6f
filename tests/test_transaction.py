"""WriteTransaction's COMMIT leaves the library's file up to date, not only its -wal."""

from __future__ import annotations

import os

from app.engine import library
from app.engine.progress import ProgressRegistry
from app.engine.transaction import WriteTransaction
from tests.conftest import Library


def _file_state(lib: Library) -> tuple[int, int]:
    st = os.stat(lib.path)
    return st.st_size, st.st_mtime_ns


def _small_write(conn) -> None:
    conn.execute("INSERT INTO config (key, value) VALUES ('k', 'v')")


def test_commit_checkpoints_the_wal_into_the_file(library: Library) -> None:
    """apsw's close() checkpoints holding the GIL; the commit does it as a statement
    instead, so a big -wal is already in the file when the connection closes."""
    registry = ProgressRegistry()
    tracker = registry.open("test")
    conn = library.connect()
    try:
        before = _file_state(library)
        with WriteTransaction(conn, tracker) as txn:
            _small_write(conn)
            txn.commit()
        assert _file_state(library) != before  # written while the connection is still open
    finally:
        conn.close()
        registry.close(tracker)


def test_a_plain_commit_leaves_the_file_alone(library: Library) -> None:
    """Negative control: a small COMMIT alone (below the auto-checkpoint) writes only the -wal."""
    conn = library.connect()
    try:
        before = _file_state(library)
        with conn:
            _small_write(conn)
        assert _file_state(library) == before
    finally:
        conn.close()


def test_rollback_journal_libraries_commit_as_before(make_library) -> None:
    lib = make_library(journal_mode="delete")
    registry = ProgressRegistry()
    tracker = registry.open("test")
    conn = lib.connect()
    try:
        with WriteTransaction(conn, tracker) as txn:
            _small_write(conn)
            txn.commit()
        assert library.journal_mode(conn) == "delete"
        assert conn.execute("SELECT value FROM config WHERE key = 'k'").fetchone() == ("v",)
    finally:
        conn.close()
        registry.close(tracker)


_HOLD = ("import sys, apsw\n"
         "conn = apsw.Connection(sys.argv[1])\n"
         "conn.execute('BEGIN IMMEDIATE')\n"
         "print('holding', flush=True)\n"
         "sys.stdin.readline()\n")


def test_bookkeeping_after_a_commit_runs_only_under_the_lock(make_library, journal_mode) -> None:
    """After its COMMIT an operation prunes snapshots (and records its fingerprint) only
    with the write lock taken again: another copy of the app that got the lock in between
    may be copying a snapshot in that folder. Busy means skip, at once, writing nothing."""
    import subprocess
    import sys
    import time

    import apsw

    from app.engine.transaction import relocked

    lib = make_library(journal_mode=journal_mode)
    conn = library.connect(str(lib))
    try:
        with relocked(conn) as held:
            assert held  # free: taken
            other = apsw.Connection(str(lib))
            other.set_busy_timeout(0)
            try:  # and it is the write lock (negative control below)
                other.execute("BEGIN IMMEDIATE")
                raise AssertionError("a second writer got in")
            except apsw.BusyError:
                pass
            finally:
                other.close()
        assert conn.get_autocommit()  # released

        holder = subprocess.Popen([sys.executable, "-c", _HOLD, str(lib)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "holding"
            started = time.monotonic()
            with relocked(conn) as held:
                assert not held
            assert time.monotonic() - started < library.BUSY_TIMEOUT_MS / 1000  # no waiting
            assert conn.get_autocommit()
        finally:
            holder.communicate("\n", timeout=30)
        with relocked(conn) as held:
            assert held  # the holder has gone: free again
    finally:
        conn.close()
