"""The demo-library generator: real files under tmp_path, read back through apsw."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import apsw
import pytest

from app.engine.steps.v11 import rules
from app.samples.demo import DemoSummary, create_demo_library
from app.engine.errors import InvalidArgument

N = 300


def _open(path: Path) -> apsw.Connection:
    return apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)


def _one(conn: apsw.Connection, sql: str) -> object:
    return conn.execute(sql).fetchone()[0]


def _dump(path: Path) -> dict[str, list[tuple]]:
    conn = _open(path)
    try:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_schema WHERE type='table' ORDER BY name")]
        dump = {n: conn.execute(f'SELECT * FROM "{n}" ORDER BY rowid').fetchall() for n in names}
        dump["__schema__"] = conn.execute("SELECT * FROM sqlite_schema ORDER BY name").fetchall()
        return dump
    finally:
        conn.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, DemoSummary, apsw.Connection]]:
    path = tmp_path_factory.mktemp("demo") / "library.db"
    summary = create_demo_library(str(path), N, seed=7)
    conn = _open(path)
    yield path, summary, conn
    conn.close()


def test_is_a_v10_library_and_intact(built: tuple) -> None:
    _, _, conn = built
    assert _one(conn, "SELECT MAX(version) FROM schema_version") == 10
    assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


def test_summary_matches_the_file(built: tuple) -> None:
    _, summary, conn = built
    queried = DemoSummary(
        recordings=_one(conn, "SELECT count(*) FROM recordings"),
        transcripts=_one(conn, "SELECT count(*) FROM transcripts"),
        meetings=_one(conn, "SELECT count(*) FROM meetings"),
        untranscribed=_one(conn, "SELECT count(*) FROM recordings r WHERE NOT EXISTS "
                                 "(SELECT 1 FROM transcripts t WHERE t.recording_id = r.id)"),
        duplicates=_one(conn, "SELECT count(*) - count(DISTINCT filename) FROM recordings"),
        orphaned_transcripts=_one(conn, "SELECT count(*) FROM transcripts t WHERE NOT EXISTS "
                                        "(SELECT 1 FROM recordings r WHERE r.id = t.recording_id)"),
        dangling_meeting_refs=_one(conn, "SELECT count(*) FROM recordings r WHERE meeting_id IS NOT NULL AND "
                                         "NOT EXISTS (SELECT 1 FROM meetings m WHERE m.id = r.meeting_id)"),
        embeddings=_one(conn, "SELECT count(*) FROM embeddings"),
    )
    assert queried == summary
    assert summary.recordings == N


def test_every_category_is_present(built: tuple) -> None:
    _, summary, conn = built
    assert summary.untranscribed > 0 and summary.duplicates > 0
    assert summary.orphaned_transcripts > 0 and summary.dangling_meeting_refs > 0
    assert summary.embeddings > 0 and summary.meetings > 0
    assert _one(conn, "SELECT count(*) FROM embeddings e WHERE NOT EXISTS "
                      "(SELECT 1 FROM transcripts t WHERE t.id = e.transcript_id)") > 0
    assert _one(conn, "SELECT count(*) FROM user_bookmarks") > 0
    assert _one(conn, "SELECT count(*) FROM config") > 0
    filenames = [r[0] for r in conn.execute("SELECT filename FROM recordings")]
    assert filenames.count(".wav") == 1
    assert any(not f.strip() for f in filenames)
    assert any("/" in f for f in filenames) and any("\\" in f for f in filenames)
    assert any(rules.format_for(f) is None and f.strip() for f in filenames)


def _duplicate_groups(conn: apsw.Connection) -> list[list[tuple[str, bool]]]:
    """Each shared filename's recordings, oldest first, as (id, has a transcript)."""
    rows = conn.execute("""
        SELECT r.filename, r.id, EXISTS (SELECT 1 FROM transcripts t WHERE t.recording_id = r.id)
        FROM recordings r
        WHERE r.filename IN (SELECT filename FROM recordings GROUP BY filename HAVING count(*) > 1)
        ORDER BY r.filename, r.date_recorded, r.created_at, r.id""").fetchall()
    groups: dict[str, list[tuple[str, bool]]] = {}
    for filename, rid, has in rows:
        groups.setdefault(filename, []).append((rid, bool(has)))
    return list(groups.values())


def test_duplicates_include_the_hard_cases(built: tuple) -> None:
    _, _, conn = built
    groups = _duplicate_groups(conn)
    assert groups
    # The oldest has no transcript while a newer duplicate has one.
    assert any(not g[0][1] and any(has for _, has in g[1:]) for g in groups)
    # The oldest is not the smallest id (a keep-the-smallest-id cleanup gets it wrong).
    assert any(g[0][0] != min(rid for rid, _ in g) for g in groups)
    # Some removable duplicates carry a transcript.
    assert any(has for g in groups for _, has in g[1:])


