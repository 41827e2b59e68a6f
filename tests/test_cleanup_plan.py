"""What "Fix these" says it will do is what the clean-up then does, and its samples are
named as a user knows them (file names, titles, dates), not by internal ids.

Each library is built twice from one seed: the plan runs on one (which must not change),
`run_cleanup` on the other; every count the confirmation shows must equal the clean-up's.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from app.engine.cleanup import preview_cleanup, run_cleanup
from app.engine.cleanup_plan import plan_cleanup
from app.engine.migrate import migrate
from app.samples.demo import create_demo_library
from tests.conftest import build_v10, fill

RESULT_FIELDS = ("duplicate_recordings_removed", "transcripts_moved", "orphaned_transcripts_removed",
                 "embeddings_removed", "invalid_meeting_refs_fixed")


def folder_state(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


def demo(folder: Path, seed: int) -> Path:
    folder.mkdir()
    path = folder / "library.db"
    create_demo_library(str(path), recordings=400, seed=seed)
    return path


def with_overlap(folder: Path) -> Path:
    """Duplicates that hold the only transcript, a link to a missing meeting, and
    embeddings: a duplicate whose meeting is missing too (its link goes with it)."""
    folder.mkdir()
    lib = build_v10(folder / "library.db")
    fill(lib, 20)
    lib.add_recording("d1", filename="REC00001.WAV", date_recorded="2025-01-01 09:00:00", meeting_id="gone")
    lib.add_recording("d2", filename="REC00007.WAV", date_recorded="2025-01-01 09:00:00")
    lib.add_transcript("td2", "d2")
    lib.execute("DELETE FROM transcripts WHERE recording_id = 'r00007'")
    lib.execute("UPDATE recordings SET meeting_id = 'gone too' WHERE id = 'r00003'")
    lib.add_transcript("orphan", "no such recording", title_suggestion="Weekly sync")
    for i, tid in enumerate(("td2", "orphan", "t00001", "nothing")):
        lib.insert("embeddings", id=f"e{i}", transcript_id=tid, chunk_index=0, chunk_text="x", embedding=b"\0")
    return lib.path


@pytest.mark.parametrize("make", [lambda f: demo(f, 1), lambda f: demo(f, 7), with_overlap])
@pytest.mark.parametrize("upgraded", [False, True])
def test_the_plan_counts_what_the_fix_then_does(tmp_path: Path, make, upgraded: bool) -> None:
    planned, fixed = make(tmp_path / "planned"), make(tmp_path / "fixed")
    if upgraded:
        assert migrate(str(planned)).success and migrate(str(fixed)).success
    before = folder_state(planned.parent)
    plan = plan_cleanup(str(planned))
    assert plan.success, plan.errors
    assert folder_state(planned.parent) == before
    result = run_cleanup(str(fixed))
    assert result.success, result.errors
    assert {k: getattr(plan.fix, k) for k in RESULT_FIELDS} == {k: getattr(result, k) for k in RESULT_FIELDS}
    removed_with_duplicates = next(s.count for s in result.steps if s.name == "remove transcripts of duplicates")
    assert plan.fix.duplicate_transcripts_removed == removed_with_duplicates
    preview = preview_cleanup(str(planned))
    # A link held by a removed duplicate is counted once: with the duplicate, not as cleared too.
    assert plan.fix.invalid_meeting_refs_fixed + plan.fix.meeting_refs_on_duplicates == \
        preview.invalid_meeting_refs.count
    assert sum(getattr(plan.fix, k) for k in RESULT_FIELDS) > 0


def test_the_overlap_case_is_exercised(tmp_path: Path) -> None:
    plan = plan_cleanup(str(with_overlap(tmp_path / "lib")))
    assert plan.fix.meeting_refs_on_duplicates == 1 and plan.fix.transcripts_moved == 1
    assert plan.fix.embeddings_removed == 2  # the orphan's and the one whose transcript never was


def test_samples_get_file_names_titles_and_dates(tmp_path: Path) -> None:
    path = with_overlap(tmp_path / "lib")
    preview = preview_cleanup(str(path))
    ids = {"recordings": [s["id"] for s in preview.invalid_meeting_refs.sample],
           "transcripts": [s["id"] for s in preview.orphaned_transcripts.sample]}
    plan = plan_cleanup(str(path), ids)
    assert plan.transcripts["orphan"].title == "Weekly sync" and plan.transcripts["orphan"].date
    assert plan.recordings["r00003"].filename == "REC00003.WAV"
    assert plan.recordings["r00003"].date == "2024-02-01 10:03:00"
    assert plan_cleanup(str(path), {"recordings": ["no such id"]}).recordings == {}
