"""The window says what is true now and what to do next (issue 14, the window's half).

Each test builds a library in a given state (version 10; upgrade not finished; upgraded;
restored), opens the real window on it (Qt offscreen, one process each, through the app's
own entry point; scenarios in tests/window_states.py) and checks the words of every card
against the engine's own reading of the library, never against numbers restated here.
The upgrade preview is compared with what `migrate` then reports on a twin built from the
same seed. Screenshots of each state go to the test's own folder.
"""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import apsw
import pytest

from app.engine.cleanup import preview_cleanup, run_cleanup
from app.engine.migrate import migrate
from app.engine.rollback import rollback
from app.engine.status import status
from app.samples.demo import create_demo_library
from tests.conftest import logical_dump
from tests.real_layouts import build
from tests.window_driver import WindowRun, folder_fingerprint, run_window

ROOT = Path(__file__).resolve().parent.parent
DOCS_SHOT = ROOT / "docs" / "window-800x600.png"
COUNTS = ("captures_created", "captures_adopted", "recordings_skipped", "action_items_created",
          "dangling_meeting_refs")
RECORDINGS = 300


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def window(scenario: str, library: Path, tmp_path: Path, *, env: dict | None = None, **config) -> WindowRun:
    run = run_window(scenario, tmp_path, ["--library", str(library)], library=str(library),
                     screenshots=str(tmp_path / "screenshots"), env=env, timeout=120, **config)
    assert "error" not in run.seen, run.seen["error"] + repr(run)
    assert run.proc.returncode == 0 and run.seen["exit_code"] == 0, run
    assert run.leftovers == [], run.leftovers
    return run


def demo_pair(tmp_path: Path) -> tuple[Path, Path]:
    """The library the window opens (in a folder named like a user's) and its twin."""
    paths = []
    for folder in ("Zoë's recordings", "twin"):
        (tmp_path / folder).mkdir()
        path = tmp_path / folder / "Team library.db"
        create_demo_library(str(path), recordings=RECORDINGS)
        paths.append(path)
    return paths[0], paths[1]


def layout_pair(tmp_path: Path, layout: str) -> tuple[Path, Path]:
    paths = []
    for folder in ("Zoë's library", "twin"):
        (tmp_path / folder).mkdir()
        path = tmp_path / folder / f"{layout}.db"
        build(path, layout, recordings=60)
        paths.append(path)
    return paths[0], paths[1]


def counted(n: int, one: str) -> str:
    """A count as the page writes it in en-US."""
    return f"{n:,} {one}" + ("" if n == 1 else "s")


def only_at_its_place(snap: dict, library: Path) -> None:
    """The full path is shown once, in the location line; nothing else names a path."""
    assert snap["path"] == str(library) and snap["location_shown"] is True
    assert snap["location_count"] == 1, snap["location_count"]
    for needle in (str(library.parent), "Zoë", "Traceback", 'File "', "/tmp"):
        assert needle not in snap["body"], needle
    assert snap["iso_times"] == []  # no raw UTC (or library) time strings


def preview_words(result) -> list[str]:
    """What the preview must say, in the page's words, for a migrate result."""
    out = [f"{result.captures_created:,} knowledge capture" + ("s" if result.captures_created != 1 else ""),
           f"{result.action_items_created:,} action item" + ("s" if result.action_items_created != 1 else "")]
    if result.captures_adopted:
        out.append(f"adopt {result.captures_adopted:,} recording")
    if result.recordings_skipped:
        out.append(f"mark {result.recordings_skipped:,} recording")
    if result.dangling_meeting_refs:
        out.append(f"{result.dangling_meeting_refs:,} recording")
    return out


def assert_preview_is_the_upgrade(seen: dict, expected) -> None:
    api = seen["preview_api"]["resolved"]
    assert api["success"] is True and api["needed"] is True
    assert {k: api[k] for k in COUNTS} == {k: getattr(expected, k) for k in COUNTS}
    text = seen["loaded"]["preview"]
    assert seen["loaded"]["preview_state"] == "ready" and text.startswith("The upgrade will make "), text
    for words in preview_words(expected):
        assert words in text, (words, text)
    assert ("no longer exists" in text) is bool(expected.dangling_meeting_refs)


