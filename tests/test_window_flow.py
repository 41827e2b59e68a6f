"""The window end to end: a real page in a real Qt window (offscreen), one process each.

Each test builds a library, runs one scenario of `tests.window_driver` in a subprocess
through the app's own entry point, and checks what the page showed against the library
on disk, read back through the engine and apsw.
"""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import apsw
import pytest

from app import __version__
from app.engine.cleanup import preview_cleanup
from app.samples.demo import create_demo_library
from app.engine.migrate import migrate
from app.engine.status import status
from tests.conftest import logical_dump
from tests.test_preflight import _corrupt_page, _versioned
from tests.window_driver import SCREENSHOTS, WindowRun, run_window

RECORDINGS = 300
# Buttons that change nothing (they open a folder or copy the support report): on at all times.
READ_ONLY_BUTTONS = ("show-in-folder", "copy-report", "open-log-folder")


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    folder = tmp_path / "Zoë's recordings"  # a path the page must never show
    folder.mkdir()
    path = folder / "Team library.db"
    create_demo_library(str(path), recordings=RECORDINGS)
    return path


def window(scenario: str, library: Path, tmp_path: Path, **config) -> WindowRun:
    run = run_window(scenario, tmp_path, ["--library", str(library)], library=str(library), **config)
    assert "error" not in run.seen, run.seen["error"] + repr(run)
    assert run.proc.returncode == 0 and run.seen["exit_code"] == 0, run
    assert run.leftovers == [], run.leftovers
    return run


def no_leaks(text: str, library: Path) -> None:
    for needle in (str(library.parent), "Zoë", "Traceback", 'File "', "/tmp", ".py"):
        assert needle not in text, needle


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_upgrade_from_the_page(demo: Path, tmp_path: Path) -> None:
    shots = SCREENSHOTS
    for name in ("idle", "running", "done"):
        (shots / f"{name}.png").unlink(missing_ok=True)
    run = window("upgrade", demo, tmp_path, screenshots=str(shots))
    seen = run.seen

    idle, running, done = seen["idle"], seen["running"], seen["done"]
    assert idle["state"] == "idle" and idle["name"] == "Team library.db"
    assert idle["about"] == f"Library upgrade, version {__version__}"
    assert idle["counts"]["total"] == str(RECORDINGS) and idle["version"].startswith("10")
    assert idle["buttons"]["upgrade"]["disabled"] is False and idle["buttons"]["cancel"]["disabled"] is True

    # While it runs: the state says so, progress moves, every button but Cancel is off
    # (but those that only open a folder or copy the support report: they change nothing).
    assert running["state"] == "running" and 0 < running["progress"] < 100
    assert running["phase"].startswith("Upgrading recordings")
    assert running["buttons"]["cancel"]["disabled"] is False
    assert all(b["disabled"] for name, b in running["buttons"].items()
               if name not in ("cancel", "close-confirm-yes", "close-confirm-no") + READ_ONLY_BUTTONS), \
        running["buttons"]
    assert all(not running["buttons"][name]["disabled"] for name in READ_ONLY_BUTTONS)

    # Progress events reached the page in order, up to 100 and complete.
    events = [e for e in seen["events"] if e["operation"] == "migrate"]
    assert set(events[0]) == {"tracker_id", "operation", "phase", "percent", "processed", "total",
                              "eta_seconds", "message"}
    percents = [e["percent"] for e in events]
    assert percents == sorted(percents) and percents[-1] == 100
    assert events[-1]["phase"] == "complete" and len({e["tracker_id"] for e in events}) == 1
    assert {"snapshot", "migrating", "verifying"} <= {e["phase"] for e in events}

    # Done, and the page says what happened and what next; the library on disk agrees.
    st = status(str(demo))
    assert seen["final_state"] == "done" and done["title"] == "Upgrade complete"
    assert done["progress"] == 100 and done["next"]
    assert st.version == 11 and done["version"].startswith("11")
    assert done["counts"]["migrated"] == str(st.recordings.migrated) and st.recordings.migrated > 0
    assert f"{st.recordings.migrated} knowledge captures" in " ".join(done["details"])
    conn = apsw.Connection(str(demo))
    try:
        captures = conn.execute("SELECT count(*) FROM knowledge_captures").fetchone()[0]
        marked = conn.execute("SELECT count(*) FROM recordings WHERE migration_status = 'migrated'").fetchone()[0]
    finally:
        conn.close()
    assert captures == marked == st.recordings.migrated
    assert seen["focused"] == "result"  # keyboard users land on what happened
    for snap in (idle, running, done):
        no_leaks(json.dumps(snap, ensure_ascii=False), demo)

    # No remote debugging without --debug.
    assert seen["remote_debugging"] is None and "remote-debugging" not in seen["chromium_flags"]

    # Screenshots of the three states, at the window's size, each different.
    paths = [Path(p) for p in seen["shots"]]
    assert [p.name for p in paths] == ["idle.png", "running.png", "done.png"]
    assert all(png_size(p) >= (800, 600) for p in paths)
    assert len({p.read_bytes() for p in paths}) == 3


