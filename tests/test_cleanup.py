"""cleanup: preview (read only) and run (snapshot, one transaction, no new orphans).

Every test builds a real V10 library file through the conftest fixtures and reads it back
through apsw; nothing is mocked. The run's failure path is provoked for real with a
trigger that aborts the embeddings delete.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.engine import snapshots
from app.engine.snapshots import identity
from app.engine.cleanup import preview_cleanup, run_cleanup
from app.engine.migrate import migrate
from tests.conftest import logical_dump

EXTRA_TABLE = "CREATE TABLE user_notes (id INTEGER PRIMARY KEY, note TEXT NOT NULL)"


# --------------------------------------------------------------------------- helpers

def add_embedding(lib, id: str, transcript_id: str, chunk_index: int = 0) -> None:
    lib.insert("embeddings", id=id, transcript_id=transcript_id, chunk_index=chunk_index,
               chunk_text=f"chunk {id}", embedding=b"\x00\x01\x02")


def snap_dir(lib) -> Path:
    return snapshots.snapshot_dir(str(lib.path))


def snapshot_files(lib) -> list[str]:
    folder = snap_dir(lib)
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def readonly_dump(path: Path) -> dict[str, list[tuple]]:
    """Like Library.dump, but through a read-only connection (for snapshot files)."""
    return logical_dump(path, readonly=True)


def row_counts(dump: dict[str, list[tuple]]) -> dict[str, int]:
    return {t: len(rows) for t, rows in dump.items() if t != "__schema__"}


def ids(lib, table: str) -> set[str]:
    return {r[0] for r in lib.execute(f"SELECT id FROM {table}")}


def recording(lib, id: str) -> tuple | None:
    rows = lib.execute("SELECT * FROM recordings WHERE id = ?", (id,))
    return rows[0] if rows else None


def transcript_of(lib, recording_id: str) -> list[str]:
    return [r[0] for r in lib.execute("SELECT id FROM transcripts WHERE recording_id = ?", (recording_id,))]


def problems_left(lib) -> dict[str, int]:
    """The invariants after a cleanup, counted straight from the file."""
    one = lambda sql: lib.execute(sql)[0][0]  # noqa: E731
    return {
        "transcripts_without_recording": one(
            "SELECT count(*) FROM transcripts t WHERE NOT EXISTS "
            "(SELECT 1 FROM recordings r WHERE r.id = t.recording_id)"),
        "embeddings_without_transcript": one(
            "SELECT count(*) FROM embeddings e WHERE NOT EXISTS "
            "(SELECT 1 FROM transcripts t WHERE t.id = e.transcript_id)"),
        "recordings_with_missing_meeting": one(
            "SELECT count(*) FROM recordings r WHERE r.meeting_id IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM meetings m WHERE m.id = r.meeting_id)"),
        "duplicate_filenames": one(
            "SELECT count(*) FROM (SELECT filename FROM recordings GROUP BY filename HAVING count(*) > 1)"),
    }


CLEAN = {"transcripts_without_recording": 0, "embeddings_without_transcript": 0,
         "recordings_with_missing_meeting": 0, "duplicate_filenames": 0}


def build_messy(lib) -> None:
    """One of everything cleanup fixes, plus data it must leave alone.

    - "a.wav": keeper rec-z (oldest, largest id, no transcript); removed rec-a (transcript
      t-a, created later, 2 embeddings) and rec-b (transcript t-b, created earlier, 1
      embedding) -> t-b moves to rec-z, t-a and its embeddings go.
    - "b.wav": keeper k2 with transcript t-k2; removed d2 with transcript t-d2 -> t-d2 goes.
    - orphans t-orph1 (with an embedding) and t-orph2; a lost embedding e-lost.
    - rec-bad points at a missing meeting; rec-good at an existing one.
    - meetings, config and an unknown table user_notes must stay exactly as they are.
    """
    lib.add_meeting("m1")
    lib.add_meeting("m2", subject="Planning")
    lib.insert("config", key="theme", value="dark", updated_at="2024-01-01 00:00:00")
    lib.insert("config", key="language", value="es", updated_at="2024-01-01 00:00:00")
    lib.execute(EXTRA_TABLE)
    lib.insert("user_notes", id=1, note="keep me")
    lib.insert("user_notes", id=2, note="me too")

    lib.add_recording("rec-a", filename="a.wav", date_recorded="2024-02-01 09:00:00",
                      created_at="2024-02-01 09:05:00")
    lib.add_recording("rec-b", filename="a.wav", date_recorded="2024-03-01 09:00:00",
                      created_at="2024-03-01 09:05:00")
    lib.add_recording("rec-z", filename="a.wav", date_recorded="2024-01-01 09:00:00",
                      created_at="2024-01-01 09:05:00")
    lib.add_transcript("t-a", "rec-a", created_at="2024-03-10 00:00:00", full_text="from a")
    lib.add_transcript("t-b", "rec-b", created_at="2024-03-05 00:00:00", full_text="from b")
    add_embedding(lib, "e-a1", "t-a", 0)
    add_embedding(lib, "e-a2", "t-a", 1)
    add_embedding(lib, "e-b1", "t-b", 0)

    lib.add_recording("k2", filename="b.wav", date_recorded="2024-01-05 09:00:00")
    lib.add_recording("d2", filename="b.wav", date_recorded="2024-01-06 09:00:00")
    lib.add_transcript("t-k2", "k2", created_at="2024-02-01 00:00:00", full_text="keeper's own")
    lib.add_transcript("t-d2", "d2", created_at="2024-01-07 00:00:00", full_text="duplicate's")
    add_embedding(lib, "e-k2", "t-k2")
    add_embedding(lib, "e-d2", "t-d2")

    lib.add_transcript("t-orph1", "gone-1")
    lib.add_transcript("t-orph2", "gone-2")
    add_embedding(lib, "e-orph1", "t-orph1")
    add_embedding(lib, "e-lost", "no-such-transcript")

    lib.add_recording("rec-bad", filename="bad.wav", meeting_id="m-gone",
                      correlation_confidence=0.9, correlation_method="calendar")
    lib.add_recording("rec-good", filename="good.wav", meeting_id="m1",
                      correlation_confidence=0.8, correlation_method="calendar")
    lib.add_transcript("t-good", "rec-good")
    add_embedding(lib, "e-good", "t-good")


# --------------------------------------------------------------------------- preview

def test_preview_counts_and_samples_each_category(make_library, journal_mode):
    lib = make_library(journal_mode=journal_mode)
    build_messy(lib)

    p = preview_cleanup(str(lib.path))

    assert p.success, p.errors
    assert p.orphaned_transcripts.count == 2
    assert p.orphaned_transcripts.sample == [
        {"id": "t-orph1", "recording_id": "gone-1"},
        {"id": "t-orph2", "recording_id": "gone-2"},
    ]
    assert p.duplicate_recordings.count == 3
    dup = {row["id"]: row for row in p.duplicate_recordings.sample}
    assert set(dup) == {"rec-a", "rec-b", "d2"}  # the ones that would go, never a keeper
    assert dup["rec-a"]["kept_id"] == dup["rec-b"]["kept_id"] == "rec-z"
    assert dup["d2"]["kept_id"] == "k2"
    assert dup["rec-a"]["filename"] == "a.wav" and dup["d2"]["filename"] == "b.wav"
    assert p.invalid_meeting_refs.count == 1
    assert p.invalid_meeting_refs.sample == [{"id": "rec-bad", "meeting_id": "m-gone"}]


def test_preview_samples_never_name_a_keeper(library):
    for i in range(4):
        library.add_recording(f"r{i}", filename="same.wav", date_recorded=f"2024-01-0{4 - i} 09:00:00")

    p = preview_cleanup(str(library.path))

    # r3 is the oldest (2024-01-01); the smallest id r0 is the newest and would go.
    assert p.duplicate_recordings.count == 3
    sampled = {row["id"] for row in p.duplicate_recordings.sample}
    assert sampled == {"r0", "r1", "r2"}
    assert {row["kept_id"] for row in p.duplicate_recordings.sample} == {"r3"}


def test_preview_sample_is_capped_at_20_with_full_count(make_library, journal_mode):
    lib = make_library(journal_mode=journal_mode)
    lib.add_recording("keep", filename="dup.wav", date_recorded="2000-01-01 00:00:00")
    for i in range(25):
        lib.add_transcript(f"orph-{i:02}", f"gone-{i:02}")
        lib.add_recording(f"dup-{i:02}", filename="dup.wav", date_recorded="2024-01-01 00:00:00")
        lib.add_recording(f"bad-{i:02}", filename=f"bad-{i}.wav", meeting_id=f"missing-{i}")

    p = preview_cleanup(str(lib.path))

    assert p.success, p.errors
    for finding in (p.orphaned_transcripts, p.duplicate_recordings, p.invalid_meeting_refs):
        assert finding.count == 25
        assert len(finding.sample) == 20
    assert "keep" not in {row["id"] for row in p.duplicate_recordings.sample}
    assert all(row["count"] == 26 for row in p.duplicate_recordings.sample)


def test_preview_changes_nothing(make_library, journal_mode):
    lib = make_library(journal_mode=journal_mode)
    build_messy(lib)
    before = lib.dump()

    p = preview_cleanup(str(lib.path))

    assert p.success, p.errors
    assert p.duplicate_recordings.count  # it found work, and still did none of it
    assert lib.dump() == before
    assert not snap_dir(lib).exists()
    assert lib.journal_mode() == journal_mode


@pytest.mark.parametrize("stored", [r"C:\Users\bob\rec.wav", "/home/bob/rec.wav"])
def test_preview_sample_filename_has_no_directory(library, stored):
    library.add_recording("first", filename=stored, date_recorded="2024-01-01 09:00:00")
    library.add_recording("second", filename=stored, date_recorded="2024-01-02 09:00:00")

    p = preview_cleanup(str(library.path))

    assert p.duplicate_recordings.count == 1
    assert [row["filename"] for row in p.duplicate_recordings.sample] == ["rec.wav"]
    assert "bob" not in p.model_dump_json()


# --------------------------------------------------------------------------- keeper choice

def _keeper_after_run(lib, filename: str) -> set[str]:
    result = run_cleanup(str(lib.path))
    assert result.success, result.errors
    return {r[0] for r in lib.execute("SELECT id FROM recordings WHERE filename = ?", (filename,))}


def test_keeper_is_oldest_by_date_recorded_not_smallest_id(make_library, journal_mode):
    """Regression: the original system kept the smallest id."""
    lib = make_library(journal_mode=journal_mode)
    lib.add_recording("r1", filename="x.wav", date_recorded="2024-06-01 09:00:00",
                      created_at="2024-01-01 00:00:00")  # smallest id and earliest created_at
    lib.add_recording("r5", filename="x.wav", date_recorded="2024-03-01 09:00:00",
                      created_at="2024-05-01 00:00:00")
    lib.add_recording("r9", filename="x.wav", date_recorded="2024-01-01 09:00:00",
                      created_at="2024-09-01 00:00:00")  # the oldest recording

    preview = preview_cleanup(str(lib.path))
    assert {row["id"] for row in preview.duplicate_recordings.sample} == {"r1", "r5"}
    assert _keeper_after_run(lib, "x.wav") == {"r9"}


def test_keeper_tie_on_date_broken_by_created_at(make_library, journal_mode):
    lib = make_library(journal_mode=journal_mode)
    same_date = "2024-04-01 10:00:00"
    lib.add_recording("a", filename="t.wav", date_recorded=same_date, created_at="2024-04-03 00:00:00")
    lib.add_recording("b", filename="t.wav", date_recorded=same_date, created_at="2024-04-01 00:00:00")
    lib.add_recording("c", filename="t.wav", date_recorded=same_date, created_at="2024-04-02 00:00:00")

    assert _keeper_after_run(lib, "t.wav") == {"b"}


def test_keeper_tie_on_date_and_created_at_broken_by_id(make_library, journal_mode):
    lib = make_library(journal_mode=journal_mode)
    for rid in ("x3", "x1", "x2"):  # inserted out of order: rowid must not decide
        lib.add_recording(rid, filename="t.wav", date_recorded="2024-04-01 10:00:00",
                          created_at="2024-04-01 10:00:00")

    assert _keeper_after_run(lib, "t.wav") == {"x1"}


# --------------------------------------------------------------------------- transcripts of duplicates

def test_earliest_duplicate_transcript_moves_to_keeper(make_library, journal_mode):
    lib = make_library(journal_mode=journal_mode)
    build_messy(lib)
    t_b_before = lib.execute("SELECT * FROM transcripts WHERE id = 't-b'")[0]
    e_b1_before = lib.execute("SELECT * FROM embeddings WHERE id = 'e-b1'")

    result = run_cleanup(str(lib.path))

    assert result.success, result.errors
    assert result.transcripts_moved == 1
    # t-b (created 2024-03-05) is earlier than t-a (2024-03-10), though rec-b is the newer recording.
    assert transcript_of(lib, "rec-z") == ["t-b"]
    t_b_after = lib.execute("SELECT * FROM transcripts WHERE id = 't-b'")[0]
    assert t_b_after[1] == "rec-z"
    assert t_b_after[:1] + t_b_after[2:] == t_b_before[:1] + t_b_before[2:]  # only recording_id moved
    assert "t-a" not in ids(lib, "transcripts")
    assert {"e-a1", "e-a2"}.isdisjoint(ids(lib, "embeddings"))
    assert lib.execute("SELECT * FROM embeddings WHERE id = 'e-b1'") == e_b1_before  # survives
    assert {"rec-a", "rec-b"}.isdisjoint(ids(lib, "recordings"))


def test_keeper_with_own_transcript_keeps_it_and_duplicates_lose_theirs(make_library, journal_mode):
    lib = make_library(journal_mode=journal_mode)
    build_messy(lib)
    k2_transcript = lib.execute("SELECT * FROM transcripts WHERE id = 't-k2'")
    k2_embedding = lib.execute("SELECT * FROM embeddings WHERE id = 'e-k2'")

    result = run_cleanup(str(lib.path))

    assert result.success, result.errors
    assert lib.execute("SELECT * FROM transcripts WHERE id = 't-k2'") == k2_transcript
    assert lib.execute("SELECT * FROM embeddings WHERE id = 'e-k2'") == k2_embedding
    assert transcript_of(lib, "k2") == ["t-k2"]
    assert "t-d2" not in ids(lib, "transcripts")  # even though it is older than t-k2
    assert "e-d2" not in ids(lib, "embeddings")
    assert "d2" not in ids(lib, "recordings")


def test_duplicates_are_handled_before_orphans(make_library, journal_mode):
    """Regression: removing orphans first turned the duplicates' transcripts into new orphans."""
    lib = make_library(journal_mode=journal_mode)
    lib.add_recording("keep", filename="r.wav", date_recorded="2024-01-01 09:00:00")
    lib.add_recording("dup1", filename="r.wav", date_recorded="2024-01-02 09:00:00")
    lib.add_recording("dup2", filename="r.wav", date_recorded="2024-01-03 09:00:00")
    lib.add_transcript("t-dup1", "dup1", created_at="2024-01-02 10:00:00")
    lib.add_transcript("t-dup2", "dup2", created_at="2024-01-03 10:00:00")
    add_embedding(lib, "e-dup1", "t-dup1")
    add_embedding(lib, "e-dup2", "t-dup2")
    lib.add_transcript("t-orphan", "vanished")

    result = run_cleanup(str(lib.path))

    assert result.success, result.errors
    assert problems_left(lib) == CLEAN
    assert result.orphaned_transcripts_removed == 1  # only the real orphan
    assert result.duplicate_recordings_removed == 2
    assert result.transcripts_moved == 1
    assert ids(lib, "transcripts") == {"t-dup1"}
    assert transcript_of(lib, "keep") == ["t-dup1"]
    assert ids(lib, "embeddings") == {"e-dup1"}
    names = [s.name for s in result.steps]
    dup_step = next(i for i, n in enumerate(names) if "duplicate recordings" in n)
    orphan_step = next(i for i, n in enumerate(names) if "orphaned transcripts" in n)
    assert dup_step < orphan_step


