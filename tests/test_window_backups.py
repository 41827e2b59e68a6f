"""The window's Backups section end to end: a real page in a real Qt window (offscreen).

Each test builds a real library (the 300-recording demo), makes its snapshots through the
engine (clean-up, upgrade), runs one scenario of `tests.window_driver` that clicks the real
buttons, and checks what the page showed against the files on disk: the snapshots folder,
and the library read back through the engine and apsw. A click that only shows text and
changes nothing on disk, or one that changes the disk without asking, fails here.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from app.engine.cleanup import preview_cleanup, run_cleanup
from app.engine.migrate import migrate
from app.engine.snapshots import snapshot_dir
from app.engine.status import status
from tests.conftest import logical_dump
from tests.test_window_flow import add_an_action_item, demo  # noqa: F401 - the fixture: a 300-recording demo in a folder named for a user
from tests.window_driver import SCREENSHOTS, WindowRun, run_window

# A zone with a half-hour offset and no summer time: a local time shown for a UTC one can
# never be mistaken for it (the minutes differ), whatever the date.
ZONE = "Asia/Kolkata"
LOCAL = {"TZ": ZONE, "LANG": "en_US.UTF-8", "LC_ALL": "en_US.UTF-8"}


def window(scenario: str, library: Path, tmp_path: Path, **config) -> WindowRun:
    run = run_window(scenario, tmp_path, ["--library", str(library)], library=str(library), env=LOCAL,
                     timeout=90, **config)
    assert "error" not in run.seen, run.seen["error"] + repr(run)
    assert run.proc.returncode == 0 and run.seen["exit_code"] == 0, run
    assert run.leftovers == [], run.leftovers
    return run


def no_leaks(text: str, library: Path) -> None:
    for needle in (str(library.parent), "Zoë", "Traceback", 'File "', "/tmp", ".py", ".sqlite", ".snapshots"):
        assert needle not in text, needle


def snapshot_files(library: Path) -> set[str]:
    folder = snapshot_dir(str(library))
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


def has_files_of(library: Path, snapshot_id: str) -> bool:
    return any(name.startswith(snapshot_id + ".") for name in snapshot_files(library))


def engine_snapshots(library: Path) -> list[dict]:
    st = status(str(library))
    assert st.success, st.errors
    return [s.model_dump(mode="json") for s in st.snapshots]


def one(snaps: list[dict], kind: str) -> dict:
    (found,) = [s for s in snaps if s["kind"] == kind]
    return found


def human(n: int) -> str:
    """What the page's formatBytes shows in en-US: decimal units, 3 significant digits."""
    if n < 1000:
        return f"{n} byte" + ("" if n == 1 else "s")
    value, units, i = n / 1000, ["kB", "MB", "GB", "TB"], 0
    while value >= 999.5 and i < len(units) - 1:
        value /= 1000
        i += 1
    return (f"{value:.1f}" if value < 9.95 else f"{int(value + 0.5):,}") + " " + units[i]


def local_clock(iso: str) -> tuple[datetime, list[str]]:
    """The time in ZONE, and the ways en-US may write its hour and minute."""
    when = datetime.fromisoformat(iso).astimezone(ZoneInfo(ZONE))
    hour12 = when.hour % 12 or 12
    return when, [f"{hour12}:{when.minute:02d}", f"{when.hour:02d}:{when.minute:02d}"]


def cleaned_and_upgraded(library: Path) -> str:
    """Clean-up then upgrade through the engine: a pre-cleanup and a pre-upgrade snapshot.
    Returns the library's logical dump from before the clean-up."""
    before = logical_dump(library)
    assert run_cleanup(str(library)).success
    assert migrate(str(library)).success
    return before


