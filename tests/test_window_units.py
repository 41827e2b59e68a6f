"""The window's Python side without a window: the API functions, the progress push, the
close guard, the first-run offer, and the clean-up of calls stranded by a closing window.

A `FakeWindow` stands in for pywebview's: it records what would have been evaluated in the
page, and can be made to fail or to block like a closed window.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from app.desktop import api as api_module
from app.engine import snapshots
from app.desktop.api import API_NAMES, OperationWatch, make_api
from app.desktop.opener import OPENER_ENV, opener_command
from app.engine.preview import OPERATION as PREVIEW_OPERATION
from app.desktop.closing import CLOSE_CONFIRMED, CLOSE_REQUESTED, CloseGuard
from app.desktop.firstrun import LIBRARY_CHANGED, SampleOffer
from app.desktop.page import PROGRESS_EVENT, ProgressPush, dispatch, event_script
from app.desktop.shell import _free_stranded_calls
from app.engine.progress import ProgressEvent, ProgressRegistry
from app.engine.status import status
from tests.conftest import build_v10, fill


class Events:
    def __init__(self) -> None:
        self.closed = _Hook()


class _Hook:
    def __init__(self) -> None:
        self.items: list = []

    def __iadd__(self, item):
        self.items.append(item)
        return self


class FakeWindow:
    def __init__(self, fail: bool = False) -> None:
        self.scripts: list[str] = []
        self.fail = fail
        self.destroyed = threading.Event()
        self.events = Events()

    def evaluate_js(self, script: str) -> Any:
        if self.fail:
            raise RuntimeError("the window is gone")
        self.scripts.append(script)
        return True

    def destroy(self) -> None:
        self.destroyed.set()

    def page_events(self) -> list[tuple[str, Any]]:
        """The (name, detail) of every CustomEvent dispatched, decoded as the page would."""
        out = []
        for script in self.scripts:
            head = "window.dispatchEvent(new CustomEvent("
            assert script.startswith(head)
            name, rest = script[len(head):].split(", {detail: ", 1)
            out.append((json.loads(name), json.loads(rest.rsplit("})); true", 1)[0])))
        return out


def in_thread(func, *args) -> Any:
    box: list = []
    t = threading.Thread(target=lambda: box.append(func(*args)))
    t.start()
    t.join(10)
    return box[0] if box else None


@pytest.fixture
def lib(tmp_path: Path):
    library = build_v10(tmp_path / "library.db")
    fill(library, 30)
    return library


def api(path: str, registry: ProgressRegistry | None = None, watch: OperationWatch | None = None) -> dict:
    functions = make_api(path, registry or ProgressRegistry(), watch)
    return {f.__name__: f for f in functions}


# ---- the API functions ----------------------------------------------------------------------

def test_the_twelve_are_plain_functions_with_the_page_names(lib) -> None:
    funcs = api(str(lib))
    assert tuple(funcs) == API_NAMES
    for f in funcs.values():
        assert type(f).__name__ == "function" and f.__defaults__ is None


def test_results_are_plain_json_in_the_engine_shape(lib) -> None:
    funcs = api(str(lib))
    got = funcs["get_status"]()
    assert got == status(str(lib)).model_dump(mode="json") | {"duration_seconds": got["duration_seconds"]}
    json.dumps(got)  # serialisable as it is
    for name in ("preview_cleanup", "run_cleanup", "migrate", "rollback", "cancel"):
        result = funcs[name]()
        json.dumps(result)
        assert isinstance(result["success"], bool) and isinstance(result["errors"], list), name


@pytest.mark.parametrize("name,args", [
    ("get_status", (1,)), ("preview_cleanup", ("x",)), ("run_cleanup", ({},)), ("migrate", (None,)),
    ("cancel", (True,)), ("rollback", ("true",)), ("rollback", (1,)), ("rollback", (0,)),
    ("rollback", (None,)), ("rollback", ([],)), ("rollback", (True, True)), ("rollback", (False, 5)),
    ("rollback", (False, "pre-upgrade-x", 1)), ("list_snapshots", (1,)), ("delete_snapshot", ()),
    ("delete_snapshot", (1,)), ("delete_snapshot", (None,)), ("delete_snapshot", ("x", "yes")),
    ("delete_snapshot", ("x", True, 3)), ("preview_upgrade", (1,)), ("support_report", (False,)),
    ("show_in_folder", ("/etc",)), ("show_in_folder", (None,)), ("open_log_folder", ("..",)),
])
def test_unexpected_arguments_are_invalid_argument_and_change_nothing(lib, name, args) -> None:
    before = lib.dump()
    result = api(str(lib))[name](*args)
    assert result["success"] is False
    assert [e["code"] for e in result["errors"]] == ["INVALID_ARGUMENT"]
    assert result["errors"][0]["message"].startswith(name)
    assert lib.dump() == before


@pytest.mark.parametrize("name,args", [
    ("rollback", (False, "../../etc/passwd")), ("rollback", (True, "pre-upgrade-Z")),
    ("delete_snapshot", ("../library.db",)), ("delete_snapshot", ("pre-upgrade-2026", True)),
    ("delete_snapshot", ("pre-upgrade-20260101T120000000000Z.json",)),
])
def test_snapshot_ids_the_app_does_not_make_are_refused(lib, name, args) -> None:
    funcs = api(str(lib))
    assert funcs["migrate"]()["success"] is True
    folder = snapshots.snapshot_dir(str(lib))
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    before = lib.dump()
    result = funcs[name](*args)
    assert [e["code"] for e in result["errors"]] == ["INVALID_ARGUMENT"], result
    assert lib.dump() == before and {p.name: p.read_bytes() for p in folder.iterdir()} == files
    # Negative control: the id the app made is taken.
    way_back = next(s for s in funcs["list_snapshots"]()["snapshots"] if s["way_back"])
    assert funcs["delete_snapshot"](way_back["id"])["errors"][0]["code"] == "SNAPSHOT_NEEDED"


def test_rollback_takes_a_real_boolean(lib) -> None:
    funcs = api(str(lib))
    assert funcs["migrate"]()["success"] is True
    assert funcs["rollback"](True)["success"] is True  # force=true, a real boolean
    assert status(str(lib)).version == 10


def test_a_bug_becomes_internal_error_without_a_traceback(lib, monkeypatch, caplog) -> None:
    def broken(*_a, **_k):
        raise RuntimeError(f"boom at {lib.path}")
    monkeypatch.setattr(api_module, "engine_migrate", broken)
    monkeypatch.setattr(api_module, "engine_status", broken)
    funcs = api(str(lib))
    for name in ("migrate", "get_status"):
        result = funcs[name]()
        assert result["errors"][0]["code"] == "INTERNAL_ERROR"
        text = json.dumps(result)
        assert "boom" not in text and str(lib.path) not in text and "Traceback" not in text
    assert "boom" in caplog.text  # the details went to the log


def test_cancel_reaches_running_operations() -> None:
    registry = ProgressRegistry()
    tracker = registry.open("migrate")
    result = api("unused.db", registry)["cancel"]()
    assert result == {"operation": "cancel", "success": True, "cancelled": 1, "errors": [], "warnings": []}
    assert tracker.cancelled


def test_no_operation_starts_once_the_window_is_closing(lib) -> None:
    watch = OperationWatch()
    funcs = api(str(lib), watch=watch)
    watch.refuse_new()
    before = lib.dump()
    for name in ("migrate", "run_cleanup", "rollback"):
        assert funcs[name]()["errors"][0]["code"] == "CANCELLED"
    assert funcs["get_status"]()["success"] is True  # reading is still fine
    assert lib.dump() == before


def test_the_watch_counts_and_waits() -> None:
    watch = OperationWatch()
    entered, leave = threading.Event(), threading.Event()

    def work():
        with watch.running():
            entered.set()
            leave.wait(5)
    t = threading.Thread(target=work)
    t.start()
    entered.wait(5)
    assert watch.busy and not watch.wait_idle(0.05)
    leave.set()
    assert watch.wait_idle(5) and not watch.busy
    t.join()


# ---- progress to the page ---------------------------------------------------------------

def event(phase: str, percent: float, tracker: str = "migrate-1", **extra) -> ProgressEvent:
    return ProgressEvent(tracker_id=tracker, operation="migrate", phase=phase, percent=percent, **extra)


def test_events_reach_the_page_as_custom_events_with_every_field() -> None:
    window, registry = FakeWindow(), ProgressRegistry()
    push = ProgressPush(window, registry)
    push.attach()
    nasty = "'); alert(1); ('\u2028</script>\"\\"
    in_thread(push, event("migrating", 40.0, processed=2, total=5, eta_seconds=1.5, message=nasty))
    (name, detail), = window.page_events()
    assert name == PROGRESS_EVENT
    assert detail == {"tracker_id": "migrate-1", "operation": "migrate", "phase": "migrating", "percent": 40.0,
                      "processed": 2, "total": 5, "eta_seconds": 1.5, "message": nasty}
    assert "\u2028" not in window.scripts[0]  # JSON-escaped: a JS line break would end the string


def test_per_window_throttle_keeps_phase_changes_and_the_end() -> None:
    window, registry = FakeWindow(), ProgressRegistry()
    push = ProgressPush(window, registry, min_interval=10)
    for e in [event("snapshot", 2), event("snapshot", 10), event("snapshot", 20), event("migrating", 22),
              event("migrating", 50), event("verifying", 85), event("complete", 100)]:
        in_thread(push, e)
    assert [(d["phase"], d["percent"]) for _, d in window.page_events()] == [
        ("snapshot", 2), ("migrating", 22), ("verifying", 85), ("complete", 100)]


def test_throttle_is_per_operation() -> None:
    window = FakeWindow()
    push = ProgressPush(window, ProgressRegistry(), min_interval=10)
    for e in [event("migrating", 30, "a"), event("migrating", 30, "b"), event("migrating", 40, "a")]:
        in_thread(push, e)
    assert [d["tracker_id"] for _, d in window.page_events()] == ["a", "b"]


def test_never_from_the_gui_thread_and_never_after_close() -> None:
    window, registry = FakeWindow(), ProgressRegistry()
    push = ProgressPush(window, registry)
    push.attach()
    push(event("migrating", 30))  # this test's own thread is the main thread: the GUI's here
    assert window.scripts == []
    assert registry.listener_count() == 1
    (on_closed,) = window.events.closed.items
    on_closed()
    assert registry.listener_count() == 0
    in_thread(push, event("complete", 100))
    assert window.scripts == []


def test_a_closed_window_does_not_break_the_operation() -> None:
    assert in_thread(dispatch, FakeWindow(fail=True), "x", {}) is False
    assert event_script("a:b", {"k": [1, None]}) == \
        'window.dispatchEvent(new CustomEvent("a:b", {detail: {"k": [1, null]}})); true'


# ---- closing ----------------------------------------------------------------------------

def test_close_goes_through_when_idle() -> None:
    window, watch = FakeWindow(), OperationWatch()
    accepted = []
    guard = CloseGuard(window, ProgressRegistry(), watch, on_accept=lambda: accepted.append(1))
    assert guard.on_closing() is True and accepted == [1]
    with pytest.raises(api_module.WindowClosing):
        with watch.running():
            pass


def test_close_mid_operation_asks_then_cancels_waits_and_closes() -> None:
    window, watch, registry = FakeWindow(), OperationWatch(), ProgressRegistry()
    guard = CloseGuard(window, registry, watch)
    tracker = registry.open("migrate")
    running, done = threading.Event(), threading.Event()

    def operation():
        with watch.running():
            running.set()
            while not tracker.cancelled:
                time.sleep(0.01)
            time.sleep(0.2)  # the rollback takes a moment
        done.set()
    threading.Thread(target=operation).start()
    running.wait(5)

    guard.on_confirm()  # a click with no close asked for does nothing
    assert not tracker.cancelled and not window.destroyed.is_set()

    assert guard.on_closing() is False  # the close is refused...
    time.sleep(0.2)
    assert window.page_events() == [(CLOSE_REQUESTED, {})]  # ...and the page asked
    in_thread(guard.on_confirm)
    assert done.is_set() and tracker.cancelled  # closed only after the operation ended
    assert window.destroyed.is_set()
    assert window.page_events()[-1] == (CLOSE_CONFIRMED, {})
    assert guard.on_closing() is True  # the close that destroy() causes goes through


def test_stranded_page_calls_are_freed_once_the_gui_loop_ends() -> None:
    class Native:
        def __init__(self):
            self._js_results = {}

    window = FakeWindow()
    window.native = Native()
    semaphore = threading.Semaphore(0)
    window.native._js_results["id"] = {"semaphore": semaphore, "result": ""}
    # Like pywebview's _call thread, but a daemon: were the test to fail, it must not hang pytest.
    stuck = threading.Thread(target=semaphore.acquire, name="stuck", daemon=True)
    stuck.start()
    _free_stranded_calls(window, timeout=5)
    stuck.join(1)
    assert not stuck.is_alive()


# ---- first run --------------------------------------------------------------------------

def test_sample_library_is_made_once_with_its_folder_and_the_page_told(tmp_path: Path) -> None:
    window = FakeWindow()
    target = tmp_path / "data" / "MeetingRecorder" / "library.db"
    offer = SampleOffer(window, str(target), is_default=True, recordings=20)
    in_thread(offer.on_click, {"type": "click"})
    assert status(str(target)).recordings.total == 20
    first = target.read_bytes()
    in_thread(offer.on_click, {"type": "click"})  # a second (or forged) click changes nothing
    assert target.read_bytes() == first
    assert window.page_events() == [(LIBRARY_CHANGED, {"success": True, "created": True}),
                                    (LIBRARY_CHANGED, {"success": True, "created": False})]


@pytest.mark.parametrize("folder_exists", [False, True])
def test_no_sample_library_away_from_the_default_location(tmp_path: Path, folder_exists: bool) -> None:
    """A missing --library file is most likely a typo: a click (real or forged) writes nothing."""
    window = FakeWindow()
    target = tmp_path / "folder" / "libary.db"
    if folder_exists:
        target.parent.mkdir()
    in_thread(SampleOffer(window, str(target), is_default=False).on_click, None)
    (name, detail), = window.page_events()
    assert detail["success"] is False and detail["errors"][0]["code"] == "INVALID_ARGUMENT"
    assert str(tmp_path) not in json.dumps(detail)
    assert not target.exists() and target.parent.exists() is folder_exists
    if folder_exists:
        assert list(target.parent.iterdir()) == []


def test_the_default_location_is_told_by_where_it_is(tmp_path: Path, monkeypatch) -> None:
    from app.desktop.shell import at_default_location, ready_detail
    from app.engine.locations import default_library

    default = str(default_library())
    assert at_default_location(default) and ready_detail(default)["sample_offer"] is True
    assert not at_default_location(str(tmp_path / "library.db"))
    Path(default).parent.mkdir(parents=True)
    monkeypatch.chdir(Path(default).parent.parent)  # a relative name of the same file
    assert at_default_location(str(Path(Path(default).parent.name) / Path(default).name))
    assert ready_detail("x.db") == {"library_path": str(Path.cwd() / "x.db"), "sample_offer": False}


# ---- the window's own helpers: opening folders, the report, the preview -----------------

RECORDER = """import json, sys
with open({out!r}, "a", encoding="utf-8") as f:
    f.write(json.dumps(sys.argv[1:]) + "\\n")