# ---- version 10: ready to upgrade, and what the upgrade will make ---------------------------

def test_version_10_says_ready_and_counts_what_the_upgrade_makes_at_800x600(tmp_path: Path) -> None:
    library, twin = demo_pair(tmp_path)
    before = folder_fingerprint(library.parent)
    problems = preview_cleanup(str(library))
    total_problems = (problems.duplicate_recordings.count + problems.orphaned_transcripts.count
                      + problems.invalid_meeting_refs.count)
    run = window("state", library, tmp_path, shot="v10-ready", small="v10-ready-800x600")
    after_window = folder_fingerprint(library.parent)
    expected = migrate(str(twin))
    loaded, small = run.seen["loaded"], run.seen["small"]

    assert loaded["version"] == "10 (ready to upgrade)"
    assert loaded["title"] == "Ready to upgrade" and loaded["state"] == "idle"
    assert loaded["message"] == (f"Nothing has been changed yet. The clean-up below found {total_problems} problems "
                                 "worth fixing before the upgrade. Fixing them first is up to you.")
    assert loaded["next"].startswith("When you are ready, click “Upgrade library”")
    assert "Nothing done yet" not in loaded["body"]
    assert loaded["cleanup_title"] == "Clean-up before the upgrade"
    assert loaded["cleanup_summary"] == f"Found {total_problems} problems worth fixing before the upgrade:"
    assert loaded["cleanup_after_upgrade"] is None
    assert loaded["progress_shown"] is False  # no bar before anything runs
    assert_preview_is_the_upgrade(run.seen, expected)
    only_at_its_place(loaded, library)
    # The whole session only read: the library and its folder are byte for byte as before.
    assert after_window == before

    # At the smallest size the main action is in view without scrolling, and nothing is too wide.
    assert small["viewport"]["width"] <= 800 and small["viewport"]["scroll_y"] == 0
    assert small["upgrade_rect"]["bottom"] <= small["viewport"]["height"], small["upgrade_rect"]
    assert small["viewport"]["scroll_width"] <= small["viewport"]["width"]
    assert png_size(Path(small["shot"])) == (800, 600)
    assert png_size(Path(loaded["shot"])) >= (800, 600)


def test_the_readme_shows_a_real_capture_at_800x600() -> None:
    """docs/window-800x600.png is the capture above (copied by hand when the page changes:
    python -m tests.test_window_states PATH-TO-ITS-SCREENSHOTS-FOLDER)."""
    assert png_size(DOCS_SHOT) == (800, 600)
    assert "docs/window-800x600.png" in (ROOT / "README.md").read_text()


# ---- not finished, on the layouts users have ------------------------------------------------

@pytest.mark.parametrize("layout,version_words,title", [
    ("app_v10", "ready to upgrade", "Ready to upgrade"),
    ("half_done", "upgrade not finished", "Upgrade not finished"),
    ("v11_name_only", "upgrade not finished", "Upgrade not finished"),
])
def test_real_layouts_say_their_stage_and_preview_what_the_upgrade_makes(tmp_path: Path, layout: str,
                                                                         version_words: str, title: str) -> None:
    library, twin = layout_pair(tmp_path, layout)
    st = status(str(library))
    before = library.read_bytes()
    run = window("state", library, tmp_path, shot=f"{layout}")
    expected = migrate(str(twin))
    loaded = run.seen["loaded"]
    assert loaded["version"] == f"{st.version} ({version_words})" and loaded["title"] == title
    if version_words == "upgrade not finished":
        assert loaded["message"] == (f"The library is marked as version {st.version}, but an earlier upgrade did "
                                     "not finish its work (see Library above). Nothing has been changed yet.")
        assert loaded["next"].startswith("Click “Upgrade library” to finish it")
        assert loaded["upgrade_hint"].startswith("Finishes the upgrade")
    assert loaded["buttons"]["upgrade"]["disabled"] is False
    assert_preview_is_the_upgrade(run.seen, expected)
    assert library.read_bytes() == before  # the preview and everything else only read


