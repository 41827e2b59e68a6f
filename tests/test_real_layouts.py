"""The real-layout generator (tests/real_layouts.py) on its own: each file is what the guide says users have.

Upgrade tests will trust these files to be the real thing, so every claim the generator makes about a
layout (schema drift, leftover migration state, invalid UTF-8, the `expected` counts) is checked here by
reading the written file back with apsw, without the engine. Text is read as `CAST(... AS BLOB)`:
the surrogates layout holds values apsw cannot decode.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import apsw
import pytest

from tests.real_layouts import LAYOUTS, MIN_RECORDINGS, Built, build

SQL = Path(__file__).resolve().parents[1] / "sql"
VERSION = {"app_v10": 10, "surrogates": 10, "own_drift": 10, "v11_name_only": 11, "half_done": 11}
V10_EXTRA_TABLES = {"transcription_queue", "chat_messages", "synced_files", "contacts", "projects", "meeting_contacts",
                    "meeting_projects", "recording_meeting_candidates", "device_file_cache", "quality_assessments"}
V11_TABLES = {"knowledge_captures", "audio_sources", "action_items", "decisions", "follow_ups", "outputs"}
LONE_SURROGATE = re.compile(rb"\xed[\xa0-\xbf][\x80-\xbf]")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Built]:
    """Every layout at the default size, built once for the module."""
    folder = tmp_path_factory.mktemp("layouts")
    return {layout: build(folder / f"{layout}.db", layout) for layout in LAYOUTS}


def connect(path: Path) -> apsw.Connection:
    return apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)


def rows(path: Path, sql: str, params: tuple = ()) -> list[tuple]:
    conn = connect(path)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def columns(path: Path, table: str) -> list[str]:
    return [r[1] for r in rows(path, f"PRAGMA table_info({table})")]


def tables(path: Path) -> set[str]:
    return {r[0] for r in rows(
        path, "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")}


def explicit_indexes(path: Path) -> dict[str, tuple[str, str]]:
    """name -> (table, first column) of every index written by CREATE INDEX."""
    found = {}
    for name, table in rows(path, "SELECT name, tbl_name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL"):
        found[name] = (table, rows(path, f"PRAGMA index_info({name})")[0][2])
    return found


def is_utf8(value: bytes | None) -> bool:
    try:
        value is None or value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def dump(path: Path) -> dict[str, list]:
    """Schema and every table's rows as (typeof, bytes) pairs, sorted: the file's logical content."""
    out: dict[str, list] = {"__schema__": rows(
        path, "SELECT type, name, tbl_name, CAST(sql AS BLOB) FROM sqlite_schema ORDER BY type, name")}
    for name in sorted(tables(path)):
        select = ", ".join(f'typeof("{c}"), CAST("{c}" AS BLOB)' for c in columns(path, name))
        out[name] = sorted(rows(path, f'SELECT {select} FROM "{name}"'), key=repr)
    return out


def canonical_v10_columns() -> dict[str, list[str]]:
    conn = apsw.Connection(":memory:")
    conn.execute((SQL / "v10.sql").read_text(encoding="utf-8"))
    return {t: [r[1] for r in conn.execute(f"PRAGMA table_info({t})")]
            for t in ("meetings", "recordings", "transcripts")}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_file_is_sound_rollback_journal_and_versioned(built: dict[str, Built], layout: str) -> None:
    """Users' files are rollback-journal, 4096-byte pages, one schema_version row per step."""
    b = built[layout]
    assert rows(b.path, "PRAGMA integrity_check") == [("ok",)]
    assert rows(b.path, "PRAGMA journal_mode") == [("delete",)]
    assert b.path.read_bytes()[18:20] == b"\x01\x01"  # header: legacy (rollback) read/write versions, not WAL
    assert rows(b.path, "PRAGMA page_size") == [(4096,)]
    assert rows(b.path, "SELECT version FROM schema_version ORDER BY version") == \
        [(v,) for v in range(1, VERSION[layout] + 1)]
    assert not [p for p in b.path.parent.iterdir() if p.name.startswith(b.path.name + "-")]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_expected_counts_partition_the_recordings(built: dict[str, Built], layout: str) -> None:
    """Each recording is in exactly one group, and the counts agree with what the file holds."""
    b = built[layout]
    ids = b.expected["ids"]
    groups = ("eligible", "adopted", "already_done", "untranscribed")
    assert sum(b.expected[g] for g in groups) == b.recordings
    all_ids = [r[0] for r in rows(b.path, "SELECT id FROM recordings ORDER BY id")]
    assert sorted(i for g in groups for i in ids[g]) == all_ids
    assert all(len(ids[g]) == b.expected[g] for g in groups)
    assert b.transcribed == rows(b.path, "SELECT count(*) FROM transcripts")[0][0]
    assert b.expected["untranscribed"] == b.recordings - b.transcribed
    assert 0 < b.expected["untranscribed"] < b.recordings / 4  # about one in six
    assert (b.undecodable_recordings > 0) == (layout == "surrogates")


