"""Edges of drifted libraries found in review, each once wrong: what SQLite allows and the
app's releases could have left, through migrate and an immediate rollback (which must
find nothing to lose) or a rollback after an edit (which must find it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import apsw
import pytest

from app.engine import snapshots
from app.engine.snapshots import identity
from app.engine.migrate import migrate
from app.engine.progress import ProgressRegistry
from app.engine.rollback import rollback
from app.engine.status import status
from tests import real_layouts
from tests.conftest import Library, fill
from tests.reliability import checker


def _sql(path: Path, *statements: str) -> None:
    conn = apsw.Connection(str(path))
    try:
        with conn:
            for sql in statements:
                conn.execute(sql)
    finally:
        conn.close()


def _round_trip(path: Path) -> None:
    """migrate succeeds; an immediate rollback loses nothing and restores the original."""
    original = checker.dump(path)
    result = migrate(str(path))
    assert result.success, result.errors
    back = rollback(str(path))
    assert back.success, (back.errors, back.would_lose)
    assert checker.dump(path) == original


@pytest.fixture
def half_done(tmp_path: Path) -> Path:
    return real_layouts.build(tmp_path / "library.db", "half_done", recordings=40, seed=1).path


def test_an_edit_in_a_column_the_upgrade_added_is_seen(half_done: Path) -> None:
    (before,) = apsw.Connection(str(half_done)).execute("SELECT id FROM knowledge_captures LIMIT 1").fetchone()
    assert migrate(str(half_done)).success
    _sql(half_done, f"UPDATE knowledge_captures SET category = 'interview' WHERE id = '{before}'")
    refused = rollback(str(half_done))
    assert [e.code for e in refused.errors] == ["WOULD_LOSE_DATA"]
    assert refused.would_lose == {"knowledge_captures": 1}


def test_a_table_named_like_sqlites_own_is_compared(library: Library) -> None:
    fill(library, 20)
    _sql(library.path, "CREATE TABLE sqlite2notes (n TEXT)")
    assert migrate(str(library)).success
    _sql(library.path, "INSERT INTO sqlite2notes VALUES ('mine')")
    refused = rollback(str(library))
    assert refused.would_lose == {"sqlite2notes": 1}


def test_a_default_of_its_own_loses_nothing(tmp_path: Path) -> None:
    path = real_layouts.build(tmp_path / "library.db", "v11_name_only", recordings=30).path
    sql = apsw.Connection(str(path)).execute(
        "SELECT sql FROM sqlite_schema WHERE name = 'knowledge_captures'").fetchone()[0]
    _sql(path, "DROP TABLE knowledge_captures", sql.replace("storage_tier TEXT DEFAULT 'hot'", "storage_tier TEXT DEFAULT 'cold'"))
    _round_trip(path)


def test_migration_columns_spelled_in_another_case_lose_nothing(library: Library) -> None:
    fill(library, 20)
    _sql(library.path, "ALTER TABLE recordings ADD COLUMN Migrated_To_Capture_Id TEXT",
         "ALTER TABLE recordings ADD COLUMN Migration_Status TEXT DEFAULT 'pending'",
         "ALTER TABLE recordings ADD COLUMN Migrated_At TEXT")
    _round_trip(library.path)


def test_a_capture_without_an_id_loses_nothing(half_done: Path) -> None:
    _sql(half_done, "INSERT INTO knowledge_captures (id, title, captured_at) VALUES (NULL, 'mine', '2024')")
    _round_trip(half_done)


def test_a_snapshot_of_an_unfinished_rerun_does_not_hide_the_upgrades(library: Library) -> None:
    fill(library, 20)
    original = checker.dump(library.path)
    assert migrate(str(library)).success
    tracker = ProgressRegistry().open("migrate")
    # as a re-run that crashed leaves it (a failed one removes its own)
    snapshots.take(str(library), snapshots.PRE_UPGRADE, tracker, "wal", identity.of_file(library.path))
    back = rollback(str(library))
    assert back.success, back.errors
    assert checker.dump(library.path) == original


def test_blob_ids_with_text_that_is_not_utf8_finish(tmp_path: Path) -> None:
    path = real_layouts.build(tmp_path / "library.db", "app_v10", recordings=20).path
    _sql(path, "UPDATE transcripts SET recording_id = CAST(recording_id AS BLOB), "
               "summary = CAST(X'41EDA080' AS TEXT) WHERE rowid IN (SELECT rowid FROM transcripts LIMIT 3)",
         "UPDATE recordings SET id = CAST(id AS BLOB) WHERE id IN "
         "(SELECT CAST(recording_id AS TEXT) FROM transcripts WHERE typeof(recording_id) = 'blob')")
    done = subprocess.run([sys.executable, "-m", "app", "migrate", "--library", str(path), "--json"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout


def test_several_transcripts_of_one_recording_make_one_capture(library: Library) -> None:
    _sql(library.path, "DROP TABLE transcripts",
         "CREATE TABLE transcripts (id TEXT PRIMARY KEY, recording_id TEXT, full_text TEXT, summary TEXT, "
         "action_items TEXT, title_suggestion TEXT)")
    library.add_recording("r1")
    library.insert("transcripts", id="t1", recording_id="r1", summary="first")
    library.insert("transcripts", id="t2", recording_id="r1", summary="second")
    assert status(str(library)).upgrade.to_upgrade == 1
    result = migrate(str(library))
    assert result.success and result.captures_created == 1
    assert library.execute("SELECT summary FROM knowledge_captures") == [("first",)]


def test_integer_ids_and_a_blob_file_name(library: Library) -> None:
    _sql(library.path, "DROP TABLE recordings",
         "CREATE TABLE recordings (id INTEGER PRIMARY KEY, filename TEXT, date_recorded TEXT, meeting_id TEXT)")
    _sql(library.path, "INSERT INTO recordings VALUES (1, CAST('REC1.WAV' AS BLOB), '2024', NULL), (2, 'b.wav', '2024', NULL)",
         "INSERT INTO transcripts (id, recording_id, full_text) VALUES ('t1', 1, 'x'), ('t2', 2, 'y')")
    result = migrate(str(library))
    assert result.success and result.captures_created == 2, result.errors
    assert sorted(library.execute("SELECT title FROM knowledge_captures")) == [("REC1",), ("b",)]


def test_captures_without_creation_times_are_completed(half_done: Path) -> None:
    conn = apsw.Connection(str(half_done))
    sql = conn.execute("SELECT sql FROM sqlite_schema WHERE name = 'knowledge_captures'").fetchone()[0]
    conn.close()
    _sql(half_done, "ALTER TABLE knowledge_captures DROP COLUMN created_at")
    result = migrate(str(half_done))
    assert result.success, result.errors
    assert any("knowledge_captures.created_at" in w.message for w in result.warnings if w.code == "SCHEMA_DRIFT")
    assert "created_at" in sql  # the negative control: it was there, and was dropped above


def test_a_rerun_right_after_an_upgrade_verifies(library: Library) -> None:
    fill(library, 10)
    assert migrate(str(library)).success
    library.add_recording("late")
    library.add_transcript("t-late", "late")
    again = migrate(str(library))  # within the same second, often
    assert again.success and again.captures_created == 1, again.errors


def test_a_status_outside_the_four_is_upgraded(tmp_path: Path) -> None:
    path = real_layouts.build(tmp_path / "library.db", "v11_name_only", recordings=20).path
    _sql(path, "PRAGMA ignore_check_constraints = ON",
         "UPDATE recordings SET migration_status = 'Pending' WHERE id IN (SELECT recording_id FROM transcripts LIMIT 1)")
    result = migrate(str(path))
    assert result.success
    assert status(str(path)).recordings.error == 0 and not status(str(path)).can_migrate


def test_an_upgrade_that_only_completed_the_schema_can_be_rolled_back(library: Library) -> None:
    fill(library, 10)
    assert migrate(str(library)).success
    _sql(library.path, "DROP INDEX idx_outputs_template_id")
    before = checker.dump(library.path)
    assert migrate(str(library)).success  # puts the index back
    back = rollback(str(library))
    assert back.success, back.errors
    assert checker.dump(library.path) == before