def test_action_items_cover_every_rule_7_shape(built: tuple) -> None:
    _, _, conn = built
    values = [r[0] for r in conn.execute("SELECT action_items FROM transcripts")]
    items = [item for v in values for item in rules.parse_action_items(v)]
    assert {i.priority for i in items} == {"low", "medium", "high", "urgent"}
    assert {i.status for i in items} == {"pending", "in_progress", "completed", "cancelled"}
    assert any(i.assignee for i in items) and any(i.due_date for i in items)
    kinds = {_kind(v) for v in values}
    assert kinds >= {"null", "blank", "empty array", "array", "string", "object", "number", "plain text",
                     "json5"}


def _kind(value: str | None) -> str:
    if value is None:
        return "null"
    if not value.strip():
        return "blank"
    ok, parsed = rules.parse_strict_json(value)
    if not ok:
        try:
            json.loads(value)  # Python's json accepts NaN / Infinity: JSON5-ish, not strict JSON
            return "json5"
        except ValueError:
            return "json5" if value.lstrip()[:1] in "[{" else "plain text"
    if parsed == []:
        return "empty array"
    return {list: "array", str: "string", dict: "object"}.get(type(parsed), "number")


def test_same_seed_same_content_and_other_seed_differs(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.db", tmp_path / "b.db", tmp_path / "c.db"
    create_demo_library(str(a), 60, seed=3)
    create_demo_library(str(b), 60, seed=3)
    create_demo_library(str(c), 60, seed=4)
    assert _dump(a) == _dump(b)
    assert _dump(a) != _dump(c)


@pytest.mark.parametrize("mode", ["wal", "delete"])
def test_journal_mode_and_no_leftovers(tmp_path: Path, mode: str) -> None:
    path = tmp_path / "lib.db"
    create_demo_library(str(path), 40, journal_mode=mode, transcript_bytes=200)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lib.db"]  # no .tmp, -wal, -shm, -journal
    conn = _open(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == mode
    finally:
        conn.close()


def test_small_libraries_still_show_every_category(tmp_path: Path) -> None:
    summary = create_demo_library(str(tmp_path / "small.db"), 20)
    assert min(summary.untranscribed, summary.duplicates, summary.orphaned_transcripts,
               summary.dangling_meeting_refs, summary.embeddings, summary.meetings) >= 1
    assert create_demo_library(str(tmp_path / "one.db"), 1).recordings == 1


def test_transcripts_are_about_the_requested_size(tmp_path: Path) -> None:
    path = tmp_path / "lib.db"
    create_demo_library(str(path), 50, transcript_bytes=3000)
    conn = _open(path)
    try:
        average = _one(conn, "SELECT avg(length(CAST(full_text AS BLOB))) FROM transcripts")
    finally:
        conn.close()
    assert 2400 < average < 3600


def test_refuses_an_existing_file_untouched(tmp_path: Path) -> None:
    path = tmp_path / "lib.db"
    path.write_bytes(b"precious \x00 bytes")
    with pytest.raises(InvalidArgument) as info:
        create_demo_library(str(path), 20)
    assert "already exists" in info.value.message
    assert path.read_bytes() == b"precious \x00 bytes"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lib.db"]


@pytest.mark.parametrize("kwargs", [
    {"recordings": 0}, {"recordings": 2_000_001}, {"recordings": True}, {"recordings": 1.5},
    {"journal_mode": "WAL2"}, {"journal_mode": "memory"}, {"transcript_bytes": -1},
    {"seed": "x"}, {"seed": -1},
])
def test_refuses_bad_arguments(tmp_path: Path, kwargs: dict) -> None:
    with pytest.raises(InvalidArgument):
        create_demo_library(str(tmp_path / "lib.db"), **{"recordings": 20, **kwargs})
    assert list(tmp_path.iterdir()) == []


def test_refuses_a_missing_folder_and_leftover_journals(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument):
        create_demo_library(str(tmp_path / "no" / "such" / "lib.db"), 20)
    assert list(tmp_path.iterdir()) == []
    stale = tmp_path / "lib.db-wal"
    stale.write_bytes(b"stale")
    with pytest.raises(InvalidArgument):
        create_demo_library(str(tmp_path / "lib.db"), 20)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lib.db-wal"]


@pytest.mark.parametrize("mode", ["wal", "delete"])
def test_a_failure_midway_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                mode: str) -> None:
    from app.samples import demo

    real_make = demo._TextMaker.make
    calls = []

    def failing_make(self: demo._TextMaker, r: object) -> tuple[str, int]:
        calls.append(1)
        if len(calls) == 30:  # in the middle of executemany, inside the transaction
            raise RuntimeError("disk on fire")
        return real_make(self, r)

    monkeypatch.setattr(demo._TextMaker, "make", failing_make)
    with pytest.raises(RuntimeError):
        create_demo_library(str(tmp_path / "lib.db"), 60, journal_mode=mode)
    assert list(tmp_path.iterdir()) == []


def test_an_sqlite_error_becomes_an_engine_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.engine import errors
    from app.samples import demo

    def full(*_args: object) -> list[tuple]:
        raise apsw.FullError("database or disk is full")

    monkeypatch.setattr(demo, "_bookmark_rows", full)
    with pytest.raises(errors.DiskFull):
        create_demo_library(str(tmp_path / "lib.db"), 20)
    assert list(tmp_path.iterdir()) == []
