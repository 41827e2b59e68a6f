"""The upgrade's verification sees what it claims to see, counted the way SQLite counts it."""

from __future__ import annotations

import apsw
import pytest

from app.engine import verify
from app.engine.library import V11_TABLES
from app.engine.migrate import migrate
from tests.conftest import Library, fill


@pytest.fixture
def upgraded(library: Library) -> Library:
    fill(library, 60)
    assert migrate(str(library)).success
    return library


def _pragma_counts(conn: apsw.Connection) -> dict[str, int]:
    return {t: len(conn.execute(f"PRAGMA foreign_key_check({t})").fetchall()) for t in V11_TABLES}


def _query_counts(conn: apsw.Connection) -> dict[str, int]:
    return {t: verify.dangling_references(conn, t) for t in V11_TABLES}


def test_dangling_references_count_what_foreign_key_check_counts(upgraded: Library) -> None:
    conn = upgraded.connect()
    try:
        assert _query_counts(conn) == _pragma_counts(conn) == dict.fromkeys(V11_TABLES, 0)
        conn.execute("PRAGMA foreign_keys = OFF")
        capture = conn.execute("SELECT id FROM knowledge_captures LIMIT 1").fetchone()[0]
        with conn:
            conn.execute("UPDATE knowledge_captures SET meeting_id = 'gone' WHERE rowid IN "
                         "(SELECT rowid FROM knowledge_captures LIMIT 2)")
            conn.execute("UPDATE knowledge_captures SET source_recording_id = 'gone-too' WHERE rowid = "
                         "(SELECT max(rowid) FROM knowledge_captures)")
            conn.execute("INSERT INTO action_items (id, knowledge_capture_id, content) VALUES "
                         "('x1', 'no-such-capture', 'a'), ('x2', 'no-such-capture', 'b')")
            conn.execute("INSERT INTO audio_sources (id, knowledge_capture_id, source_type, file_name) "
                         "VALUES ('a1', 'missing', 'local', 'f.wav')")
            conn.execute("INSERT INTO follow_ups (id, knowledge_capture_id, content, scheduled_meeting_id) "
                         "VALUES ('f1', ?, 'c', 'no-meeting'), ('f2', 'nope', 'c', NULL)", (capture,))
        want = _pragma_counts(conn)
        assert want == {**dict.fromkeys(V11_TABLES, 0), "knowledge_captures": 3, "action_items": 2,
                        "audio_sources": 1, "follow_ups": 2}
        assert _query_counts(conn) == want
    finally:
        conn.close()


def _as_made(conn: apsw.Connection) -> verify.Expected:
    """What the data pass reported, for a library it upgraded."""
    return verify.Expected(
        captures=conn.execute("SELECT count(*) FROM knowledge_captures").fetchone()[0],
        action_items=conn.execute("SELECT count(*) FROM action_items").fetchone()[0])


def test_verification_names_the_broken_foreign_key(upgraded: Library) -> None:
    conn = upgraded.connect()
    try:
        expected = _as_made(conn)
        assert verify.failed_checks(conn, expected) == []  # negative control: a good upgrade passes
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("UPDATE action_items SET knowledge_capture_id = 'gone' WHERE rowid = 1")
        assert verify.failed_checks(conn, expected) == ["foreign keys of action_items"]
    finally:
        conn.close()


def test_verification_sees_a_recording_linked_to_another_capture(upgraded: Library) -> None:
    conn = upgraded.connect()
    try:
        expected = _as_made(conn)
        # Two migrated recordings swap their captures: every count still matches.
        a, b = conn.execute("SELECT id, migrated_to_capture_id FROM recordings "
                            "WHERE migration_status = 'migrated' LIMIT 2").fetchall()
        conn.execute("UPDATE recordings SET migrated_to_capture_id = ? WHERE id = ?", (b[1], a[0]))
        conn.execute("UPDATE recordings SET migrated_to_capture_id = ? WHERE id = ?", (a[1], b[0]))
        assert verify.failed_checks(conn, expected) == ["recording <-> capture links agree"]
    finally:
        conn.close()