def test_app_v10_tables_indexes_and_column_drift(built: dict[str, Built]) -> None:
    """Sixteen tables, 23 indexes, no title_suggestion, ALTERed columns at the end of their tables."""
    path = built["app_v10"].path
    v10 = {"meetings", "recordings", "transcripts", "embeddings", "config", "schema_version"}
    assert tables(path) == v10 | V10_EXTRA_TABLES
    indexes = explicit_indexes(path)
    assert len(indexes) == 23
    named = {("recordings", "date_recorded"), ("recordings", "meeting_id"), ("transcripts", "recording_id")}
    assert named <= set(indexes.values())
    assert not {"title_suggestion", "question_suggestions"} & set(columns(path, "transcripts"))
    recs = columns(path, "recordings")
    assert recs[-1] == "storage_tier"
    after = recs.index("device_last_seen") + 1
    assert recs[after:after + 3] == ["on_local", "source", "is_imported"]
    sql = rows(path, "SELECT sql FROM sqlite_schema WHERE name = 'recordings'")[0][0]
    assert "CHECK (storage_tier IN (NULL, 'hot', 'warm', 'cold', 'archive'))" in sql
    canonical = canonical_v10_columns()
    moved = [t for t, cols in canonical.items()
             if [c for c in columns(path, t) if c in cols] != [c for c in cols if c in columns(path, t)]]
    assert moved  # a comparison by column position would fail


def test_app_v10_values_look_like_the_app_wrote_them(built: dict[str, Built]) -> None:
    """Device filenames, Windows paths or NULL, ISO dates with milliseconds, deleted meetings, messy action items."""
    path = built["app_v10"].path
    recs = rows(path, "SELECT filename, file_path, date_recorded, meeting_id IN (SELECT id FROM meetings) "
                      "FROM recordings")
    assert sum(bool(re.fullmatch(r"\d{4}[A-Z][a-z]{2}\d{2}-\d{6}-Rec\d+\.hda", r[0])) for r in recs) > len(recs) / 2
    assert all(r[1] is None or r[1].startswith("C:\\Users\\") and r[1].endswith("\\recordings\\" + r[0]) for r in recs)
    assert {r[1] is None for r in recs} == {True, False}
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r[2]) for r in recs)
    assert 0 in {r[3] for r in recs}  # a meeting_id naming a deleted meeting
    kinds = set()
    for (text,) in rows(path, "SELECT action_items FROM transcripts"):
        try:
            value = json.loads(text) if text is not None else None
        except ValueError:
            kinds.add("text")
            continue
        kinds.add("null" if value is None else "empty" if value == [] else
                  "objects" if any(isinstance(v, dict) for v in value) else "strings")
    assert kinds == {"strings", "objects", "empty", "null", "text"}
    assert not V11_TABLES & tables(path)


def test_v11_name_only_has_the_earlier_script_and_no_data(built: dict[str, Built]) -> None:
    """Migration columns after storage_tier, no category/status, other index names, nothing migrated."""
    path = built["v11_name_only"].path
    assert V11_TABLES <= tables(path)
    assert not {"category", "status"} & set(columns(path, "knowledge_captures"))
    assert columns(path, "recordings")[-4:] == \
        ["storage_tier", "migrated_to_capture_id", "migration_status", "migrated_at"]
    names = set(explicit_indexes(path))
    canonical = set(re.findall(r"CREATE INDEX (\w+)", (SQL / "v11-indexes.sql").read_text(encoding="utf-8")))
    assert {"idx_action_items_capture_id", "idx_knowledge_captures_source_recording",
            "idx_recordings_migrated_capture"} <= names
    assert names & canonical and canonical - names
    assert {r[0] for r in rows(path, "SELECT migration_status FROM recordings")} == {"pending", None}
    assert rows(path, "SELECT count(*) FROM knowledge_captures") == [(0,)]
    same = ", ".join(columns(built["app_v10"].path, "recordings"))
    assert rows(path, f"SELECT {same} FROM recordings ORDER BY id") == \
        rows(built["app_v10"].path, f"SELECT {same} FROM recordings ORDER BY id")