# --------------------------------------------------------------------------- the run's outcome

def test_run_leaves_no_orphans_and_touches_nothing_else(make_library, journal_mode):
    lib = make_library(journal_mode=journal_mode)
    build_messy(lib)
    before = lib.dump()
    good_before = recording(lib, "rec-good")
    bad_before = recording(lib, "rec-bad")

    result = run_cleanup(str(lib.path))

    assert result.success, result.errors
    assert result.errors == []
    assert problems_left(lib) == CLEAN
    assert result.duplicate_recordings_removed == 3
    assert result.transcripts_moved == 1
    assert result.orphaned_transcripts_removed == 2
    # e-a1, e-a2 (t-a), e-d2 (t-d2), e-orph1 (t-orph1), e-lost (never had a transcript)
    assert result.embeddings_removed == 5
    assert result.invalid_meeting_refs_fixed == 1
    assert all(step.error is None for step in result.steps)
    assert sum(step.count for step in result.steps) > 0

    after = lib.dump()
    for table in ("meetings", "config", "user_notes", "schema_version", "__schema__"):
        assert after[table] == before[table], table
    assert recording(lib, "rec-good") == good_before
    cols = [r[1] for r in lib.execute("PRAGMA table_info(recordings)")]
    bad_after = dict(zip(cols, recording(lib, "rec-bad")))
    assert (bad_after["meeting_id"], bad_after["correlation_confidence"],
            bad_after["correlation_method"]) == (None, None, None)
    bad_before = dict(zip(cols, bad_before))
    for col in set(cols) - {"meeting_id", "correlation_confidence", "correlation_method"}:
        assert bad_after[col] == bad_before[col], col
    assert ids(lib, "recordings") == {"rec-z", "k2", "rec-bad", "rec-good"}
    assert ids(lib, "transcripts") == {"t-b", "t-k2", "t-good"}
    assert ids(lib, "embeddings") == {"e-b1", "e-k2", "e-good"}
    assert lib.journal_mode() == journal_mode
    assert lib.execute("PRAGMA quick_check") == [("ok",)]