def test_the_list_shows_each_copy_in_local_time_with_its_size_and_purpose(demo: Path, tmp_path: Path) -> None:
    cleaned_and_upgraded(demo)
    snaps = engine_snapshots(demo)
    assert {s["kind"] for s in snaps} == {"pre-cleanup", "pre-upgrade"}

    run = window("backups_list", demo, tmp_path, screenshots=str(SCREENSHOTS), shot_name="backups")
    seen = run.seen["backups"]
    assert seen["time_zone"] in (ZONE, "Asia/Calcutta")  # the window runs in the test's zone (ICU's name)
    items = {i["id"]: i for i in seen["items"]}
    assert set(items) == {s["id"] for s in snaps}
    # Newest first: the upgrade came after the clean-up.
    assert [i["kind"] for i in seen["items"]] == ["pre-upgrade", "pre-cleanup"]

    for snap in snaps:
        item = items[snap["id"]]
        # The date: the engine's UTC time, shown as the local one, never as the raw string.
        assert snap["created_at"] not in item["text"] and "T" not in item["time"] and "+00:00" not in item["text"]
        assert item["datetime"] == snap["created_at"]
        when, clocks = local_clock(snap["created_at"])
        utc = datetime.fromisoformat(snap["created_at"])
        assert any(c in item["time"] for c in clocks), (item["time"], clocks)
        assert f"{utc.hour:02d}:{utc.minute:02d}" not in item["time"] and f":{utc.minute:02d}" not in item["time"]
        assert str(when.year) in item["time"] and str(when.day) in item["time"]
        # Its size for people, its version and what it is for, as the engine says.
        assert human(snap["size_bytes"]) in item["facts"] and re.search(r"\d (kB|MB)$", item["facts"])
        assert f"Version {snap['version']}" in item["facts"]
        assert item["purpose"] == snap["purpose"] and item["purpose"]
        assert item["valid"] is True and item["problem"] is None
        assert item["actions"] == ["restore", "delete"] and not any(item["disabled"])
        assert item["way_back"] is snap["way_back"]
    assert items[one(snaps, "pre-upgrade")["id"]]["way_back"] is True
    assert "The way back" in items[one(snaps, "pre-upgrade")["id"]]["text"]

    # The total, and the library's own size beside it.
    total = sum(s["size_bytes"] for s in snaps)
    library_bytes = demo.stat().st_size
    assert seen["summary"].startswith(f"2 saved copies take {human(total)} of disk space"), seen["summary"]
    assert f"the library itself ({human(library_bytes)})" in seen["summary"] or \
        f"the library itself takes {human(library_bytes)}" in seen["summary"], seen["summary"]
    no_leaks(json.dumps(run.seen, ensure_ascii=False).replace(str(SCREENSHOTS), ""), demo)
    no_leaks(run.seen["loaded"]["body"], demo)


