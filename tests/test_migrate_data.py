"""What an upgraded library holds: migrate() on real V10 files, checked row by row.

Every expectation is written out by hand from the issue's data rules, never computed with
app.engine.rules, so a wrong rule cannot agree with itself.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import apsw
import pytest

from app.engine import completion, schema
from app.engine.snapshots import identity
from app.engine.steps.v11 import spec
from app.engine.migrate import migrate

V10_TABLES = ("meetings", "recordings", "transcripts", "embeddings", "config", "schema_version")
EXTRA_TABLE_SQL = "CREATE TABLE user_notes (id INTEGER PRIMARY KEY, note TEXT, data BLOB, weight REAL, misc)"
EXTRA_ROWS = [
    (1, "keep me ✅", b"\x00\x01\xffbinary", 1.5, None),
    (2, None, None, None, "text in an untyped column"),
    (3, "  spaces  ", b"", -0.25, 42),
]

RECORDING_IDS = ("r01", "r02", "r03", "r04", "r05", "r06", "r07", "r08")
TRANSCRIBED = ("r01", "r02", "r04", "r05", "r07", "r08")
SKIPPED = ("r03", "r06")


R01 = dict(filename="dir/sub/Standup.WAV", file_path="/home/u/dir/sub/Standup.WAV", file_size=1234,
           duration_seconds=60.5, date_recorded="2024-01-02 09:00:00", meeting_id="m1",
           correlation_confidence=0.9, correlation_method="time_overlap", on_local=1, is_imported=0,
           on_device=1)
T01 = dict(title_suggestion="  Weekly standup  ", summary=" Summary 1 ",
           action_items='["Write tests", {"text": " Ship ", "assignee": "Ana", "due_date": "2024-02-01", '
                        '"priority": "High", "status": "in progress"}]')


def populate(lib) -> None:
    """A V10 library exercising every rule. Built the same way every time it is called."""
    lib.add_meeting("m1")
    lib.add_meeting("m2", subject="Planning")
    # r01: suggestion, summary kept as is, existing meeting, local file, JSON items
    lib.add_recording("r01", **R01)
    lib.add_transcript("t01", "r01", **T01)
    # r02: imported, Windows path, dangling meeting, blank title and summary, plain-text items
    lib.add_recording("r02", filename="C:\\rec\\Call.mp3", file_path="C:\\rec\\Call.mp3",
                      file_size=99, duration_seconds=3.25, date_recorded="2024-01-03 10:00:00",
                      meeting_id="gone", correlation_confidence=0.5, correlation_method="manual",
                      on_local=1, is_imported=1)
    lib.add_transcript("t02", "r02", title_suggestion="", summary="   ",
                       action_items="- one\r\n* two\n\n   \n1) three\n1.5 hours of review")
    # r03: no transcript -> skipped
    lib.add_recording("r03", filename="untranscribed.wav", date_recorded="2024-01-04 11:00:00",
                      meeting_id="m1", correlation_confidence=0.7, correlation_method="time_overlap")
    # r04: no extension, no meeting but a stray confidence, device, all transcript fields NULL
    lib.add_recording("r04", filename="noext", date_recorded="2024-01-05 12:00:00",
                      correlation_confidence=0.3, correlation_method="guess", on_local=0, is_imported=0)
    lib.add_transcript("t04", "r04")
    # r05: only an extension, blank suggestion, items that are all skipped
    lib.add_recording("r05", filename="folder/.wav", date_recorded="2024-01-06 13:00:00",
                      file_size=0, on_local=0, is_imported=0)
    lib.add_transcript("t05", "r05", title_suggestion="   ", summary="S5",
                       action_items='[null, "", "  ", {"assignee": "x", "priority": "high"}, {}]')
    # r06: no transcript, dangling meeting -> skipped all the same
    lib.add_recording("r06", filename="x.ogg", date_recorded="2024-01-07 14:00:00")
    # r07: second existing meeting, JSON5 is plain text, unicode
    lib.add_recording("r07", filename="Réunion été.M4A", file_path="/m/Réunion été.M4A",
                      date_recorded="2024-01-08 15:00:00", meeting_id="m2",
                      correlation_confidence=1.0, correlation_method="calendar", on_local=1, is_imported=0)
    lib.add_transcript("t07", "r07", title_suggestion="Réunion ✅ 日本語", summary="Résumé",
                       action_items="['a','b']")
    # r08: JSON scalars and numbers kept verbatim, objects with only unknown keys kept
    lib.add_recording("r08", filename="/", date_recorded="2024-01-09 16:00:00",
                      on_local=None, is_imported=None)
    lib.add_transcript("t08", "r08", title_suggestion=None, summary="",
                       action_items='[1.50, 1e400, true, [1, "a"], {"foo": "bar", "owner": "Bob"}, '
                                    '{"done": true, "description": "Closed", "priority": "critical"}]')
    # a transcript whose recording does not exist: no recording, so no capture
    lib.add_transcript("t_orphan", "nope", summary="orphan", action_items='["orphan item"]')
    lib.insert("embeddings", id="e1", transcript_id="t01", chunk_index=0, chunk_text="chunk",
               embedding=b"\x00\x00\x80?")
    lib.insert("config", key="theme", value="dark")
    lib.execute(EXTRA_TABLE_SQL)
    for row in EXTRA_ROWS:
        lib.execute("INSERT INTO user_notes VALUES (?, ?, ?, ?, ?)", row)


# Hand-written expectations ------------------------------------------------------------

# recording -> (title, summary, meeting_id, correlation_confidence, correlation_method, captured_at)
EXPECTED_CAPTURES = {
    "r01": ("Weekly standup", " Summary 1 ", "m1", 0.9, "time_overlap", "2024-01-02 09:00:00"),
    "r02": ("Call", None, None, None, None, "2024-01-03 10:00:00"),
    "r04": ("noext", None, None, None, None, "2024-01-05 12:00:00"),
    "r05": (".wav", "S5", None, None, None, "2024-01-06 13:00:00"),
    "r07": ("Réunion ✅ 日本語", "Résumé", "m2", 1.0, "calendar", "2024-01-08 15:00:00"),
    "r08": ("Untitled recording", None, None, None, None, "2024-01-09 16:00:00"),
}

# recording -> (source_type, local_path, file_name, file_size, duration_seconds, format)
EXPECTED_AUDIO = {
    "r01": ("local", "/home/u/dir/sub/Standup.WAV", "dir/sub/Standup.WAV", 1234, 60.5, "wav"),
    "r02": ("imported", "C:\\rec\\Call.mp3", "C:\\rec\\Call.mp3", 99, 3.25, "mp3"),
    "r04": ("device", None, "noext", None, None, None),
    "r05": ("device", None, "folder/.wav", 0, None, "wav"),
    "r07": ("local", "/m/Réunion été.M4A", "Réunion été.M4A", None, None, "m4a"),
    "r08": ("device", None, "/", None, None, None),
}

# recording -> [(content, assignee, due_date, priority, status)]
EXPECTED_ITEMS = {
    "r01": [("Write tests", None, None, "medium", "pending"),
            ("Ship", "Ana", "2024-02-01", "high", "in_progress")],
    "r02": [("one", None, None, "medium", "pending"),
            ("two", None, None, "medium", "pending"),
            ("three", None, None, "medium", "pending"),
            ("1.5 hours of review", None, None, "medium", "pending")],
    "r04": [],
    "r05": [],
    "r07": [("['a','b']", None, None, "medium", "pending")],
    "r08": [("1.50", None, None, "medium", "pending"),
            ("1e400", None, None, "medium", "pending"),
            ("true", None, None, "medium", "pending"),
            ('[1,"a"]', None, None, "medium", "pending"),
            ('{"foo":"bar","owner":"Bob"}', "Bob", None, "medium", "pending"),
            ("Closed", None, None, "urgent", "completed")],
}
N_ITEMS = sum(len(v) for v in EXPECTED_ITEMS.values())  # 13


@pytest.fixture
def migrated(make_library):
    """(library, result) of a populated WAL library after a successful migrate."""
    lib = make_library()
    populate(lib)
    result = migrate(str(lib))
    assert result.success, result.errors
    return lib, result


def captures_by_recording(lib) -> dict[str, tuple]:
    return {r[0]: r[1:] for r in lib.execute(
        "SELECT source_recording_id, id, title, summary, meeting_id, correlation_confidence, "
        "correlation_method, captured_at FROM knowledge_captures")}


def is_uuid(value: object) -> bool:
    try:
        return isinstance(value, str) and str(uuid.UUID(value)) == value
    except ValueError:
        return False


# ---- rule 1 -----------------------------------------------------------------------------

def test_each_transcribed_recording_gets_exactly_one_capture(migrated):
    lib, _ = migrated
    per_recording = dict(lib.execute(
        "SELECT source_recording_id, count(*) FROM knowledge_captures GROUP BY 1"))
    assert per_recording == {rid: 1 for rid in TRANSCRIBED}
    statuses = dict(lib.execute("SELECT id, migration_status FROM recordings"))
    assert statuses == {rid: "migrated" if rid in TRANSCRIBED else "skipped" for rid in RECORDING_IDS}


def test_recordings_without_transcript_are_skipped_and_get_nothing(migrated):
    lib, _ = migrated
    rows = lib.execute("SELECT id, migration_status, migrated_to_capture_id, migrated_at FROM recordings "
                       "WHERE id IN (?, ?) ORDER BY id", SKIPPED)
    assert rows == [(rid, "skipped", None, None) for rid in SKIPPED]
    assert lib.execute("SELECT count(*) FROM knowledge_captures WHERE source_recording_id IN (?, ?)",
                       SKIPPED) == [(0,)]


def test_orphan_transcript_gets_no_capture(migrated):
    lib, _ = migrated
    assert lib.execute("SELECT count(*) FROM knowledge_captures WHERE source_recording_id = 'nope' "
                       "OR summary = 'orphan'") == [(0,)]
    assert lib.execute("SELECT count(*) FROM action_items WHERE content = 'orphan item'") == [(0,)]


# ---- rules 2-4 --------------------------------------------------------------------------

def test_capture_fields(migrated):
    lib, _ = migrated
    got = {rid: row[1:] for rid, row in captures_by_recording(lib).items()}
    assert got == EXPECTED_CAPTURES


def test_capture_defaults_from_the_v11_schema(migrated):
    lib, _ = migrated
    assert lib.execute("SELECT DISTINCT category, status, quality_rating, storage_tier, deleted_at "
                       "FROM knowledge_captures") == [("meeting", "ready", "unrated", "hot", None)]


def test_dangling_meeting_ref_is_a_warning_not_a_failure(migrated):
    lib, result = migrated
    assert result.success is True
    assert result.errors == []
    assert result.dangling_meeting_refs == 1  # r02 only: r04 has no reference, r06 no capture
    dangling = [w for w in result.warnings if w.code == "DANGLING_MEETING_REF"]
    assert len(dangling) == 1
    assert dangling[0].count == 1
    # the V10 row still points at the missing meeting; the capture does not
    assert lib.execute("SELECT meeting_id FROM recordings WHERE id = 'r02'") == [("gone",)]
    assert lib.execute("SELECT meeting_id, correlation_confidence, correlation_method "
                       "FROM knowledge_captures WHERE source_recording_id = 'r02'") == [(None, None, None)]


def test_several_dangling_refs_are_counted(make_library):
    lib = make_library()
    lib.add_meeting("m")
    for i, meeting in enumerate(["gone-a", "gone-b", "gone-a", "m", None]):
        lib.add_recording(f"r{i}", meeting_id=meeting, correlation_confidence=0.5, correlation_method="x")
        lib.add_transcript(f"t{i}", f"r{i}")
    result = migrate(str(lib))
    assert result.success, result.errors
    assert result.dangling_meeting_refs == 3
    assert [w.count for w in result.warnings if w.code == "DANGLING_MEETING_REF"] == [3]
    assert lib.execute("SELECT source_recording_id, meeting_id, correlation_confidence, correlation_method "
                       "FROM knowledge_captures ORDER BY source_recording_id") == [
        ("r0", None, None, None), ("r1", None, None, None), ("r2", None, None, None),
        ("r3", "m", 0.5, "x"), ("r4", None, None, None)]


def test_no_dangling_refs_no_warning(make_library):
    lib = make_library()
    lib.add_meeting("m")
    lib.add_recording("r1", meeting_id="m")
    lib.add_transcript("t1", "r1")
    lib.add_recording("r2")
    lib.add_transcript("t2", "r2")
    result = migrate(str(lib))
    assert result.success, result.errors
    assert result.dangling_meeting_refs == 0
    assert not [w for w in result.warnings if w.code == "DANGLING_MEETING_REF"]


# ---- rule 5 -----------------------------------------------------------------------------

def all_ids(lib) -> dict[str, list[tuple]]:
    return {
        "captures": lib.execute("SELECT source_recording_id, id FROM knowledge_captures ORDER BY 1"),
        "audio": lib.execute("SELECT k.source_recording_id, a.id, a.knowledge_capture_id FROM audio_sources a "
                             "JOIN knowledge_captures k ON k.id = a.knowledge_capture_id ORDER BY 1"),
        "items": lib.execute("SELECT k.source_recording_id, i.content, i.id, i.knowledge_capture_id "
                             "FROM action_items i JOIN knowledge_captures k ON k.id = i.knowledge_capture_id "
                             "ORDER BY 1, 2"),
        "links": lib.execute("SELECT id, migrated_to_capture_id FROM recordings ORDER BY id"),
    }


def test_ids_are_deterministic_across_independent_copies(make_library):
    a, b = make_library("a.db"), make_library("b.db", journal_mode="delete")
    populate(a)
    populate(b)
    ra, rb = migrate(str(a)), migrate(str(b))
    assert ra.success and rb.success, (ra.errors, rb.errors)
    ids_a, ids_b = all_ids(a), all_ids(b)
    assert len(ids_a["captures"]) == len(TRANSCRIBED)
    assert len(ids_a["audio"]) == len(TRANSCRIBED)
    assert len(ids_a["items"]) == N_ITEMS
    assert ids_a == ids_b


def test_ids_are_valid_unique_uuids(migrated):
    lib, _ = migrated
    ids = [r[0] for t in ("knowledge_captures", "audio_sources", "action_items")
           for r in lib.execute(f"SELECT id FROM {t}")]
    assert len(ids) == 2 * len(TRANSCRIBED) + N_ITEMS
    bad = [i for i in ids if not is_uuid(i)]
    assert bad == []
    assert len(set(ids)) == len(ids)


def test_ids_do_not_depend_on_what_else_the_library_holds(make_library):
    """The same source rows in a library holding nothing else get the same ids."""
    small = make_library("small.db")
    small.add_meeting("m1")
    small.add_recording("r01", **R01)
    small.add_transcript("t01", "r01", **T01)
    full = make_library("full.db")
    populate(full)
    assert migrate(str(small)).success and migrate(str(full)).success
    cap = small.execute("SELECT id FROM knowledge_captures")
    assert len(cap) == 1
    assert cap == full.execute("SELECT id FROM knowledge_captures WHERE source_recording_id = 'r01'")
    assert small.execute("SELECT id FROM audio_sources") == full.execute(
        "SELECT id FROM audio_sources WHERE knowledge_capture_id = ?", cap[0])
    assert sorted(small.execute("SELECT id, content FROM action_items")) == sorted(full.execute(
        "SELECT id, content FROM action_items WHERE knowledge_capture_id = ?", cap[0]))


# ---- rule 6 -----------------------------------------------------------------------------

def test_one_audio_source_per_capture(migrated):
    lib, _ = migrated
    rows = lib.execute("SELECT k.source_recording_id, a.source_type, a.local_path, a.file_name, a.file_size, "
                       "a.duration_seconds, a.format FROM audio_sources a "
                       "JOIN knowledge_captures k ON k.id = a.knowledge_capture_id")
    assert len(rows) == len(TRANSCRIBED)
    assert {r[0]: r[1:] for r in rows} == EXPECTED_AUDIO


def test_text_false_flag_is_not_imported(make_library):
    lib = make_library()
    lib.add_recording("r1", is_imported="false", on_local=0)
    lib.add_transcript("t1", "r1")
    assert lib.execute("SELECT CASE WHEN is_imported THEN 1 ELSE 0 END FROM recordings") == [(0,)]
    result = migrate(str(lib))
    assert result.success, result.errors
    assert lib.execute("SELECT source_type FROM audio_sources") == [("device",)]


# ---- rule 7 -----------------------------------------------------------------------------

def test_action_items(migrated):
    lib, _ = migrated
    rows = lib.execute("SELECT k.source_recording_id, i.content, i.assignee, i.due_date, i.priority, i.status "
                       "FROM action_items i JOIN knowledge_captures k ON k.id = i.knowledge_capture_id")
    got = {rid: [] for rid in TRANSCRIBED}
    for rid, *item in rows:
        got[rid].append(tuple(item))
    assert {k: sorted(v) for k, v in got.items()} == {k: sorted(v) for k, v in EXPECTED_ITEMS.items()}


def test_action_items_extracted_from_transcript(migrated):
    lib, _ = migrated
    assert lib.execute("SELECT extracted_from, count(*) FROM action_items GROUP BY 1") == [("transcript", N_ITEMS)]


def test_action_items_all_belong_to_captures(migrated):
    lib, _ = migrated
    assert lib.execute("SELECT count(*) FROM action_items i LEFT JOIN knowledge_captures k "
                       "ON k.id = i.knowledge_capture_id WHERE k.id IS NULL") == [(0,)]


def test_lone_surrogate_escape_does_not_fail_the_upgrade(make_library):
    lib = make_library()
    lib.add_recording("r1")
    lib.add_transcript("t1", "r1", action_items='["\\ud800 broken escape", "fine"]')
    result = migrate(str(lib))
    assert result.success, result.errors
    assert lib.execute("SELECT count(*) FROM knowledge_captures") == [(1,)]
    assert lib.execute("SELECT count(*) FROM action_items WHERE content = 'fine'") == [(1,)]


def test_deeply_nested_action_items_do_not_fail_the_upgrade(make_library):
    lib = make_library()
    lib.add_recording("r1")
    lib.add_transcript("t1", "r1", action_items="[" * 450 + "]" * 450)
    result = migrate(str(lib))
    assert result.success, result.errors
    assert lib.execute("SELECT count(*) FROM knowledge_captures") == [(1,)]


# ---- rule 8 -----------------------------------------------------------------------------

def test_migrated_recordings_point_at_their_capture(migrated):
    lib, _ = migrated
    rows = lib.execute("SELECT r.id, r.migration_status, r.migrated_to_capture_id, k.id, r.migrated_at "
                       "FROM recordings r LEFT JOIN knowledge_captures k ON k.source_recording_id = r.id "
                       "WHERE r.id IN (%s)" % ",".join("?" * len(TRANSCRIBED)), TRANSCRIBED)
    assert len(rows) == len(TRANSCRIBED)
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    for rid, status, link, capture, migrated_at in rows:
        assert status == "migrated", rid
        assert link is not None and link == capture, rid
        stamp = datetime.fromisoformat(migrated_at)
        assert now - timedelta(minutes=5) <= stamp <= now + timedelta(minutes=5), (rid, migrated_at)


def v10_content(lib, tables=V10_TABLES) -> dict[str, list[tuple]]:
    out = {}
    for table in tables:
        cols = [r[1] for r in lib.execute(f"PRAGMA table_info({table})")]
        if table == "recordings":
            cols = [c for c in cols if c not in ("migrated_to_capture_id", "migration_status", "migrated_at")]
        typed = ", ".join(f'"{c}", typeof("{c}")' for c in cols)
        out[table] = lib.execute(f"SELECT rowid, {typed} FROM {table} ORDER BY rowid")
    return out


def test_v10_tables_keep_their_v10_columns_unchanged(make_library):
    lib = make_library()
    populate(lib)
    before = v10_content(lib)
    assert len(before["recordings"]) == len(RECORDING_IDS)
    result = migrate(str(lib))
    assert result.success, result.errors
    after = v10_content(lib)
    schema_version = after.pop("schema_version")
    before_version = before.pop("schema_version")
    assert after == before
    assert [r[1] for r in schema_version][:len(before_version)] == [r[1] for r in before_version]


def test_unknown_extra_table_survives_identical(make_library):
    lib = make_library()
    populate(lib)
    schema_before = lib.execute("SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE tbl_name = 'user_notes'")
    rows_before = lib.execute("SELECT rowid, *, typeof(data), hex(data), typeof(misc) FROM user_notes ORDER BY rowid")
    assert migrate(str(lib)).success
    assert lib.execute("SELECT type, name, tbl_name, sql FROM sqlite_schema "
                       "WHERE tbl_name = 'user_notes'") == schema_before
    assert lib.execute("SELECT rowid, *, typeof(data), hex(data), typeof(misc) FROM user_notes "
                       "ORDER BY rowid") == rows_before
    assert lib.execute("SELECT * FROM user_notes ORDER BY id") == EXTRA_ROWS


# ---- rule 9 -----------------------------------------------------------------------------

def test_migrate_on_v11_changes_nothing(migrated):
    lib, _ = migrated
    before = lib.dump()
    snapshots_before = sorted(p.name for p in lib.path.parent.glob("library.db.snapshots/*"))
    result = migrate(str(lib))
    assert result.success is True
    assert result.errors == []
    assert [w.code for w in result.warnings] == ["ALREADY_UPGRADED"]
    assert result.version_before == 11 and result.version == 11
    assert (result.captures_created, result.action_items_created, result.audio_sources_created,
            result.recordings_skipped, result.dangling_meeting_refs) == (0, 0, 0, 0, 0)
    assert lib.dump() == before
    assert sorted(p.name for p in lib.path.parent.glob("library.db.snapshots/*")) == snapshots_before


# ---- schema, version, journal mode, counts --------------------------------------------

def canonical_schema_rows() -> tuple[set[str], list[tuple]]:
    conn = apsw.Connection(":memory:")
    try:
        conn.execute(schema.read("v10.sql"))
        conn.execute(schema.read("v11-knowledge-captures.sql"))
        conn.execute(schema.read("v11-indexes.sql"))
        tables = {r[0] for r in conn.execute(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}
        rows = conn.execute("SELECT type, name, tbl_name, sql FROM sqlite_schema "
                            "ORDER BY type, name").fetchall()
        return tables, rows
    finally:
        conn.close()


def test_upgraded_schema_equals_canonical(make_library, journal_mode):
    lib = make_library(journal_mode=journal_mode)
    populate(lib)
    assert lib.journal_mode() == journal_mode
    result = migrate(str(lib))
    assert result.success, result.errors
    assert result.version == 11
    conn = lib.connect()
    try:
        assert completion.missing(conn, spec()) == [] and completion.drift(conn, spec()) == []
    finally:
        conn.close()
    tables, expected = canonical_schema_rows()
    assert {"knowledge_captures", "audio_sources", "action_items", "decisions", "follow_ups",
            "outputs", *V10_TABLES} == tables
    actual = lib.execute("SELECT type, name, tbl_name, sql FROM sqlite_schema ORDER BY type, name")
    assert [r for r in actual if r[2] in tables] == expected
    # the extra table is still there, beside the app's schema
    assert [r[1] for r in actual if r[2] not in tables and r[2] != identity.TABLE] == ["user_notes"]
    assert lib.journal_mode() == journal_mode


def test_schema_version_gains_exactly_one_row_11(make_library, journal_mode):
    lib = make_library(journal_mode=journal_mode)
    populate(lib)
    before = lib.execute("SELECT version, applied_at FROM schema_version ORDER BY version")
    assert [r[0] for r in before] == [10]
    assert migrate(str(lib)).success
    after = lib.execute("SELECT version, applied_at FROM schema_version ORDER BY version")
    assert after[:1] == before
    assert [r[0] for r in after] == [10, 11]
    assert after[1][1] is not None
    assert lib.version() == 11


def test_result_counts_equal_the_file(migrated):
    lib, result = migrated
    counted = {
        "captures": lib.execute("SELECT count(*) FROM knowledge_captures")[0][0],
        "items": lib.execute("SELECT count(*) FROM action_items")[0][0],
        "audio": lib.execute("SELECT count(*) FROM audio_sources")[0][0],
        "skipped": lib.execute("SELECT count(*) FROM recordings WHERE migration_status = 'skipped'")[0][0],
    }
    assert counted == {"captures": len(TRANSCRIBED), "items": N_ITEMS, "audio": len(TRANSCRIBED),
                       "skipped": len(SKIPPED)}
    assert (result.captures_created, result.action_items_created, result.audio_sources_created,
            result.recordings_skipped) == (counted["captures"], counted["items"], counted["audio"],
                                           counted["skipped"])
    assert result.version_before == 10 and result.version == 11 and result.verified is True


def test_empty_library_upgrades(make_library, journal_mode):
    lib = make_library(journal_mode=journal_mode)
    result = migrate(str(lib))
    assert result.success, result.errors
    assert (result.captures_created, result.action_items_created, result.audio_sources_created,
            result.recordings_skipped, result.dangling_meeting_refs) == (0, 0, 0, 0, 0)
    assert lib.version() == 11
    assert lib.journal_mode() == journal_mode
    assert [w.code for w in result.warnings] == []


def test_v11_tables_without_a_v10_source_stay_empty(migrated):
    lib, _ = migrated
    assert [lib.execute(f"SELECT count(*) FROM {t}")[0][0] for t in ("decisions", "follow_ups", "outputs")] == [0, 0, 0]


def test_flags_are_read_as_sqlite_reads_them(make_library):
    values = ["false", "true", "yes", " 2x", "0.0", "abc", "", 0, 1, 2, None, 0.5]
    lib = make_library()
    for i, value in enumerate(values):
        lib.add_recording(f"r{i:02d}", is_imported=value, on_local=value)
        lib.add_transcript(f"t{i:02d}", f"r{i:02d}")
    sqlite_reads = dict(lib.execute("SELECT id, CASE WHEN is_imported THEN 1 ELSE 0 END FROM recordings"))
    assert migrate(str(lib)).success
    got = dict(lib.execute("SELECT k.source_recording_id, a.source_type FROM audio_sources a "
                           "JOIN knowledge_captures k ON k.id = a.knowledge_capture_id"))
    assert got == {rid: "imported" if truth else "device" for rid, truth in sqlite_reads.items()}
    assert set(got.values()) == {"imported", "device"}


def test_many_recordings_across_batches(make_library):
    """More recordings than one insert batch: every one is migrated or skipped, once."""
    n = 1203
    lib = make_library()
    conn = lib.connect()
    try:
        with conn:
            conn.executemany("INSERT INTO recordings (id, filename, date_recorded) VALUES (?, ?, ?)",
                             [(f"r{i:05d}", f"f{i}.wav", "2024-01-01") for i in range(n)])
            conn.executemany("INSERT INTO transcripts (id, recording_id, full_text, action_items) "
                             "VALUES (?, ?, 'x', ?)",
                             [(f"t{i:05d}", f"r{i:05d}", f'["a{i}", "b{i}"]') for i in range(n) if i % 3])
    finally:
        conn.close()
    transcribed = sum(1 for i in range(n) if i % 3)
    result = migrate(str(lib))
    assert result.success, result.errors
    assert (result.captures_created, result.audio_sources_created, result.action_items_created,
            result.recordings_skipped) == (transcribed, transcribed, 2 * transcribed, n - transcribed)
    assert lib.execute("SELECT count(*), count(DISTINCT source_recording_id), count(DISTINCT id) "
                       "FROM knowledge_captures") == [(transcribed, transcribed, transcribed)]
    assert lib.execute("SELECT count(DISTINCT id) FROM action_items") == [(2 * transcribed,)]
    assert lib.execute("SELECT migration_status, count(*) FROM recordings GROUP BY 1 ORDER BY 1") == [
        ("migrated", transcribed), ("skipped", n - transcribed)]
    assert lib.execute("SELECT count(*) FROM action_items i JOIN knowledge_captures k "
                       "ON k.id = i.knowledge_capture_id WHERE i.content NOT IN "
                       "('a' || (substr(k.source_recording_id, 2) + 0), 'b' || (substr(k.source_recording_id, 2) + 0))") == [(0,)]