def test_run_takes_snapshot_of_library_as_it_was(make_library, journal_mode):
    lib = make_library(journal_mode=journal_mode)
    build_messy(lib)
    before = lib.dump()

    result = run_cleanup(str(lib.path))

    assert result.success, result.errors
    assert result.snapshot_id
    folder = snap_dir(lib)
    assert (folder / f"{result.snapshot_id}.sqlite").is_file()
    manifest = json.loads((folder / f"{result.snapshot_id}.json").read_text(encoding="utf-8"))
    assert manifest["id"] == result.snapshot_id
    assert manifest["kind"] == snapshots.PRE_CLEANUP
    assert manifest["version"] == 10
    # The copy holds the library as it was, and the library's identity (both have it now).
    assert manifest["row_counts"] == {**row_counts(before), identity.TABLE: 1}
    assert manifest["library_id"] == identity.of_file(lib.path) is not None
    assert readonly_dump(folder / f"{result.snapshot_id}.sqlite") == before
    assert lib.dump() != before  # and the library itself did change


def test_clean_library_has_nothing_to_clean_and_no_snapshot(make_library, journal_mode):
    lib = make_library(journal_mode=journal_mode)
    lib.add_meeting("m1")
    lib.add_recording("r1", meeting_id="m1", correlation_confidence=0.7, correlation_method="calendar")
    lib.add_recording("r2", filename="other.wav")
    lib.add_transcript("t1", "r1")
    add_embedding(lib, "e1", "t1")
    before = lib.dump()

    result = run_cleanup(str(lib.path))

    assert result.success, result.errors
    assert [w.code for w in result.warnings] == ["NOTHING_TO_CLEAN"]
    assert result.snapshot_id is None
    assert not snap_dir(lib).exists()
    assert lib.dump() == before