def test_a_copy_that_fails_its_check_says_why_and_offers_no_restore(demo: Path, tmp_path: Path) -> None:
    cleaned_and_upgraded(demo)
    way_back = one(engine_snapshots(demo), "pre-upgrade")
    damaged = snapshot_dir(str(demo)) / f"{way_back['id']}.sqlite"
    data = bytearray(damaged.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte flipped: the copy no longer matches its checksum
    damaged.write_bytes(bytes(data))
    after = one(engine_snapshots(demo), "pre-upgrade")
    assert after["valid"] is False and after["problem"]

    run = window("backups_list", demo, tmp_path)
    items = {i["id"]: i for i in run.seen["backups"]["items"]}
    item = items[way_back["id"]]
    assert item["valid"] is False and item["actions"] == ["delete"]  # no Restore
    assert item["problem"] == "Cannot be restored: " + after["problem"]
    other = items[one(engine_snapshots(demo), "pre-cleanup")["id"]]
    assert other["valid"] is True and other["actions"] == ["restore", "delete"]
    # The way back does not validate, so the plain restore is off too.
    assert run.seen["loaded"]["buttons"]["rollback"]["disabled"] is True
    no_leaks(run.seen["loaded"]["body"], demo)


def test_deleting_the_way_back_asks_is_refused_once_and_deletes_on_the_second_yes(demo: Path, tmp_path: Path) -> None:
    assert migrate(str(demo)).success
    way_back = one(engine_snapshots(demo), "pre-upgrade")
    assert has_files_of(demo, way_back["id"]) and status(str(demo)).can_rollback

    run = window("backup_delete", demo, tmp_path, snapshot="way-back", second="yes", screenshots=str(SCREENSHOTS))
    seen = run.seen
    # The first click only asks, and says what is lost.
    asked = seen["asked"]["confirm"]
    assert seen["unchanged_after_asking"] is True
    assert asked["action"] == "delete" and asked["stage"] == "first" and asked["snapshot"] == way_back["id"]
    assert "can no longer be undone" in asked["text"] and human(way_back["size_bytes"]) in asked["text"]
    assert asked["focus"] == "backup-confirm-no"  # the safe choice has the focus
    # "Delete this copy": the engine refuses (SNAPSHOT_NEEDED), the page asks again, nothing is gone.
    again = seen["after_first"]["confirm"]
    assert again["stage"] == "again" and again["hidden"] is False and again["force"]["hidden"] is False
    assert again["force"]["text"] == "Delete it anyway" and again["yes"]["hidden"] is True
    assert "undone" in again["text"]
    assert any(Path(f).name.startswith(way_back["id"] + ".") for f in seen["files_after_first"])  # still there
    # The second, explicit yes deletes it: gone from disk, from the list and from the engine.
    done = seen["done"]
    assert done["message_state"] == "done" and "no longer be undone" in done["message"]
    assert done["confirm"]["hidden"] is True
    assert way_back["id"] not in [i["id"] for i in done["items"]]
    assert not has_files_of(demo, way_back["id"])
    assert engine_snapshots(demo) == [] and status(str(demo)).can_rollback is False
    assert seen["page"]["buttons"]["rollback"]["disabled"] is True
    assert status(str(demo)).version == 11  # the library itself untouched
    no_leaks(seen["page"]["body"], demo)


def test_saying_no_to_the_second_question_keeps_the_way_back(demo: Path, tmp_path: Path) -> None:
    assert migrate(str(demo)).success
    way_back = one(engine_snapshots(demo), "pre-upgrade")
    before = snapshot_files(demo)
    run = window("backup_delete", demo, tmp_path, snapshot="way-back", second="no")
    assert run.seen["after_first"]["confirm"]["stage"] == "again"
    assert run.seen["done"]["confirm"]["hidden"] is True
    assert way_back["id"] in [i["id"] for i in run.seen["done"]["items"]]
    assert snapshot_files(demo) == before and status(str(demo)).can_rollback is True


def test_deleting_another_copy_asks_once(demo: Path, tmp_path: Path) -> None:
    cleaned_and_upgraded(demo)
    snaps = engine_snapshots(demo)
    pre_cleanup, way_back = one(snaps, "pre-cleanup"), one(snaps, "pre-upgrade")
    run = window("backup_delete", demo, tmp_path, snapshot=pre_cleanup["id"])
    seen = run.seen
    assert seen["unchanged_after_asking"] is True
    assert "can then no longer be restored" in seen["asked"]["confirm"]["text"]
    assert seen["after_first"]["message_state"] == "done"  # no second question for this one
    assert human(pre_cleanup["size_bytes"]) + " freed" in seen["done"]["message"]
    assert not has_files_of(demo, pre_cleanup["id"]) and has_files_of(demo, way_back["id"])
    assert [s["id"] for s in engine_snapshots(demo)] == [way_back["id"]]
    assert [i["id"] for i in seen["done"]["items"]] == [way_back["id"]]
    assert seen["done"]["summary"].startswith(f"1 saved copy takes {human(way_back['size_bytes'])}")


def test_restoring_a_chosen_copy_puts_that_library_back(demo: Path, tmp_path: Path) -> None:
    before_cleanup = cleaned_and_upgraded(demo)
    snaps = engine_snapshots(demo)
    pre_cleanup = one(snaps, "pre-cleanup")
    upgraded = logical_dump(demo)
    assert upgraded != before_cleanup

    run = window("backup_restore", demo, tmp_path, snapshot=pre_cleanup["id"])
    seen = run.seen
    assert seen["unchanged_after_asking"] is True  # Restore in the list only asks
    asked = seen["asked"]["confirm"]
    assert asked["action"] == "restore" and asked["snapshot"] == pre_cleanup["id"]
    _, clocks = local_clock(pre_cleanup["created_at"])
    assert any(c in asked["title"] for c in clocks) and pre_cleanup["created_at"] not in asked["title"]
    # Restoring it would undo the clean-up (and the upgrade): the engine says so, the page asks
    # again naming what would go, and only "Restore and discard these changes" restores it.
    again = seen["after_first"]["confirm"]
    assert again["stage"] == "again" and again["snapshot"] == pre_cleanup["id"] and again["yes"]["hidden"] is True
    assert any(line.startswith("recordings: ") for line in again["lose"]), again["lose"]
    assert seen["page_after_first"]["state"] == "idle"
    assert seen["final_state"] == "done" and seen["done"]["title"] == "Library restored", seen["done"]
    # On disk: exactly the library from before the clean-up (version 10, its problems back).
    assert logical_dump(demo) == before_cleanup
    st = status(str(demo))
    assert st.version == 10 and seen["done"]["version"].startswith("10")
    assert preview_cleanup(str(demo)).duplicate_recordings.count > 0
    # The state it replaced was kept, and the list shows it.
    after = engine_snapshots(demo)
    safety = [s for s in after if s["kind"] == "pre-rollback"]
    assert safety and has_files_of(demo, safety[0]["id"])
    assert safety[0]["id"] in [i["id"] for i in seen["backups_after"]["items"]]
    no_leaks(seen["done"]["body"], demo)


def test_restoring_the_way_back_from_the_list_says_what_would_be_lost(demo: Path, tmp_path: Path) -> None:
    before = logical_dump(demo)
    assert migrate(str(demo)).success
    add_an_action_item(demo)
    changed = logical_dump(demo)
    way_back = one(engine_snapshots(demo), "pre-upgrade")

    run = window("backup_restore", demo, tmp_path, snapshot=way_back["id"])
    seen = run.seen
    assert "Restore the library as it was on" in seen["asked"]["confirm"]["title"]
    # The first yes is refused (WOULD_LOSE_DATA): nothing restored, and the page names the loss.
    again = seen["after_first"]["confirm"]
    assert again["stage"] == "again" and again["force"]["text"] == "Restore and discard these changes"
    assert again["lose"] == ["action items: 1 row added, changed or removed"], again["lose"]
    assert seen["page_after_first"]["state"] == "idle"
    # Only "Restore and discard these changes" restored it.
    assert seen["final_state"] == "done" and seen["done"]["title"] == "Library restored"
    assert logical_dump(demo) == before != changed
    assert status(str(demo)).version == 10


def test_fix_these_asks_first_and_says_a_copy_is_kept_in_backups(demo: Path, tmp_path: Path) -> None:
    preview = preview_cleanup(str(demo))
    assert preview.duplicate_recordings.count > 0
    before = logical_dump(demo)
    run = window("fix_asks", demo, tmp_path)
    seen = run.seen
    assert seen["backups_before"]["items"] == []
    # A click alone, and then "Not now", change nothing on disk.
    assert seen["unchanged_after_click"] is True and seen["unchanged_after_no"] is True
    assert "copy" in seen["asked"] and "Backups" in seen["asked"]
    assert seen["asked_focus"] == "fix-confirm-no"
    assert seen["asked_page"]["state"] == "idle"
    # The confirmation runs it: problems fixed, after a snapshot the list now shows.
    assert seen["final_state"] == "done" and seen["done"]["title"] == "Clean-up complete"
    after = preview_cleanup(str(demo))
    assert after.duplicate_recordings.count == after.orphaned_transcripts.count == 0
    assert logical_dump(demo) != before
    pre_cleanup = one(engine_snapshots(demo), "pre-cleanup")
    assert has_files_of(demo, pre_cleanup["id"])
    assert [i["id"] for i in seen["backups_after"]["items"]] == [pre_cleanup["id"]]
