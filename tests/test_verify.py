"""The V11 step's verification sees what it claims to see, and only this run's rows.

Each test builds the step's state by hand inside one transaction (schema completed, rows
staged and published, recordings marked: what `apply` does before verifying), checks that
verification passes (the negative control), then breaks one thing and requires the check
that names it to fail.
"""

from __future__ import annotations

from collections.abc import Iterator

import apsw
import pytest

from app.engine import completion
from app.engine.steps.v11 import rows, spec, verify
from tests.conftest import Library, fill

AT = "2026-01-01 00:00:00"


@pytest.fixture
def staged(library: Library) -> Iterator[tuple[apsw.Connection, verify.Expected]]:
    """A V10 library with the step's rows published and the stage still there."""
    fill(library, 60)
    conn = library.connect()
    conn.execute("BEGIN")
    completion.complete_tables(conn, spec())
    before = verify.counts(conn)
    counts = rows.stage(conn)
    adopted = rows.adopt(conn, AT, "main.recordings", "main.knowledge_captures")
    rows.mark(conn, AT, "main.recordings")
    rows.skip(conn, "main.recordings", "main.transcripts", "main.knowledge_captures")
    rows.publish(conn)
    completion.complete_indexes(conn, spec())
    try:
        yield conn, verify.Expected(counts.captures, counts.action_items, adopted, before, AT, None)
    finally:
        conn.execute("ROLLBACK")
        conn.close()


def test_a_good_upgrade_passes(staged: tuple[apsw.Connection, verify.Expected]) -> None:
    conn, expected = staged
    assert expected.captures > 0
    assert verify.failed_checks(conn, expected, spec()) == []


def test_a_new_rows_broken_foreign_key_is_named(staged: tuple[apsw.Connection, verify.Expected]) -> None:
    conn, expected = staged
    conn.execute("UPDATE action_items SET knowledge_capture_id = 'gone' WHERE rowid = 1")
    conn.execute("UPDATE temp.stage_action_items SET knowledge_capture_id = 'gone' WHERE rowid = 1")
    assert verify.failed_checks(conn, expected, spec()) == ["new action items' captures exist"]


def test_a_recording_linked_to_another_capture_is_seen(staged: tuple[apsw.Connection, verify.Expected]) -> None:
    conn, expected = staged
    # Two migrated recordings swap their captures: every count still matches.
    a, b = conn.execute("SELECT id, migrated_to_capture_id FROM recordings "
                        "WHERE migration_status = 'migrated' LIMIT 2").fetchall()
    conn.execute("UPDATE recordings SET migrated_to_capture_id = ? WHERE id = ?", (b[1], a[0]))
    conn.execute("UPDATE recordings SET migrated_to_capture_id = ? WHERE id = ?", (a[1], b[0]))
    assert verify.failed_checks(conn, expected, spec()) == ["recording <-> capture links agree"]


def test_a_missing_capture_is_counted(staged: tuple[apsw.Connection, verify.Expected]) -> None:
    conn, expected = staged
    conn.execute("DELETE FROM knowledge_captures WHERE rowid = (SELECT max(rowid) FROM knowledge_captures)")
    failed = verify.failed_checks(conn, expected, spec())
    assert "captures added" in failed and "recording <-> capture links agree" in failed


def test_a_missing_index_is_named(staged: tuple[apsw.Connection, verify.Expected]) -> None:
    conn, expected = staged
    conn.execute("DROP INDEX idx_action_items_status")
    assert verify.failed_checks(conn, expected, spec()) == [
        "canonical schema present: lacks index on action_items(status)"]


def test_rows_that_were_there_before_are_not_this_runs_to_judge(
        staged: tuple[apsw.Connection, verify.Expected]) -> None:
    conn, expected = staged
    # A user's follow-up pointing nowhere, and a capture of theirs without a meeting row:
    # neither is what this run made.
    conn.execute("INSERT INTO follow_ups (id, knowledge_capture_id, content) VALUES ('f1', 'nope', 'c')")
    assert verify.failed_checks(conn, expected, spec()) == []