def test_orphaned_embedding_alone_is_something_to_clean(library):
    library.add_recording("r1")
    library.add_transcript("t1", "r1")
    add_embedding(library, "e1", "t1")
    add_embedding(library, "e-lost", "t-gone")

    result = run_cleanup(str(library.path))

    assert result.success, result.errors
    assert "NOTHING_TO_CLEAN" not in [w.code for w in result.warnings]
    assert result.embeddings_removed == 1
    assert ids(library, "embeddings") == {"e1"}


def test_second_cleanup_finds_nothing(make_library, journal_mode):
    lib = make_library(journal_mode=journal_mode)
    build_messy(lib)
    first = run_cleanup(str(lib.path))
    assert first.success, first.errors
    assert first.warnings == []
    files = snapshot_files(lib)
    fixed = lib.dump()

    second = run_cleanup(str(lib.path))

    assert second.success, second.errors
    assert [w.code for w in second.warnings] == ["NOTHING_TO_CLEAN"]
    assert second.snapshot_id is None
    assert snapshot_files(lib) == files
    assert lib.dump() == fixed
    p = preview_cleanup(str(lib.path))
    assert (p.orphaned_transcripts.count, p.duplicate_recordings.count, p.invalid_meeting_refs.count) == (0, 0, 0)


# --------------------------------------------------------------------------- all or nothing