def test_an_incomplete_schema_alone_is_not_finished_and_the_preview_says_so(tmp_path: Path) -> None:
    library, _ = layout_pair(tmp_path, "app_v10")
    assert migrate(str(library)).success
    conn = apsw.Connection(str(library))
    try:
        conn.execute("DROP INDEX idx_action_items_status")
    finally:
        conn.close()
    st = status(str(library))
    assert st.can_migrate and st.upgrade.schema_missing and not st.upgrade.to_upgrade
    run = window("state", library, tmp_path, shot="schema-incomplete")
    loaded = run.seen["loaded"]
    assert loaded["version"] == f"{st.version} (upgrade not finished)"
    assert loaded["plan"].endswith("1 part of the new format missing. The upgrade will finish it.")
    assert loaded["preview"] == ("The upgrade will only complete the new format (1 part missing): "
                                 "no recordings are left to upgrade.")


# ---- upgraded, and restored -------------------------------------------------------------

def test_upgraded_says_so_and_the_cleanup_says_a_restore_would_discard_the_fix(tmp_path: Path) -> None:
    library, _ = demo_pair(tmp_path)
    assert migrate(str(library)).success
    st = status(str(library))
    problems = preview_cleanup(str(library))
    total = problems.duplicate_recordings.count + problems.orphaned_transcripts.count + \
        problems.invalid_meeting_refs.count
    assert total > 0  # the case itself: problems left after the upgrade
    run = window("state", library, tmp_path, shot="upgraded")
    loaded = run.seen["loaded"]
    assert loaded["version"] == f"{st.version} (upgraded)"
    assert loaded["title"] == "Library upgraded" and loaded["state"] == "idle"
    assert loaded["message"] == (f"The library is at version {st.version} and its upgrade is finished: there is "
                                 "nothing left to upgrade.")
    assert "Restore previous library" in loaded["next"]
    for stale in ("Nothing done yet", "then upgrade", "Ready to upgrade", "before the upgrade:"):
        assert stale not in loaded["body"], stale
    assert loaded["buttons"]["upgrade"]["disabled"] is True and loaded["preview"] is None
    assert loaded["upgrade_hint"] == "The library is upgraded: there is nothing left to upgrade."
    assert loaded["cleanup_title"] == "Clean-up"
    assert loaded["cleanup_summary"] == f"Found {total} problems in the library:"
    assert "discarded" in loaded["cleanup_after_upgrade"] and "Restore previous" in loaded["cleanup_after_upgrade"]
    only_at_its_place(loaded, library)


def test_restored_says_so_and_offers_the_upgrade_again(tmp_path: Path) -> None:
    library, twin = demo_pair(tmp_path)
    assert migrate(str(library)).success
    assert rollback(str(library)).success
    st = status(str(library))
    run = window("state", library, tmp_path, shot="restored")
    loaded = run.seen["loaded"]
    assert loaded["version"] == f"{st.version} (restored to before the upgrade)"
    assert loaded["title"] == "Restored to before the upgrade"
    assert loaded["message"].startswith(f"The library is back at version {st.version}, as it was before it was "
                                        "upgraded.")
    assert loaded["next"].startswith("You can upgrade it again whenever you like")
    assert loaded["buttons"]["upgrade"]["disabled"] is False
    assert_preview_is_the_upgrade(run.seen, migrate(str(twin)))


# ---- counts that change between two reads ----------------------------------------------------

def test_a_count_that_changed_meanwhile_says_was_and_now(tmp_path: Path) -> None:
    library, _ = demo_pair(tmp_path)
    before = status(str(library))
    run = window("changed", library, tmp_path, command=["cleanup"], shot="changed")
    after = status(str(library))
    seen = run.seen
    assert seen["cli_exit"] == 0 and after.recordings.total < before.recordings.total, seen  # the case itself
    old, new = f"{before.recordings.total:,}", f"{after.recordings.total:,}"
    assert seen["before"]["changes"] is None and seen["before"]["was"] == {}
    assert f"total was {old}, now {new}" in seen["after"]["changes"]
    assert seen["after"]["counts"]["total"] == new and seen["after"]["was"]["total"] == f"(was {old})"
    assert any("any more (was" in f for f in seen["after"]["findings"]), (seen["before"]["findings"], seen["after"])
    assert "(was " in seen["after"]["preview"]  # the preview's counts changed too, and say so


# ---- a library that is not there ----------------------------------------------------------------

