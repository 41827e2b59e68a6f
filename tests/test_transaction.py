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