def test_half_done_leftovers_of_the_stopped_migration(built: dict[str, Built]) -> None:
    """Migrated, error and pending recordings; captures naming pending recordings; a dangling migration."""
    b = built["half_done"]
    statuses = {r[0] for r in rows(b.path, "SELECT migration_status FROM recordings")}
    assert {"migrated", "error", "pending"} <= statuses
    named = rows(b.path, """SELECT r.id, count(*), min(k.created_at) <> max(k.created_at) FROM recordings r
        JOIN knowledge_captures k ON k.source_recording_id = r.id WHERE r.migration_status = 'pending' GROUP BY r.id""")
    assert named and sorted(r[0] for r in named) == sorted(b.expected["ids"]["adopted"])
    assert [(n, differ) for _, n, differ in named if n > 1] == [(2, 1)]
    twice = next(r[0] for r in named if r[1] == 2)
    by_age = rows(b.path, "SELECT id FROM knowledge_captures WHERE source_recording_id = ? ORDER BY created_at",
                  (twice,))
    assert b.expected["adopted_captures"][twice] == by_age[0][0] > by_age[1][0]  # oldest wins, though its id is larger
    missing = rows(b.path, """SELECT id FROM recordings WHERE migration_status = 'migrated'
        AND migrated_to_capture_id NOT IN (SELECT id FROM knowledge_captures)""")
    assert len(missing) == 1 and missing[0][0] in b.expected["ids"]["eligible"]
    migrated = rows(b.path, "SELECT count(*) FROM recordings WHERE migration_status = 'migrated'")[0][0]
    assert b.expected["already_done"] == migrated - 1
    for title, filename, captured, recorded, items, raw in rows(b.path, """
            SELECT k.title, r.filename, k.captured_at, r.date_recorded,
                   (SELECT count(*) FROM action_items a WHERE a.knowledge_capture_id = k.id), t.action_items
            FROM knowledge_captures k JOIN recordings r ON r.id = k.source_recording_id
            JOIN transcripts t ON t.recording_id = r.id"""):
        assert (title, captured) == ("Recording: " + filename, recorded)
        assert items == len(json.loads(raw) if raw else [])


SURROGATE_KINDS = {  # kind -> (table, column, condition)
    "full text": ("transcripts", "full_text", ""),
    "summary": ("transcripts", "summary", ""),
    "action items, JSON": ("transcripts", "action_items", "WHERE substr(CAST(action_items AS BLOB), 1, 1) = X'5B'"),
    "action items, plain": ("transcripts", "action_items", "WHERE substr(CAST(action_items AS BLOB), 1, 1) <> X'5B'"),
    "filename (the title)": ("recordings", "filename", ""),
    "file path": ("recordings", "file_path", ""),
    "meeting subject": ("meetings", "subject", ""),
    "config value": ("config", "value", ""),
    "chat message": ("chat_messages", "content", ""),
    "contact name": ("contacts", "name", ""),
    "embedding chunk": ("embeddings", "chunk_text", ""),
}


@pytest.mark.parametrize("kind", SURROGATE_KINDS)
def test_surrogates_store_invalid_utf8_as_text(built: dict[str, Built], kind: str) -> None:
    """Each kind of text column holds at least one TEXT value with a lone surrogate (not UTF-8)."""
    table, column, where = SURROGATE_KINDS[kind]
    values = rows(built["surrogates"].path, f"SELECT typeof({column}), CAST({column} AS BLOB) FROM {table} {where}")
    poisoned = [v for t, v in values if t == "text" and not is_utf8(v)]
    assert poisoned and all(LONE_SURROGATE.search(v) for v in poisoned)
    clean = rows(built["app_v10"].path, f"SELECT CAST({column} AS BLOB) FROM {table}")
    assert all(is_utf8(v) for (v,) in clean)


