"""Every layout users really have, through status, migrate, a second migrate, rollback and
a re-upgrade (`tests/real_layouts.py` builds them from the guide's facts).

The rules checker here reads the library as stored (text as bytes: it need not be UTF-8)
and requires, for every eligible recording, exactly the rows the documented rules
(`app.engine.steps.v11.rules`) make: values the rules copy keep their stored bytes, and
what they derive is the rules applied to the text decoded with U+FFFD.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import apsw
import pytest

from app.engine.cleanup import preview_cleanup, run_cleanup
from app.engine import snapshots
from app.engine.snapshots import identity
from app.engine.migrate import migrate
from app.engine.progress import ProgressRegistry
from app.engine.rollback import rollback
from app.engine.status import status
from app.engine.steps.v11 import rules
from tests import real_layouts
from tests.reliability import checker
from tests.rules_checker import AUDIO, CAPTURE, ITEM, expected_rows, sources, stored, t



def _rows(conn: apsw.Connection, sql: str, params: tuple = ()) -> list[tuple]:
    return conn.execute(sql, params).fetchall()


def check_rules(path: Path, built: real_layouts.Built) -> None:
    """The rules hold for every eligible recording; adopted ones point at their capture;
    what was done before is untouched; untranscribed ones are skipped."""
    ids = built.expected["ids"]
    stored_sources = sources(path, ids["eligible"])
    assert len(stored_sources) == len(ids["eligible"])
    conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        for rid, source in stored_sources.items():
            capture, audio, items = expected_rows(source)
            got = _rows(conn, f"SELECT {', '.join(map(t, CAPTURE))} FROM knowledge_captures WHERE id = ?",
                        (capture[0].decode(),))
            assert got == [capture], rid
            assert _rows(conn, f"SELECT {', '.join(map(t, AUDIO))} FROM audio_sources WHERE id = ?",
                         (audio[0].decode(),)) == [audio], rid
            assert set(_rows(conn, f"SELECT {', '.join(map(t, ITEM))} FROM action_items "
                                   "WHERE knowledge_capture_id = ?", (capture[0].decode(),))) == items, rid
            assert _rows(conn, "SELECT migration_status, migrated_to_capture_id FROM recordings "
                               f"WHERE {t('id')} = ?", (rid,)) == [("migrated", capture[0].decode())]
        for rid, cid in built.expected["adopted_captures"].items():
            assert _rows(conn, "SELECT migration_status, migrated_to_capture_id FROM recordings WHERE id = ?",
                         (rid,)) == [("migrated", cid)]
        for rid in ids["untranscribed"]:
            assert _rows(conn, f"SELECT migration_status FROM recordings WHERE {t('id')} = ?",
                         (stored(rid),)) == [("skipped",)]
    finally:
        conn.close()


@pytest.fixture(params=real_layouts.LAYOUTS)
def built(request: pytest.FixtureRequest, tmp_path: Path) -> real_layouts.Built:
    return real_layouts.build(tmp_path / "library.db", request.param, recordings=60, seed=3)


def test_status_migrate_twice_rollback_and_reupgrade(built: real_layouts.Built) -> None:
    path, expected = str(built.path), built.expected
    original = checker.dump(built.path)

    before = status(path)
    assert before.success, before.errors
    assert before.can_migrate
    assert (before.upgrade.to_upgrade, before.upgrade.to_adopt, before.upgrade.to_skip) == (
        expected["eligible"], expected["adopted"], expected["untranscribed"])

    result = migrate(path)
    assert result.success, result.errors
    assert result.version == 11 and result.verified
    assert (result.captures_created, result.captures_adopted, result.recordings_skipped) == (
        expected["eligible"], expected["adopted"], expected["untranscribed"])
    assert result.undecodable_recordings == built.undecodable_recordings
    codes = {w.code for w in result.warnings}
    assert ("UNDECODABLE_TEXT" in codes) == (built.undecodable_recordings > 0)
    assert checker.integrity(built.path) == []
    check_rules(built.path, built)
    upgraded = checker.dump(built.path)

    after = status(path)
    assert after.success and not after.can_migrate and after.version == 11
    assert after.upgrade.to_upgrade == after.upgrade.to_adopt == after.upgrade.to_skip == 0
    assert after.upgrade.schema_missing == []

    again = migrate(path)
    assert again.success and [w.code for w in again.warnings] == ["ALREADY_UPGRADED"]
    assert checker.dump(built.path) == upgraded

    back = rollback(path)
    assert back.success, (back.errors, back.would_lose)
    assert checker.dump(built.path) == original

    redo = migrate(path)
    assert redo.success, redo.errors
    assert checker.dump(built.path) == upgraded  # the same ids, the same rows


def test_the_cli_upgrades_and_restores_each_layout(built: real_layouts.Built) -> None:
    def cli(*args: str) -> tuple[int, dict]:
        done = subprocess.run([sys.executable, "-m", "app", *args, "--library", str(built.path), "--json"],
                              capture_output=True, text=True, timeout=120)
        return done.returncode, json.loads(done.stdout)

    original = checker.dump(built.path)
    code, out = cli("status")
    assert code == 0 and out["can_migrate"] and out["latest_version"] == 11
    code, out = cli("migrate")
    assert code == 0 and out["success"] and out["captures_created"] == built.expected["eligible"]
    code, out = cli("rollback")
    assert code == 0 and out["success"], out
    assert checker.dump(built.path) == original


def test_cleanup_preview_and_run_then_upgrade(built: real_layouts.Built) -> None:
    path = str(built.path)
    # A duplicate of a recording, with a file name that is not UTF-8: its sample must
    # still be shown (decoded with U+FFFD), and the duplicate removed.
    conn = apsw.Connection(path)
    with conn:
        rid = conn.execute("SELECT id FROM recordings ORDER BY id LIMIT 1").fetchone()[0]
        conn.execute("UPDATE recordings SET filename = CAST(X'43616C6C20EDA0802E686461' AS TEXT) WHERE id = ?", (rid,))
        columns = [r[1] for r in conn.execute("PRAGMA table_info(recordings)") if r[1] != "id"]
        conn.execute(f"INSERT INTO recordings (id, {', '.join(columns)}) "
                     f"SELECT 'zz-duplicate', {', '.join(columns)} FROM recordings WHERE id = ?", (rid,))
    conn.close()

    preview = preview_cleanup(path)
    assert preview.success, preview.errors
    assert preview.duplicate_recordings.count == 1
    assert preview.duplicate_recordings.sample[0]["filename"] == "Call \ufffd\ufffd\ufffd.hda"
    fixed = run_cleanup(path)
    assert fixed.success, fixed.errors
    assert fixed.duplicate_recordings_removed == 1
    after = preview_cleanup(path)
    assert (after.orphaned_transcripts.count, after.duplicate_recordings.count,
            after.invalid_meeting_refs.count) == (0, 0, 0)
    upgraded = migrate(path)
    assert upgraded.success, upgraded.errors


def test_a_version_11_library_never_upgraded_has_nothing_to_roll_back(tmp_path: Path) -> None:
    """The app recorded version 11 without migrating anything; an upgrade that did not
    finish leaves its snapshot: restoring it would change nothing and must say so."""
    built = real_layouts.build(tmp_path / "library.db", "v11_name_only", recordings=30)
    tracker = ProgressRegistry().open("migrate")
    # as an upgrade that crashed leaves it: stamped with the identity it never committed
    snapshots.take(str(built.path), snapshots.PRE_UPGRADE, tracker, "delete", identity.new_id())
    before = checker.dump(built.path)
    result = rollback(str(built.path))
    assert [e.code for e in result.errors] == ["NOTHING_TO_ROLL_BACK"]
    assert checker.dump(built.path) == before
    # Negative control: once the upgrade has happened, the same call restores.
    assert migrate(str(built.path)).success
    assert rollback(str(built.path)).success
    assert checker.dump(built.path) == before


@pytest.mark.parametrize("change, named", [
    ("DROP TABLE meetings", "there is no meetings table"),
    ("ALTER TABLE recordings DROP COLUMN date_recorded", "the recordings table has no date_recorded column"),
    ("ALTER TABLE transcripts RENAME COLUMN recording_id TO recording", "the transcripts table has no recording_id column"),
])
def test_a_library_without_what_the_rules_need_is_refused_untouched(tmp_path: Path, change: str, named: str) -> None:
    built = real_layouts.build(tmp_path / "library.db", "app_v10", recordings=20)
    conn = apsw.Connection(str(built.path))
    conn.execute("DROP INDEX IF EXISTS idx_recordings_date")  # SQLite drops no indexed column
    conn.execute(change)
    conn.close()
    before = built.path.read_bytes()
    for run in (migrate, status):
        result = run(str(built.path))
        assert [e.code for e in result.errors] == ["LIBRARY_UNSUPPORTED"]
        assert named in result.errors[0].message
    done = subprocess.run([sys.executable, "-m", "app", "migrate", "--library", str(built.path), "--json"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and json.loads(done.stdout)["errors"][0]["code"] == "LIBRARY_UNSUPPORTED"
    assert built.path.read_bytes() == before
    assert not (tmp_path / "library.db.snapshots").exists() or not any((tmp_path / "library.db.snapshots").iterdir())


def test_a_column_defined_otherwise_is_named_and_left_as_it_is(tmp_path: Path) -> None:
    built = real_layouts.build(tmp_path / "library.db", "v11_name_only", recordings=20)
    conn = apsw.Connection(str(built.path))
    conn.execute("ALTER TABLE action_items DROP COLUMN confidence")
    conn.execute("ALTER TABLE action_items ADD COLUMN confidence TEXT")  # REAL in version 11
    conn.close()
    result = migrate(str(built.path))
    assert result.success, result.errors
    drift = [w for w in result.warnings if w.code == "SCHEMA_DRIFT"]
    assert len(drift) == 1 and "action_items.confidence" in drift[0].message
    conn = apsw.Connection(str(built.path))
    assert ("confidence", "TEXT") in [(r[1], r[2]) for r in conn.execute("PRAGMA table_info(action_items)")]
    # what was missing was added: the earlier script's captures had no category or status
    assert {"category", "status"} <= {r[1] for r in conn.execute("PRAGMA table_info(knowledge_captures)")}
    conn.close()