def test_a_mistyped_library_gets_no_sample_offer_and_nothing_is_written(tmp_path: Path) -> None:
    folder = tmp_path / "Zoë's recordings"
    folder.mkdir()
    (folder / "library.db").write_bytes(b"not touched")
    typo = folder / "libary.db"
    run = window("typo", typo, tmp_path, shot="typo")
    loaded, after = run.seen["loaded"], run.seen["after"]
    assert loaded["first_run"] is False and loaded["create_sample_shown"] is False
    assert loaded["title"] == "No library found" and loaded["state"] == "failed"
    assert loaded["message"] == f"No library at {typo}. Nothing was created or changed."
    assert loaded["path"] == str(typo) and loaded["buttons"]["show-in-folder"]["disabled"] is True
    assert run.seen["unchanged"] is True and run.seen["exists"] is False
    assert sorted(p.name for p in folder.iterdir()) == ["library.db"]
    assert after["title"] == "No library found"


def test_the_default_location_named_with_library_still_gets_the_offer(tmp_path: Path) -> None:
    data = tmp_path / "data"
    default = data / "MeetingRecorder" / "library.db"
    run = run_window("typo", tmp_path, ["--library", str(default)], library=str(default),
                     env={"XDG_DATA_HOME": str(data)})
    assert "error" not in run.seen, run.seen["error"] + repr(run)
    loaded = run.seen["loaded"]
    assert loaded["first_run"] is True and loaded["create_sample_shown"] is True
    assert loaded["path"] == str(default)
    # The forged DOM click is a click: at the default location it makes the sample library.
    assert run.seen["exists"] is True and status(str(default)).recordings.total > 0


# ---- "Fix these": everything it will do, asked first ------------------------------------------

@pytest.mark.parametrize("upgraded", [False, True])
def test_fix_these_lists_everything_it_will_do_and_no_changes_nothing(tmp_path: Path, upgraded: bool) -> None:
    library, twin = demo_pair(tmp_path)
    if upgraded:
        assert migrate(str(library)).success and migrate(str(twin)).success
    dump = logical_dump(library)
    problems = preview_cleanup(str(twin))
    run = window("fix_confirm", library, tmp_path, shot=f"fix-confirm-{'after' if upgraded else 'before'}-upgrade",
                 confirm=upgraded)
    fixed = run_cleanup(str(twin))
    asked = run.seen["asked"]
    listed = " ".join(asked["fix_list"])
    assert f"Remove {counted(fixed.duplicate_recordings_removed, 'duplicate recording')} (" in listed, listed
    if fixed.transcripts_moved:
        assert f"{counted(fixed.transcripts_moved, 'transcript')} of theirs" in listed
        assert "to the recording kept" in listed
    assert f"Remove {counted(fixed.orphaned_transcripts_removed, 'transcript')} whose recording is gone" in listed
    assert f"Delete {counted(fixed.embeddings_removed, 'search embedding')} of" in listed
    assert f"Clear {counted(fixed.invalid_meeting_refs_fixed, 'link')} to meetings" in listed
    # A link held by a duplicate that goes is counted once: with the duplicate.
    found = problems.invalid_meeting_refs.count
    on_duplicates = found - fixed.invalid_meeting_refs_fixed
    assert (f"({on_duplicates} more go with the duplicate recordings removed)" in listed) is (on_duplicates > 0)
    assert run.seen["unchanged"] is True  # the click and "Not now" wrote nothing
    if not upgraded:
        assert asked["fix_restore"] is None
        assert logical_dump(library) == dump
        return
    assert "would discard the fix" in asked["fix_restore"]
    done = run.seen["done"]
    assert run.seen["final_state"] == "done" and done["title"] == "Clean-up complete"
    assert "“Restore previous library” would now also discard this fix" in done["next"]
    assert done["progress_shown"] is False and "finished" not in done["phase"].lower()  # not the upgrade's bar


# ---- support without a terminal -----------------------------------------------------------------

RECORDER = """import json, sys
with open({out!r}, "a", encoding="utf-8") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
"""