def test_failing_step_rolls_back_every_step(make_library, journal_mode):
    lib = make_library(journal_mode=journal_mode)
    build_messy(lib)
    lib.execute("CREATE TRIGGER boom BEFORE DELETE ON embeddings BEGIN SELECT RAISE(ABORT, 'boom'); END;")
    before = lib.dump()

    result = run_cleanup(str(lib.path))

    assert result.success is False
    assert result.errors and result.errors[0].code
    failed = [s for s in result.steps if s.error is not None]
    assert len(failed) == 1
    assert "embeddings" in failed[0].name
    assert failed[0].error.code
    assert result.steps[-1] is failed[0]  # nothing ran after the failing step
    earlier = result.steps[:-1]
    # The earlier steps ran (they are listed), but the rollback undid them, so the result
    # reports nothing removed, and the library holds none of it.
    assert len(earlier) >= 3 and all(s.count == 0 and s.error is None for s in earlier)
    assert (result.duplicate_recordings_removed, result.transcripts_moved,
            result.orphaned_transcripts_removed, result.embeddings_removed) == (0, 0, 0, 0)
    assert lib.dump() == before
    # Control: without the trigger, the same steps do remove rows, so the dump equality above
    # proves a rollback rather than steps that did nothing.
    lib.execute("DROP TRIGGER boom")
    assert run_cleanup(str(lib.path)).duplicate_recordings_removed > 0
    assert lib.execute("PRAGMA quick_check") == [("ok",)]
    assert lib.journal_mode() == journal_mode
    assert result.version == 10


