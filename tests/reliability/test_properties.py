"""Property tests: random V10 libraries (action items in every shape, unicode, huge text,
NULLs, dangling references, duplicates, orphans).

- migrate succeeds and the data rules hold: exactly the rows `app.engine.steps.v11.rules` (the
  documented reference) makes from each source row, plus invariants that need no rules;
- rollback gives back the original, logically identical;
- migrate twice: the second run changes nothing at all;
- cleanup leaves nothing to clean and a second cleanup changes nothing.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import apsw
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.engine.steps.v11 import rules
from app.engine.cleanup import preview_cleanup, run_cleanup
from app.engine.migrate import migrate
from app.engine.rollback import rollback
from tests.conftest import build_v10, logical_dump
from tests.reliability import checker
from tests.reliability.conftest import FULL
from tests.reliability.scenarios import tally

EXAMPLES = 500 if FULL else 100
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=not FULL,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])

# ---- strategies ------------------------------------------------------------------------

text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=24)
odd_text = st.one_of(text, st.sampled_from(["", " ", "\t\n", "Zoë ✓", "東京チーム", "🚀🎉", "a\u200bb",
                                            "NULL", "null", "'", '"', "\\", "%20", "C:\\x\\y.wav"]))
json_scalar = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6),
                        st.floats(allow_nan=False, allow_infinity=False), odd_text)
TEXT_KEYS = ("text", "description", "task", "action", "title")
OTHER_KEYS = ("assignee", "owner", "assigned_to", "due_date", "deadline", "due", "priority", "status",
              "done", "extra")
item_object = st.dictionaries(
    st.sampled_from(TEXT_KEYS + OTHER_KEYS),
    st.one_of(json_scalar, st.sampled_from(["High", "low", "URGENT", "critical", "normal", "done",
                                            "in_progress", "Canceled", "complete"]),
              st.lists(json_scalar, max_size=2)),
    max_size=5)
element = st.one_of(odd_text, item_object, json_scalar, st.lists(json_scalar, max_size=3))
json_value = st.one_of(st.lists(element, max_size=6), element)


@st.composite
def action_items(draw) -> str | None:
    kind = draw(st.sampled_from(["json", "json", "json", "bullets", "null", "blank", "invalid", "json5",
                                 "nan", "huge", "deep"]))
    if kind == "json":
        return json.dumps(draw(json_value), ensure_ascii=draw(st.booleans()))
    if kind == "bullets":
        lines = draw(st.lists(st.tuples(st.sampled_from(["- ", "* ", "• ", "1. ", "2) ", "", "  "]), odd_text),
                              max_size=6))
        return "\n".join(b + t for b, t in lines)
    if kind == "null":
        return None
    if kind == "blank":
        return draw(st.sampled_from(["", " ", "\n\t"]))
    if kind == "invalid":
        return draw(st.sampled_from(["[1,", "{'task': 'x'}", "[\"a\" \"b\"]", "{", "]"]))
    if kind == "json5":
        return "['call Zoë', 'book room',]"
    if kind == "nan":
        return draw(st.sampled_from(["NaN", "[NaN, 1]", "Infinity", "[\"a\", -Infinity]"]))
    if kind == "huge":
        return json.dumps(["x" * draw(st.integers(50_000, 300_000)), "small"])
    return "[" * 300 + "\"deep\"" + "]" * 300


@st.composite
def libraries(draw) -> dict:
    n_meetings = draw(st.integers(0, 4))
    meetings = [f"m{i}" for i in range(n_meetings)]
    n = draw(st.integers(0, 10))
    names = ["REC1.WAV", "rec1.wav", "Zoë — 1:1.m4a", "a/b/c.mp3", "C:\\Users\\z\\x.wav", "noext", ".wav"]
    recordings = []
    for i in range(n):
        suffix = draw(st.sampled_from(["", "-é", "-東京", " sp", "'q"]))
        recordings.append(dict(
            id=f"r{i}{suffix}",
            filename=draw(st.one_of(st.sampled_from(names), odd_text.filter(bool))),
            file_path=draw(st.one_of(st.none(), odd_text)),
            file_size=draw(st.one_of(st.none(), st.integers(0, 2**40))),
            duration_seconds=draw(st.one_of(st.none(), st.floats(0, 1e5))),
            date_recorded=draw(st.sampled_from(["2024-01-01 09:00:00", "2024-01-01T09:00", "2023-12-31",
                                                "garbage", "", "2024-02-30 25:61:00"])),
            created_at=draw(st.sampled_from(["2024-01-01 00:00:00", "2024-01-01T00:00:00Z", None])),
            meeting_id=draw(st.one_of(st.none(), st.sampled_from(meetings or ["gone"]), st.just("gone"))),
            correlation_confidence=draw(st.one_of(st.none(), st.floats(0, 1))),
            correlation_method=draw(st.one_of(st.none(), st.sampled_from(["time", "manual"]))),
            on_local=draw(st.sampled_from([None, 0, 1, 2, "1", "0", "true", "", 0.5])),
            is_imported=draw(st.sampled_from([None, 0, 1, "yes", "1"])),
        ))
    transcripts = []
    for i, rec in enumerate(recordings):
        if draw(st.booleans()) or draw(st.booleans()):
            transcripts.append(dict(
                id=f"t{i}", recording_id=rec["id"], full_text=draw(st.one_of(odd_text, st.just("x" * 5000))),
                summary=draw(st.one_of(st.none(), odd_text)),
                title_suggestion=draw(st.one_of(st.none(), odd_text)),
                action_items=draw(action_items())))
    for j in range(draw(st.integers(0, 2))):  # orphans: their recording is gone
        transcripts.append(dict(id=f"orphan{j}", recording_id=f"deleted{j}", full_text="x", summary=None,
                                title_suggestion=None, action_items=draw(action_items())))
    return dict(meetings=meetings, recordings=recordings, transcripts=transcripts,
                mode=draw(st.sampled_from(["wal", "delete"])))


def build(folder: Path, spec: dict) -> Path:
    path = folder / "library.db"
    lib = build_v10(path, spec["mode"])
    conn = lib.connect()
    try:
        with conn:
            for m in spec["meetings"]:
                conn.execute("INSERT INTO meetings (id, subject, start_time, end_time) VALUES (?, 's', 'a', 'b')", (m,))
            for r in spec["recordings"]:
                cols = [k for k in r if r[k] is not None or k not in ("created_at",)]
                conn.execute(f"INSERT INTO recordings ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                             tuple(r[k] for k in cols))
            for t in spec["transcripts"]:
                conn.execute(f"INSERT INTO transcripts ({', '.join(t)}) VALUES ({', '.join('?' * len(t))})",
                             tuple(t.values()))
    finally:
        conn.close()
    return path


# ---- the expected rows -----------------------------------------------------------------

CAPTURE_COLUMNS = "id, title, summary, meeting_id, correlation_confidence, correlation_method, source_recording_id, captured_at"
AUDIO_COLUMNS = "id, knowledge_capture_id, source_type, local_path, file_name, file_size, duration_seconds, format"
ITEM_COLUMNS = "id, knowledge_capture_id, content, assignee, due_date, priority, status, extracted_from"


def expected_rows(spec: dict) -> tuple[set, set, set]:
    meetings = set(spec["meetings"])
    by_recording = {t["recording_id"]: t for t in spec["transcripts"]}
    captures, audio, items = set(), set(), set()
    for r in spec["recordings"]:
        t = by_recording.get(r["id"])
        if t is None:
            continue
        fields = {**{k: r.get(k) for k in rules.Source._fields}, **{k: t[k] for k in
                  ("title_suggestion", "summary", "action_items")}}
        fields["meeting_exists"] = int(r["meeting_id"] in meetings)
        made = rules.rows_for_recording(rules.Source(**fields))
        captures.add(made.capture)
        audio.add(made.audio_source)
        items |= set(made.action_items)
    return captures, audio, items


def rows(conn: apsw.Connection, sql: str) -> set:
    return set(conn.execute(sql).fetchall())


def check_rules(path: Path, spec: dict) -> None:
    captures, audio, items = expected_rows(spec)
    conn = checker._open(path)
    try:
        assert rows(conn, f"SELECT {CAPTURE_COLUMNS} FROM knowledge_captures") == captures
        assert rows(conn, f"SELECT {AUDIO_COLUMNS} FROM audio_sources") == audio
        assert rows(conn, f"SELECT {ITEM_COLUMNS} FROM action_items") == items
        # invariants that need no rules
        transcribed = {t["recording_id"] for t in spec["transcripts"]}
        status = dict(conn.execute("SELECT id, migration_status FROM recordings").fetchall())
        assert status == {r["id"]: "migrated" if r["id"] in transcribed else "skipped" for r in spec["recordings"]}
        assert conn.execute("SELECT count(*) FROM recordings r LEFT JOIN knowledge_captures k "
                            "ON k.id = r.migrated_to_capture_id WHERE r.migration_status = 'migrated' "
                            "AND (k.id IS NULL OR k.source_recording_id <> r.id)").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM action_items WHERE trim(content) = '' OR content IS NULL "
                            "OR priority NOT IN ('low','medium','high','urgent') "
                            "OR status NOT IN ('pending','in_progress','completed','cancelled')").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM knowledge_captures k WHERE k.meeting_id IS NOT NULL AND "
                            "NOT EXISTS (SELECT 1 FROM meetings m WHERE m.id = k.meeting_id)").fetchone()[0] == 0
        for table in ("knowledge_captures", "audio_sources", "action_items"):
            assert conn.execute(f"PRAGMA foreign_key_check({table})").fetchall() == []
    finally:
        conn.close()


def v10_unchanged(before: dict, path: Path) -> None:
    """The V10 tables keep every row and every V10 column exactly (V11 only appends)."""
    conn = checker._open(path)
    try:
        for table in ("meetings", "transcripts", "embeddings", "config", "recordings"):
            now = conn.execute(f"SELECT * FROM {table} ORDER BY rowid").fetchall()
            assert [row[:len(old)] for row, old in zip(now, before[table])] == before[table]
            assert len(now) == len(before[table])
    finally:
        conn.close()


# ---- the properties ------------------------------------------------------------------------

@SETTINGS
@given(spec=libraries())
def test_migrate_follows_the_rules_rollback_restores_and_twice_changes_nothing(spec: dict) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = build(Path(folder), spec)
        original = logical_dump(path)

        result = migrate(str(path))
        assert result.success, result.errors
        assert result.version == 11
        check_rules(path, spec)
        v10_unchanged(original, path)
        upgraded = logical_dump(path)

        again = migrate(str(path))  # migrate twice: nothing changes, not even a timestamp
        assert again.success and [w.code for w in again.warnings] == ["ALREADY_UPGRADED"]
        assert logical_dump(path) == upgraded

        back = rollback(str(path))
        assert back.success, back.errors
        assert logical_dump(path) == original
        assert checker.integrity(path) == []
    tally("property examples: migrate / rules / twice / rollback")


@SETTINGS
@given(spec=libraries())
def test_cleanup_leaves_nothing_to_clean_and_twice_changes_nothing(spec: dict) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = build(Path(folder), spec)
        result = run_cleanup(str(path))
        assert result.success, result.errors
        preview = preview_cleanup(str(path))
        assert (preview.orphaned_transcripts.count, preview.duplicate_recordings.count,
                preview.invalid_meeting_refs.count) == (0, 0, 0)
        cleaned = logical_dump(path)
        again = run_cleanup(str(path))
        assert again.success and [w.code for w in again.warnings] == ["NOTHING_TO_CLEAN"]
        assert logical_dump(path) == cleaned
        # and the cleaned library still upgrades by the rules
        assert migrate(str(path)).success
        assert checker.integrity(path) == []
    tally("property examples: cleanup / twice / upgrade after")