def test_surrogates_undecodable_counts_only_data_pass_inputs(built: dict[str, Built]) -> None:
    """apsw cannot read the values; a bad full text alone does not make a recording undecodable."""
    b = built["surrogates"]
    conn = connect(b.path)
    try:
        with pytest.raises(UnicodeDecodeError):
            conn.execute("SELECT summary FROM transcripts").fetchall()
    finally:
        conn.close()
    text_cols = [f"CAST({a}.{c} AS BLOB)" for a, t in (("r", "recordings"), ("t", "transcripts"))
                 for c, kind in rows(b.path, f"SELECT name, type FROM pragma_table_info('{t}')") if kind == "TEXT"]
    anywhere = sum(not all(map(is_utf8, r)) for r in rows(
        b.path, f"SELECT {', '.join(text_cols)} FROM recordings r JOIN transcripts t ON t.recording_id = r.id"))
    assert 0 < b.undecodable_recordings < anywhere


def test_own_drift_objects_the_guide_does_not_name(built: dict[str, Built]) -> None:
    """Other column order, extra and missing columns, a view, a firing trigger, a WITHOUT ROWID table."""
    b = built["own_drift"]
    recs, trs = columns(b.path, "recordings"), columns(b.path, "transcripts")
    assert "favourite" in recs and not {"correlation_method", "duration_seconds"} & set(recs)
    assert recs[:3] == ["id", "date_recorded", "filename"] != canonical_v10_columns()["recordings"][:3]
    assert "summary" not in trs and "edited_text" in trs and "action_items" in trs
    assert rows(b.path, "SELECT count(*) FROM recording_overview") == [(b.recordings,)]
    assert rows(b.path, "SELECT name FROM sqlite_schema WHERE type = 'trigger'") == [("contacts_count_meetings",)]
    assert rows(b.path, "SELECT c.meeting_count, (SELECT count(*) FROM meeting_contacts m WHERE m.contact_id = c.id) "
                        "FROM contacts c WHERE c.meeting_count <> (SELECT count(*) FROM meeting_contacts m "
                        "WHERE m.contact_id = c.id)") == []
    assert sum(r[0] for r in rows(b.path, "SELECT meeting_count FROM contacts")) > 0
    assert rows(b.path, "SELECT wr FROM pragma_table_list WHERE name = 'recording_tags'") == [(1,)]
    assert ("recordings", "CASCADE") in [(r[2], r[6]) for r in rows(b.path, "PRAGMA foreign_key_list(recording_tags)")]
    assert rows(b.path, "SELECT count(*) FROM recording_tags") != [(0,)]
    assert rows(b.path, "SELECT count(DISTINCT applied_at) FROM schema_version") == [(10,)]


@pytest.mark.parametrize("layout", LAYOUTS)
def test_same_arguments_give_the_same_content(tmp_path: Path, layout: str) -> None:
    """Deterministic from (layout, recordings, seed); another seed gives other content."""
    first = build(tmp_path / "a.db", layout, recordings=30, seed=5)
    again = build(tmp_path / "b.db", layout, recordings=30, seed=5)
    other = build(tmp_path / "c.db", layout, recordings=30, seed=6)
    assert dump(first.path) == dump(again.path)
    assert first.expected == again.expected and first.undecodable_recordings == again.undecodable_recordings
    assert dump(first.path) != dump(other.path)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("size, seed", [(MIN_RECORDINGS, 3), (250, 11)])
def test_other_sizes_and_seeds(tmp_path: Path, layout: str, size: int, seed: int) -> None:
    """The smallest and a larger library still hold every case of their layout."""
    b = build(tmp_path / "lib.db", layout, recordings=size, seed=seed)
    assert rows(b.path, "SELECT count(*) FROM recordings") == [(size,)]
    assert sum(b.expected[g] for g in ("eligible", "adopted", "already_done", "untranscribed")) == size
    if layout == "half_done":
        assert b.expected["adopted"] >= 2 and b.expected["already_done"] >= 1 and b.expected["error"] >= 1
        assert b.expected["migrated_to_missing"] == 1
    if layout == "surrogates":
        assert b.undecodable_recordings >= 4


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    """Unknown layouts, too-small libraries and existing files are errors, not silent surprises."""
    with pytest.raises(ValueError):
        build(tmp_path / "x.db", "app_v12")
    with pytest.raises(ValueError):
        build(tmp_path / "x.db", "half_done", recordings=MIN_RECORDINGS - 1)
    (tmp_path / "x.db").write_bytes(b"")
    with pytest.raises(FileExistsError):
        build(tmp_path / "x.db", "app_v10")