def test_run_refuses_while_another_writer_holds_the_lock(make_library):
    """Under the lock: another writer holding it means IN_PROGRESS, no snapshot, no change."""
    lib = make_library(journal_mode="wal")
    build_messy(lib)
    before = lib.dump()
    other = lib.connect()
    try:
        other.execute("BEGIN IMMEDIATE")
        result = run_cleanup(str(lib.path))
        other.execute("ROLLBACK")
    finally:
        other.close()

    assert result.success is False
    assert [e.code for e in result.errors] == ["IN_PROGRESS"]
    assert snapshot_files(lib) == []
    assert lib.dump() == before


# --------------------------------------------------------------------------- V11

def test_v11_duplicate_with_capture_is_kept(make_library, journal_mode):
    lib = make_library(journal_mode=journal_mode)
    lib.add_recording("keeper", filename="c.wav", date_recorded="2024-01-01 09:00:00")  # no transcript
    lib.add_recording("captured", filename="c.wav", date_recorded="2024-01-02 09:00:00")
    lib.add_recording("plain", filename="c.wav", date_recorded="2024-01-03 09:00:00")
    lib.add_transcript("t-captured", "captured", title_suggestion="Captured one")
    add_embedding(lib, "e-captured", "t-captured")
    lib.add_transcript("t-orphan", "vanished")
    migrated = migrate(str(lib.path))
    assert migrated.success, migrated.errors
    assert lib.version() == 11
    assert lib.execute("SELECT source_recording_id FROM knowledge_captures") == [("captured",)]

    p = preview_cleanup(str(lib.path))
    assert p.success, p.errors
    assert [row["id"] for row in p.duplicate_recordings.sample] == ["plain"]

    result = run_cleanup(str(lib.path))

    assert result.success, result.errors
    assert result.duplicate_recordings_removed == 1
    assert ids(lib, "recordings") == {"keeper", "captured"}
    assert transcript_of(lib, "captured") == ["t-captured"]  # not moved off a captured recording
    assert ids(lib, "embeddings") == {"e-captured"}
    assert lib.execute("PRAGMA foreign_key_check(knowledge_captures)") == []
    assert lib.execute("PRAGMA foreign_key_check(transcripts)") == []
    assert lib.version() == 11
    manifest = json.loads((snap_dir(lib) / f"{result.snapshot_id}.json").read_text(encoding="utf-8"))
    assert manifest["version"] == 11