sys.exit({code})
"""


def recorder(tmp_path: Path, code: int = 0) -> tuple[str, Path]:
    out = tmp_path / f"opened-{code}.jsonl"
    script = tmp_path / f"recorder-{code}.py"
    script.write_text(RECORDER.format(out=str(out), code=code))
    return f"{sys.executable} {script}", out


def test_show_in_folder_opens_the_library_folder_and_the_log_folder_with_an_argument_list(
        lib, tmp_path: Path, monkeypatch) -> None:
    from app.engine.locations import log_dir

    command, out = recorder(tmp_path)
    monkeypatch.setenv(OPENER_ENV, command)
    funcs = api(str(lib))
    assert funcs["show_in_folder"]() == {"operation": "show-in-folder", "success": True, "errors": [],
                                         "warnings": [], "duration_seconds": 0.0, "version": None}
    assert funcs["open_log_folder"]()["success"] is True
    assert [json.loads(line) for line in out.read_text().splitlines()] == [[str(lib.path.parent)], [str(log_dir())]]
    assert log_dir().is_dir()  # made, if no log was written yet


@pytest.mark.parametrize("how", ["missing program", "failing program"])
def test_a_folder_that_cannot_be_opened_says_so_without_the_path(lib, tmp_path: Path, monkeypatch, how) -> None:
    command = str(tmp_path / "no-such-opener") if how == "missing program" else recorder(tmp_path, 3)[0]
    monkeypatch.setenv(OPENER_ENV, command)
    result = api(str(lib))["show_in_folder"]()
    assert result["success"] is False and result["errors"][0]["code"] == "OPEN_FAILED"
    assert str(tmp_path) not in json.dumps(result)


def test_the_default_opener_is_the_platforms(monkeypatch) -> None:
    monkeypatch.delenv(OPENER_ENV, raising=False)
    assert opener_command() == (["open"] if sys.platform == "darwin" else ["explorer"]
                                if sys.platform.startswith("win") else ["xdg-open"])
    monkeypatch.setenv(OPENER_ENV, "my-opener --new-window")
    assert opener_command() == ["my-opener", "--new-window"]


def test_the_support_report_is_scrubbed_text(lib) -> None:
    import getpass

    result = api(str(lib))["support_report"]()
    assert result["success"] is True and json.loads(result["text"])["recordings"]["total"] == 30
    for secret in (str(lib.path.parent), lib.path.name, getpass.getuser()):
        assert secret not in result["text"], secret


def test_the_cleanup_preview_carries_the_fix_and_names_samples(tmp_path: Path) -> None:
    library = build_v10(tmp_path / "library.db")
    fill(library, 20)
    library.add_recording("dup", filename="REC00001.WAV", date_recorded="2025-03-01 08:00:00", meeting_id="gone")
    library.add_transcript("orphan", "gone recording", title_suggestion="Weekly sync")
    result = api(str(library))["preview_cleanup"]()
    assert result["fix"]["duplicate_recordings_removed"] == 1 and result["fix"]["meeting_refs_on_duplicates"] == 1
    (orphan,) = result["orphaned_transcripts"]["sample"]
    assert orphan["title"] == "Weekly sync" and orphan["date"]
    (ref,) = result["invalid_meeting_refs"]["sample"]
    assert ref["filename"] == "REC00001.WAV" and ref["date"] == "2025-03-01 08:00:00"


def test_a_writer_stops_a_running_preview_first(lib) -> None:
    registry = ProgressRegistry()
    preview = registry.open(PREVIEW_OPERATION)
    other = registry.open("status")

    def close_when_cancelled() -> None:
        while not preview.cancelled:
            time.sleep(0.01)
        registry.close(preview)
    threading.Thread(target=close_when_cancelled, daemon=True).start()
    assert api(str(lib), registry)["migrate"]()["success"] is True
    assert preview.cancelled and preview.closed and not other.cancelled
    registry.close(other)
