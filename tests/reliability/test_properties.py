"""Property tests: random V10 libraries (action items in every shape, unicode, huge text,
NULLs, dangling references, duplicates, orphans), with random drift as users' files have
it: optional columns dropped, columns reordered, extra columns, an extra table with a
foreign key into ours, and text that is not UTF-8 (a lone surrogate's bytes).

- migrate succeeds and the data rules hold: exactly the rows `app.engine.steps.v11.rules` (the
  documented reference) makes from each source row, plus invariants that need no rules;
- rollback gives back the original, logically identical;
- migrate twice: the second run changes nothing at all;
- cleanup leaves nothing to clean and a second cleanup changes nothing.
"""

from __future__ import annotations

import json
import random
import tempfile
from pathlib import Path

import apsw
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.engine import completion
from app.engine.steps.v11 import rules
from app.engine.cleanup import preview_cleanup, run_cleanup
from app.engine.migrate import migrate
from app.engine.rollback import rollback
from tests.conftest import build_v10
from tests.reliability import checker
from tests.rules_checker import AUDIO, CAPTURE, ITEM, expected_rows as rules_rows, stored, t
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


OPTIONAL = {"recordings": ("file_path", "file_size", "duration_seconds", "meeting_id", "correlation_confidence",
                           "correlation_method", "on_local", "is_imported"),
            "transcripts": ("title_suggestion", "summary", "action_items")}


class Bad(bytes):
    """Text that is not UTF-8: stored through CAST(? AS TEXT)."""


def undecodable(draw, value: object) -> object:
    """Sometimes `value` with a lone surrogate's bytes (ED A0 80) added, as the app wrote them."""
    if isinstance(value, str) and draw(st.integers(0, 9)) == 0:
        return Bad(value.encode() + b"\xed\xa0\x80")
    return value


@st.composite
def drifts(draw) -> dict:
    return dict(
        drop={table: draw(st.sets(st.sampled_from(cols), max_size=3)) for table, cols in OPTIONAL.items()},
        order={table: draw(st.randoms(use_true_random=False)).random() for table in OPTIONAL},
        extra_column=draw(st.booleans()), extra_table=draw(st.booleans()))


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
            id=undecodable(draw, f"r{i}{suffix}"),
            filename=undecodable(draw, draw(st.one_of(st.sampled_from(names), odd_text.filter(bool)))),
            file_path=undecodable(draw, draw(st.one_of(st.none(), odd_text))),
            file_size=draw(st.one_of(st.none(), st.integers(0, 2**40))),
            duration_seconds=draw(st.one_of(st.none(), st.floats(0, 1e5))),
            date_recorded=undecodable(draw, draw(st.sampled_from(["2024-01-01 09:00:00", "2024-01-01T09:00",
                                                                  "2023-12-31", "garbage", "", "2024-02-30 25:61:00"]))),
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
                summary=undecodable(draw, draw(st.one_of(st.none(), odd_text))),
                title_suggestion=undecodable(draw, draw(st.one_of(st.none(), odd_text))),
                action_items=undecodable(draw, draw(action_items()))))
    for j in range(draw(st.integers(0, 2))):  # orphans: their recording is gone
        transcripts.append(dict(id=f"orphan{j}", recording_id=f"deleted{j}", full_text="x", summary=None,
                                title_suggestion=None, action_items=draw(action_items())))
    return dict(meetings=meetings, recordings=recordings, transcripts=transcripts,
                mode=draw(st.sampled_from(["wal", "delete"])), drift=draw(drifts()))


def _drifted(conn: apsw.Connection, table: str, drift: dict) -> None:
    """Make `table` (empty) as a drifted file has it: optional columns dropped, the rest
    in another order, maybe one more column."""
    sql = conn.execute("SELECT sql FROM sqlite_schema WHERE name = ?", (table,)).fetchone()[0]
    keep = [d for name, d in completion.column_definitions(sql).items() if name not in drift["drop"][table]]
    random.Random(drift["order"][table]).shuffle(keep)
    if drift["extra_column"]:
        keep.append("user_note TEXT DEFAULT 'mine'")
    conn.execute(f"DROP TABLE {table}")
    conn.execute(f"CREATE TABLE {table} ({', '.join(keep)})")


def _insert(conn: apsw.Connection, table: str, row: dict, drop: set[str]) -> None:
    cols = [k for k in row if k not in drop]
    marks = ", ".join("CAST(? AS TEXT)" if isinstance(row[k], Bad) else "?" for k in cols)
    conn.execute(f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})",
                 tuple(bytes(row[k]) if isinstance(row[k], Bad) else row[k] for k in cols))


