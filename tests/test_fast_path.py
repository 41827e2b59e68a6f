"""The upgrade's fast path (staged rows, key-ordered bulk insert, set-based recordings
update, indexes afterwards) gives exactly what a plain row-by-row implementation of the
data rules gives, on a demo library full of edge cases."""

from __future__ import annotations

import shutil
from datetime import datetime, timezone
from pathlib import Path

import apsw
import pytest

from app.engine import schema
from app.engine.snapshots import identity
from app.engine.steps import v11
from app.engine.steps.v11 import rules
from app.samples.demo import create_demo_library
from app.engine.migrate import migrate
from tests.conftest import logical_dump

TIMESTAMPS = {"created_at", "updated_at", "migrated_at", "applied_at"}

PLAIN_SELECT = """SELECT r.id, r.filename, r.file_path, r.file_size, r.duration_seconds, r.date_recorded,
  r.meeting_id, r.correlation_confidence, r.correlation_method, r.on_local, r.is_imported,
  t.title_suggestion, t.summary, t.action_items,
  EXISTS (SELECT 1 FROM meetings m WHERE m.id = r.meeting_id)
FROM recordings r JOIN transcripts t ON t.recording_id = r.id"""


def plain_upgrade(path: Path) -> None:
    """The rules applied one recording at a time, each row inserted and updated on its own."""
    conn = apsw.Connection(str(path))
    now = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    with conn:
        conn.execute(schema.read(v11.TABLES_FILE))
        conn.execute(schema.read(v11.INDEX_FILE))
        for row in conn.execute(PLAIN_SELECT).fetchall():
            out = rules.rows_for_recording(rules.Source._make(row))
            conn.execute("INSERT INTO knowledge_captures (id, title, summary, meeting_id, correlation_confidence, "
                         "correlation_method, source_recording_id, captured_at) VALUES (?,?,?,?,?,?,?,?)", out.capture)
            conn.execute("INSERT INTO audio_sources (id, knowledge_capture_id, source_type, local_path, file_name, "
                         "file_size, duration_seconds, format) VALUES (?,?,?,?,?,?,?,?)", out.audio_source)
            for item in out.action_items:
                conn.execute("INSERT INTO action_items (id, knowledge_capture_id, content, assignee, due_date, "
                             "priority, status, extracted_from) VALUES (?,?,?,?,?,?,?,?)", item)
            conn.execute("UPDATE recordings SET migration_status = 'migrated', migrated_to_capture_id = ?, "
                         "migrated_at = ? WHERE id = ?", (out.capture[0], now, row[0]))
        conn.execute("UPDATE recordings SET migration_status = 'skipped' WHERE NOT EXISTS "
                     "(SELECT 1 FROM transcripts t WHERE t.recording_id = recordings.id)")
        conn.execute("INSERT INTO schema_version (version) VALUES (11)")
    conn.close()


def comparable(path: Path) -> dict[str, set[tuple]]:
    """Each table's rows as a set, without the columns that hold the time of the run."""
    conn = apsw.Connection(str(path))
    try:
        out = {}
        for (table,) in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table' "
                                     "AND name NOT LIKE 'sqlite_%' AND name <> ?", (identity.TABLE,)).fetchall():
            cols = [r[1] for r in conn.execute(f'PRAGMA table_info("{table}")') if r[1] not in TIMESTAMPS]
            out[table] = set(conn.execute(f'SELECT {", ".join(cols)} FROM "{table}"').fetchall())
        return out
    finally:
        conn.close()


@pytest.mark.parametrize("journal_mode", ["wal", "delete"])
def test_fast_path_equals_plain_row_by_row(tmp_path: Path, journal_mode: str) -> None:
    original = tmp_path / "demo.db"
    create_demo_library(str(original), recordings=1500, seed=7, journal_mode=journal_mode)
    fast, plain = tmp_path / "fast.db", tmp_path / "plain.db"
    shutil.copyfile(original, fast)
    shutil.copyfile(original, plain)

    result = migrate(str(fast))
    assert result.success, result.errors
    plain_upgrade(plain)

    got, want = comparable(fast), comparable(plain)
    assert set(got) == set(want)
    for table in want:
        assert got[table] == want[table], table
    assert len(want["action_items"]) > 1000 and len(want["knowledge_captures"]) > 1000
    # and the schemas are the same, objects and all
    assert logical_dump(fast)["__schema__"] == logical_dump(plain)["__schema__"]


def test_checker_sees_a_single_differing_row(tmp_path: Path) -> None:
    """Negative control: the comparison above fails when one item differs."""
    original = tmp_path / "demo.db"
    create_demo_library(str(original), recordings=200, seed=3)
    fast, plain = tmp_path / "fast.db", tmp_path / "plain.db"
    shutil.copyfile(original, fast)
    shutil.copyfile(original, plain)
    assert migrate(str(fast)).success
    plain_upgrade(plain)
    conn = apsw.Connection(str(plain))
    conn.execute("UPDATE action_items SET priority = 'low' WHERE rowid = (SELECT min(rowid) FROM action_items "
                 "WHERE priority <> 'low')")
    conn.close()
    assert comparable(fast)["action_items"] != comparable(plain)["action_items"]