def test_cancel_midway_leaves_the_library_unchanged(demo: Path, tmp_path: Path) -> None:
    before = logical_dump(demo)
    run = window("cancel", demo, tmp_path)
    seen = run.seen
    assert seen["cancelling"]["phase"] == "Cancelling…"
    assert seen["cancelling"]["buttons"]["cancel"]["disabled"] is True
    assert seen["final_state"] == "cancelled"  # the user's own choice: not shown as a failure
    assert seen["done"]["title"] == "Upgrade cancelled"
    assert "cancelled" in seen["done"]["message"] and "exactly as it was" in seen["done"]["message"]
    events = [e for e in seen["events"] if e["operation"] == "migrate"]
    assert events[-1]["phase"] == "cancelled"
    assert logical_dump(demo) == before
    assert status(str(demo)).version == 10
    assert seen["done"]["buttons"]["upgrade"]["disabled"] is False  # free to start again


@pytest.mark.parametrize("damage,code_words,clicks", [
    ("corrupt page", "damaged", True),          # reads fine; the upgrade's pre-flight refuses
    ("version 9", "version 9", False),          # the status itself says it cannot be upgraded
])
def test_library_failing_preflight_shows_a_clean_failure(tmp_path: Path, damage: str, code_words: str,
                                                         clicks: bool) -> None:
    folder = tmp_path / "Zoë's recordings"
    folder.mkdir()
    path = folder / "library.db"
    _corrupt_page(path) if damage == "corrupt page" else _versioned(path, 9)
    before = path.read_bytes()
    run = window("preflight", path, tmp_path)
    loaded, done = run.seen["loaded"], run.seen["done"]
    assert loaded["buttons"]["upgrade"]["disabled"] is (not clicks)
    assert done["state"] == "failed"
    assert code_words in done["message"] and done["next"]
    no_leaks(json.dumps(done, ensure_ascii=False), path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == ["library.db"]  # no snapshot, no journal


def test_fix_these_from_the_page(demo: Path, tmp_path: Path) -> None:
    preview = preview_cleanup(str(demo))
    run = window("cleanup", demo, tmp_path)
    seen = run.seen
    assert f"{preview.duplicate_recordings.count} duplicate recordings" in seen["findings"][0]
    assert len(seen["findings"]) == 3 and seen["loaded"]["buttons"]["fix"]["disabled"] is False
    assert seen["final_state"] == "done" and seen["done"]["title"] == "Clean-up complete"
    after = preview_cleanup(str(demo))
    assert after.duplicate_recordings.count == after.orphaned_transcripts.count == \
        after.invalid_meeting_refs.count == 0
    assert f"{preview.duplicate_recordings.count} duplicate recordings removed" in seen["done"]["details"]
    assert seen["done"]["cleanup"].startswith("No problems found")
    assert seen["done"]["buttons"]["fix"]["disabled"] is True
    # The bar is the upgrade's: a clean-up does not leave it saying the upgrade finished.
    assert seen["done"]["progress"] == 0 and "finished" not in seen["done"]["phase"].lower()


def add_an_action_item(library: Path) -> None:
    """A user's change after the upgrade: one action item of their own."""
    conn = apsw.Connection(str(library))
    try:
        capture = conn.execute("SELECT id FROM knowledge_captures LIMIT 1").fetchone()[0]
        conn.execute("INSERT INTO action_items (id, knowledge_capture_id, content) VALUES ('mine', ?, 'Call Zoë')",
                     (capture,))
    finally:
        conn.close()


def test_restore_from_the_page_says_what_would_be_lost(demo: Path, tmp_path: Path) -> None:
    before = logical_dump(demo)
    assert migrate(str(demo)).success
    # A change after the upgrade: restoring must name it and ask again before discarding it.
    add_an_action_item(demo)
    migrated = status(str(demo)).recordings.migrated

    run = window("rollback", demo, tmp_path, screenshots=str(SCREENSHOTS))
    seen = run.seen
    assert seen["loaded"]["buttons"]["rollback"]["disabled"] is False
    assert f"{migrated} knowledge captures" in seen["confirm"] and "version 10" in seen["confirm"]
    assert seen["confirm_focus"] == "rollback-confirm-no"  # the safe choice has the focus
    assert "action items: 1 row" in seen["force_question"]
    assert seen["after_first_try"]["state"] == "idle"
    assert seen["final_state"] == "done" and seen["done"]["title"] == "Library restored"
    st = status(str(demo))
    assert st.version == 10 and seen["done"]["version"] == f"{st.version} (restored to before the upgrade)"
    assert seen["done"]["progress"] == 0 and "finished" not in seen["done"]["phase"].lower()
    assert logical_dump(demo) == before  # exactly as before the upgrade: "mine" was discarded


def test_first_run_offers_a_sample_library(tmp_path: Path) -> None:
    data = tmp_path / "data"
    run = run_window("first_run", tmp_path, [], env={"XDG_DATA_HOME": str(data)})
    assert "error" not in run.seen, run.seen["error"] + repr(run)
    assert run.proc.returncode == 0 and run.leftovers == []
    loaded, done = run.seen["loaded"], run.seen["done"]
    assert loaded["firstRun"] is True and loaded["buttons"]["create-sample"]["disabled"] is False
    assert loaded["buttons"]["upgrade"]["disabled"] is True
    assert done["firstRun"] is False and done["title"] == "Sample library created"
    library = data / "MeetingRecorder" / "library.db"
    st = status(str(library))
    assert st.version == 10 and st.recordings.total == int(done["counts"]["total"]) > 0
    assert done["buttons"]["upgrade"]["disabled"] is False
    assert str(data) not in done["body"] and "Traceback" not in done["body"]


def test_screenshot_for_the_readme_is_a_real_window_capture() -> None:
    """docs/screenshot.png is one of the captures above (copied by hand when the page changes)."""
    doc = Path(__file__).resolve().parent.parent / "docs" / "screenshot.png"
    assert png_size(doc) >= (800, 600)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_light_and_dark_follow_the_system_at_800x600(demo: Path, tmp_path: Path, scheme: str) -> None:
    # Chromium's own switch for the scheme the page sees as the system's (0 = dark, 1 = light).
    flags = f"--blink-settings=preferredColorScheme={0 if scheme == 'dark' else 1}"
    run = run_window("look", tmp_path, ["--library", str(demo)], library=str(demo), screenshots=str(SCREENSHOTS),
                     shot_name=f"{scheme}-800x600", env={"QTWEBENGINE_CHROMIUM_FLAGS": flags})
    assert "error" not in run.seen, run.seen["error"] + repr(run)
    assert run.seen["dark"] is (scheme == "dark")
    background = [int(n) for n in run.seen["colors"]["bg"][4:-1].split(",")]
    assert (sum(background) < 150) is (scheme == "dark")
    assert run.seen["scroll"] is True  # nothing wider than the window
    assert png_size(Path(run.seen["shot"])) == (800, 600)


if __name__ == "__main__":  # refresh docs/screenshot.png from the last run
    shutil.copy(SCREENSHOTS / "done.png", Path(__file__).resolve().parent.parent / "docs" / "screenshot.png")


def test_the_page_re_reads_the_library_when_the_window_comes_back(demo: Path, tmp_path: Path) -> None:
    """The command line upgrades the library while the window shows it: the page keeps its
    old word until the window is back in front, then says what is true now."""
    run = window("back_to_front", demo, tmp_path)
    seen = run.seen
    assert seen["cli_exit"] == 0 and status(str(demo)).version == 11
    assert seen["before"] == "ready" and seen["without_focus"] == "ready"  # it does not poll
    assert seen["after_focus"] == "upgraded" and "11" in seen["version_text"]