def test_show_in_folder_open_log_folder_and_copy_report(tmp_path: Path) -> None:
    import getpass
    import sys

    from app.engine.locations import log_dir

    library, _ = demo_pair(tmp_path)
    calls = tmp_path / "opened.jsonl"
    recorder = tmp_path / "recorder.py"
    recorder.write_text(RECORDER.format(out=str(calls)))
    run = window("support", library, tmp_path, shot="support",
                 env={"UPGRADE_LIBRARY_OPENER": f"{sys.executable} {recorder}"})
    seen = run.seen
    opened = [json.loads(line) for line in calls.read_text().splitlines()]
    assert opened == [[str(library.parent)], [str(log_dir())]]  # exactly those folders, nothing else
    assert seen["folders"]["location_state"] == "done" and seen["folders"]["support_state"] == "done"
    for key, value in seen["console"].items():  # no folder of the page's choosing, no argument at all
        assert value["resolved"]["errors"][0]["code"] == "INVALID_ARGUMENT", key

    report = seen["report"]
    text = report["report"]
    data = json.loads(text)
    assert data["operation"] == "report" and data["recordings"]["total"] == RECORDINGS
    for secret in (str(library.parent), str(tmp_path), library.name, "Zoë", getpass.getuser(), str(Path.home())):
        assert secret not in text, secret
    assert report["report_shown"] is True
    assert sorted(seen["permissions"]) == ["denied", "denied"]  # asked, denied, and the window lives on
    assert seen["open_after_asking"]["resolved"]["success"] is True
    # On the system clipboard (Qt's, read on the GUI thread), and said so.
    assert seen["clipboard"] == text and report["support_state"] == "done"
    assert "on the clipboard" in report["support_message"]


def test_in_progress_says_to_close_the_other_copy_and_the_bar_empties(tmp_path: Path) -> None:
    library, _ = demo_pair(tmp_path)
    dump = logical_dump(library)
    run = window("busy", library, tmp_path, shot="in-progress")
    failed = run.seen["failed"]
    assert run.seen["holder"] == "locked" and run.seen["final_state"] == "failed"
    assert failed["title"] == "The upgrade did not happen"
    assert "Close the other copy" in failed["next"]
    assert failed["progress"] == 0 and failed["phase"] == "Stopped: nothing was changed"
    assert logical_dump(library) == dump


def engine_codes() -> list[str]:
    """Every error code the engine has, and the window's own."""
    from app.desktop.api import OPEN_FAILED
    from app.engine import errors

    found, todo = set(), [errors.EngineError]
    while todo:
        cls = todo.pop()
        found.add(cls.code)
        todo.extend(cls.__subclasses__())
    return sorted(found | {OPEN_FAILED})


def test_every_failure_has_a_next_step_that_fits_its_code(tmp_path: Path) -> None:
    from app.engine import errors

    library, _ = demo_pair(tmp_path)
    mb = 1024 * 1024
    disk_full = errors.DiskFull.needing(512 * mb, 100 * mb).message
    codes = engine_codes()
    asked = [{"code": code, "message": ""} for code in codes] + [
        {"code": "DISK_FULL", "message": disk_full}, {"code": "NO_SUCH_CODE", "message": ""}]
    steps = window("next_steps", library, tmp_path, errors=asked).seen["steps"]
    by_code, disk, fallback = dict(zip(codes, steps)), steps[-2], steps[-1]
    generic = {"INTERNAL_ERROR", "DATABASE_ERROR"}  # a bug, or SQLite's own error: try again, then report
    for code in set(codes) - generic:
        assert by_code[code] != fallback, code  # words of its own
    assert "Close the other copy" in by_code["IN_PROGRESS"]
    assert f"Free at least {512 + 1 - 100} MB" in disk  # the message rounds the need up
    assert "Free some space" in by_code["DISK_FULL"]  # without the numbers
    assert "Restore and discard these changes" in by_code["WOULD_LOSE_DATA"]
    assert "Backups" in by_code["LIBRARY_CORRUPT"] and "Copy report" in by_code["LIBRARY_CORRUPT"]
    assert "Check that the disk" in by_code["IO_ERROR"]
    assert "Copy report" in fallback


if __name__ == "__main__":  # refresh docs/window-800x600.png from a run's screenshots folder
    import sys

    shutil.copy(Path(sys.argv[1]) / "v10-ready-800x600.png", DOCS_SHOT)