def build(folder: Path, spec: dict) -> Path:
    path = folder / "library.db"
    lib = build_v10(path, spec["mode"])
    drift = spec["drift"]
    conn = lib.connect()
    try:
        with conn:
            for table in OPTIONAL:
                _drifted(conn, table, drift)
            if drift["extra_table"]:
                conn.execute("CREATE TABLE user_tags (tag TEXT, recording_id TEXT REFERENCES recordings(id) "
                             "ON DELETE CASCADE, PRIMARY KEY (tag, recording_id)) WITHOUT ROWID")
            for m in spec["meetings"]:
                conn.execute("INSERT INTO meetings (id, subject, start_time, end_time) VALUES (?, 's', 'a', 'b')", (m,))
            for r in spec["recordings"]:
                _insert(conn, "recordings", {k: v for k, v in r.items() if v is not None or k != "created_at"},
                        drift["drop"]["recordings"])
                if drift["extra_table"]:
                    _insert(conn, "user_tags", {"tag": "t", "recording_id": r["id"]}, set())
            for t_row in spec["transcripts"]:
                _insert(conn, "transcripts", t_row, drift["drop"]["transcripts"])
    finally:
        conn.close()
    return path


# ---- the expected rows -----------------------------------------------------------------

def _source(row: dict, drop: set[str]) -> dict:
    return {k: None if k in drop else stored(v) for k, v in row.items()}


def expected_rows(spec: dict) -> tuple[set, set, set]:
    meetings = set(spec["meetings"])
    drop = spec["drift"]["drop"]
    by_recording = {stored(t_row["recording_id"]): t_row for t_row in spec["transcripts"]}
    captures, audio, items = set(), set(), set()
    for r in spec["recordings"]:
        t_row = by_recording.get(stored(r["id"]))
        if t_row is None:
            continue
        source = {k: v for k, v in _source(r, drop["recordings"]).items() if k in rules.Source._fields}
        source.update({k: v for k, v in _source(t_row, drop["transcripts"]).items()
                       if k in ("title_suggestion", "summary", "action_items")})
        source = {**dict.fromkeys(rules.Source._fields), **source}
        source["meeting_exists"] = int("meeting_id" not in drop["recordings"] and r["meeting_id"] in meetings)
        capture, audio_source, made_items = rules_rows(source)
        captures.add(capture)
        audio.add(audio_source)
        items |= made_items
    return captures, audio, items


def rows(conn: apsw.Connection, table: str, columns: tuple[str, ...]) -> set:
    return set(conn.execute(f"SELECT {', '.join(map(t, columns))} FROM {table}").fetchall())


def check_rules(path: Path, spec: dict) -> None:
    captures, audio, items = expected_rows(spec)
    conn = checker._open(path)
    try:
        assert rows(conn, "knowledge_captures", CAPTURE) == captures
        assert rows(conn, "audio_sources", AUDIO) == audio
        assert rows(conn, "action_items", ITEM) == items
        # invariants that need no rules
        transcribed = {stored(t_row["recording_id"]) for t_row in spec["transcripts"]}
        status = dict(conn.execute(f"SELECT {t('id')}, migration_status FROM recordings").fetchall())
        assert status == {stored(r["id"]): "migrated" if stored(r["id"]) in transcribed else "skipped"
                          for r in spec["recordings"]}
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


def v10_unchanged(before: checker.Dump, path: Path) -> None:
    """The tables that were there keep every row and every column exactly (the upgrade
    only appends columns and tables)."""
    now = checker.dump(path)
    for table, content in before.items():
        if table in ("__schema__", "schema_version"):
            continue
        columns, old_rows = content
        new_columns, new_rows = now[table]
        assert new_columns[:len(columns)] == columns, table
        assert [row[:len(columns)] for row in new_rows] == old_rows, table


# ---- the properties ------------------------------------------------------------------------

@SETTINGS
@given(spec=libraries())
def test_migrate_follows_the_rules_rollback_restores_and_twice_changes_nothing(spec: dict) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = build(Path(folder), spec)
        original = checker.dump(path)

        result = migrate(str(path))
        assert result.success, result.errors
        assert result.version == 11
        check_rules(path, spec)
        v10_unchanged(original, path)
        upgraded = checker.dump(path)

        again = migrate(str(path))  # migrate twice: nothing changes, not even a timestamp
        assert again.success and [w.code for w in again.warnings] == ["ALREADY_UPGRADED"]
        assert checker.dump(path) == upgraded

        back = rollback(str(path))
        assert back.success, back.errors
        assert checker.dump(path) == original
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
        cleaned = checker.dump(path)
        again = run_cleanup(str(path))
        assert again.success and [w.code for w in again.warnings] == ["NOTHING_TO_CLEAN"]
        assert checker.dump(path) == cleaned
        # and the cleaned library still upgrades by the rules
        assert migrate(str(path)).success
        assert checker.integrity(path) == []
    tally("property examples: cleanup / twice / upgrade after")
