"""The twelve functions the page can call as `window.pywebview.api.*`, and nothing else.

Why plain functions handed to `window.expose()` rather than a js_api object: pywebview's
raw bridge (`pywebview._jsApiCallback(name, ...)`) resolves any dotted attribute path of a
js_api object, underscore names included (`_window`, `__init__`, `method.__globals__`...).
With `js_api=None` it resolves a name only by exact match in the exposed-function table,
or against None, so what these closures capture (the library path, the registry, the
operation watch) is out of the page's reach.

JS may pass anything: every function checks its own arguments. Each returns the engine's
result as a plain JSON dict and never raises, because a Python exception would reject the
JS promise with the Python traceback (file paths included) as its `stack`.

Beyond the engine's eight (the original IPC channels), four serve the window alone: the
upgrade preview (`app.engine.preview`), the support report as text for the clipboard,
and opening the library's folder or the log folder (`opener`). The two that open folders
take no arguments: the page cannot name a folder, only ask for one of those two. The
clean-up preview also carries what "Fix these" would do and names its samples
(`app.engine.cleanup_plan`), for the confirmation. A writing operation first stops a
running upgrade preview (`stop_previews`), so that its read never holds up the writer.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.desktop.opener import OpenFailed, open_folder
from app.engine import errors
from app.engine.backups import delete_snapshot as engine_delete_snapshot
from app.engine.backups import list_snapshots as engine_list_snapshots
from app.engine.cleanup import preview_cleanup as engine_preview_cleanup
from app.engine.cleanup import run_cleanup as engine_run_cleanup
from app.engine.cleanup_plan import plan_cleanup
from app.engine.locations import log_dir
from app.engine.migrate import migrate as engine_migrate
from app.engine.preview import OPERATION as PREVIEW_OPERATION
from app.engine.preview import preview_upgrade as engine_preview_upgrade
from app.engine.private import private_tree
from app.engine.progress import ProgressRegistry
from app.engine.results import OperationResult, Problem
from app.engine.rollback import rollback as engine_rollback
from app.engine.report import build_report
from app.engine.status import status as engine_status

log = logging.getLogger(__name__)

Result = dict[str, Any]

OPEN_FAILED = "OPEN_FAILED"  # the file manager could not be opened (a window-only code)
CLOSING_MESSAGE = "The window is closing, so nothing was started. The library was not changed."


class WindowClosing(Exception):
    """Raised by `OperationWatch.running` once the window has started to close."""


class OperationWatch:
    """Counts the writing operations in flight, so that closing the window can wait for them.

    Once `refuse_new()` is called (the user confirmed closing), no new operation starts:
    otherwise an upgrade clicked in the last instant could begin after the cancel went out.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._running = 0
        self._refusing = False

    @contextmanager
    def running(self) -> Iterator[None]:
        with self._cond:
            if self._refusing:
                raise WindowClosing()
            self._running += 1
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                self._cond.notify_all()

    @property
    def busy(self) -> bool:
        with self._cond:
            return self._running > 0

    def refuse_new(self) -> None:
        with self._cond:
            self._refusing = True

    def wait_idle(self, timeout: float) -> bool:
        """True once no operation runs; False if one still runs after `timeout` seconds."""
        with self._cond:
            return self._cond.wait_for(lambda: self._running == 0, timeout)


def problem_result(operation: str, code: str, message: str) -> Result:
    """A failed result in the engine's shape, for failures the engine never saw."""
    return OperationResult(operation=operation, errors=[Problem(code=code, message=message)]).model_dump(mode="json")


def _invalid(operation: str, message: str) -> Result:
    return problem_result(operation, errors.InvalidArgument.code, message)


def _guarded(operation: str, body: Callable[[], OperationResult]) -> Result:
    """The last line: whatever happens in `body`, the page gets a result, never a traceback."""
    try:
        return body().model_dump(mode="json")
    except Exception:
        log.exception("window call %s failed unexpectedly", operation)
        return problem_result(operation, "INTERNAL_ERROR", errors.EngineError.default_message)


PREVIEW_STOP_WAIT = 5.0  # seconds a writer waits for a cancelled preview to let go of the library


def stop_previews(registry: ProgressRegistry, timeout: float = PREVIEW_STOP_WAIT) -> None:
    """Cancel every running upgrade preview and wait (briefly) until each has ended.

    A preview holds a read transaction for seconds on a big library; in rollback-journal
    mode that would keep a writer from committing (IN_PROGRESS after the busy timeout).
    A preview stops at its next batch, so the writer goes first and the page asks again.
    """
    previews = [t for t in registry.active() if t.operation == PREVIEW_OPERATION]
    for tracker in previews:
        tracker.cancel()
    deadline = time.monotonic() + timeout
    while any(not t.closed for t in previews) and time.monotonic() < deadline:
        time.sleep(0.01)


def opened(operation: str, folder: Callable[[], Path]) -> Result:
    """Open a folder the app chose; a result in the engine's shape either way."""
    try:
        open_folder(folder())
    except OpenFailed as exc:
        return problem_result(operation, OPEN_FAILED, str(exc))
    except Exception:
        log.exception("%s failed unexpectedly", operation)
        return problem_result(operation, "INTERNAL_ERROR", errors.EngineError.default_message)
    return OperationResult(operation=operation, success=True).model_dump(mode="json")


def log_folder() -> Path:
    """The log folder, made (readable by the user alone) if no log was written yet."""
    folder = log_dir()
    private_tree(folder)
    return folder


def cleanup_preview_result(library_path: str, registry: ProgressRegistry) -> Result:
    """The engine's clean-up preview, plus what the fix would do step by step (`fix`, for
    the confirmation) and, in each sample, the file name, title and date a user knows it
    by (`app.engine.cleanup_plan`). Without those (the plan failed), the preview as it is."""
    preview = engine_preview_cleanup(library_path, registry=registry)
    result = preview.model_dump(mode="json")
    if not preview.success:
        return result
    recordings = preview.duplicate_recordings.sample + preview.invalid_meeting_refs.sample
    ids = {"recordings": [s["id"] for s in recordings if s.get("id") is not None],
           "transcripts": [s["id"] for s in preview.orphaned_transcripts.sample if s.get("id") is not None]}
    plan = plan_cleanup(library_path, ids, registry=registry)
    if not plan.success:
        return result
    result["fix"] = plan.fix.model_dump()
    for finding, labels in (("duplicate_recordings", plan.recordings), ("invalid_meeting_refs", plan.recordings),
                            ("orphaned_transcripts", plan.transcripts)):
        for sample in result[finding]["sample"]:
            label = labels.get(str(sample.get("id")))
            if label is not None:
                sample.update(label.model_dump(exclude_none=True))
    return result


def report_result(library_path: str, registry: ProgressRegistry) -> Result:
    """The support report (scrubbed: no path, no user name, no recording text), with its
    JSON as `text` for the clipboard: the page shows and copies that text as it is."""
    report = build_report(library_path, registry=registry)
    return report.model_dump(mode="json") | {"text": report.model_dump_json(indent=2)}


def _raw_guarded(operation: str, body: Callable[[], Result]) -> Result:
    """`_guarded` for a body that builds its JSON dict itself."""
    try:
        return body()
    except Exception:
        log.exception("window call %s failed unexpectedly", operation)
        return problem_result(operation, "INTERNAL_ERROR", errors.EngineError.default_message)


def make_api(library_path: str, registry: ProgressRegistry,
             watch: OperationWatch | None = None) -> tuple[Callable[..., Result], ...]:
    """The twelve functions for `window.expose()`, bound to one library and one registry.

    Their `__name__`s are the names the page sees; the JS bridge passes positional
    arguments only, so each takes `*args` and refuses what it does not expect.
    """
    watch = watch if watch is not None else OperationWatch()

    def no_args(operation: str, name: str, args: tuple) -> Result | None:
        if args:
            return _invalid(operation, f"{name}() takes no arguments; got {len(args)}.")
        return None

    def writing(operation: str, body: Callable[[], OperationResult]) -> Result:
        try:
            with watch.running():
                stop_previews(registry)
                return _guarded(operation, body)
        except WindowClosing:
            return problem_result(operation, errors.Cancelled.code, CLOSING_MESSAGE)

    def get_status(*args: Any) -> Result:
        """Version, recordings by migration status, snapshots; reads only."""
        return no_args("status", "get_status", args) or _guarded(
            "status", lambda: engine_status(library_path, registry=registry))

    def preview_cleanup(*args: Any) -> Result:
        """What cleanup would fix, with samples named as a user knows them, and what the fix
        would do step by step (`fix`); reads only."""
        return no_args("cleanup-preview", "preview_cleanup", args) or _raw_guarded(
            "cleanup-preview", lambda: cleanup_preview_result(library_path, registry))

    def run_cleanup(*args: Any) -> Result:
        """Fix what the preview found, all or nothing, after a snapshot."""
        return no_args("cleanup", "run_cleanup", args) or writing(
            "cleanup", lambda: engine_run_cleanup(library_path, registry=registry))

    def migrate(*args: Any) -> Result:
        """Finish the library's upgrade to the latest version, all or nothing, after a snapshot."""
        return no_args("migrate", "migrate", args) or writing(
            "migrate", lambda: engine_migrate(library_path, registry=registry))

    def rollback(*args: Any) -> Result:
        """Restore the way back, or the snapshot `id`; `force` (true/false) discards later
        changes (never restores another library's snapshot)."""
        if len(args) > 2:
            return _invalid("rollback", f"rollback() takes at most two arguments (force, id); got {len(args)}.")
        force = args[0] if args else False
        snapshot_id = args[1] if len(args) > 1 else None
        if not isinstance(force, bool):  # 1, "yes", null are not a user's explicit choice
            return _invalid("rollback", "rollback(force, id): force must be true or false.")
        if snapshot_id is not None and not isinstance(snapshot_id, str):
            return _invalid("rollback", "rollback(force, id): id must be a snapshot id or null.")
        return writing("rollback", lambda: engine_rollback(library_path, force=force, snapshot_id=snapshot_id,
                                                           registry=registry))

    def list_snapshots(*args: Any) -> Result:
        """Every snapshot beside the library, what it is for, whether it can be restored."""
        return no_args("snapshots", "list_snapshots", args) or _guarded(
            "snapshots", lambda: engine_list_snapshots(library_path, registry=registry))

    def delete_snapshot(*args: Any) -> Result:
        """Delete the snapshot `id`; the way back only with `force` true."""
        if not 1 <= len(args) <= 2:
            return _invalid("snapshot-delete", f"delete_snapshot(id, force) takes one or two arguments; got {len(args)}.")
        force = args[1] if len(args) > 1 else False
        if not isinstance(args[0], str) or not isinstance(force, bool):
            return _invalid("snapshot-delete", "delete_snapshot(id, force): id must be a snapshot id and force "
                            "true or false.")
        return writing("snapshot-delete", lambda: engine_delete_snapshot(library_path, args[0], force,
                                                                         registry=registry))

    def cancel(*args: Any) -> Result:
        """Ask every running operation to stop; each rolls back and reports CANCELLED."""
        refused = no_args("cancel", "cancel", args)
        if refused:
            return refused
        try:
            cancelled = registry.cancel_all()
        except Exception:
            log.exception("cancel failed unexpectedly")
            return problem_result("cancel", "INTERNAL_ERROR", errors.EngineError.default_message)
        return {"operation": "cancel", "success": True, "cancelled": cancelled, "errors": [], "warnings": []}

    def preview_upgrade(*args: Any) -> Result:
        """What the upgrade would make (captures, adoptions, skips, action items, missing
        meetings), counted by the upgrade's own data pass; reads only, stops when a writer starts."""
        return no_args(PREVIEW_OPERATION, "preview_upgrade", args) or _guarded(
            PREVIEW_OPERATION, lambda: engine_preview_upgrade(library_path, registry=registry))

    def support_report(*args: Any) -> Result:
        """The scrubbed support report, and its text for the clipboard; reads only."""
        return no_args("report", "support_report", args) or _raw_guarded(
            "report", lambda: report_result(library_path, registry))

    def show_in_folder(*args: Any) -> Result:
        """Open the folder that holds the library (that one only) in the file manager."""
        return no_args("show-in-folder", "show_in_folder", args) or opened(
            "show-in-folder", lambda: Path(os.path.abspath(library_path)).parent)

    def open_log_folder(*args: Any) -> Result:
        """Open the folder of the upgrade log in the file manager."""
        return no_args("open-log-folder", "open_log_folder", args) or opened("open-log-folder", log_folder)

    return (get_status, preview_cleanup, run_cleanup, migrate, rollback, cancel, list_snapshots, delete_snapshot,
            preview_upgrade, support_report, show_in_folder, open_log_folder)


API_NAMES = ("get_status", "preview_cleanup", "run_cleanup", "migrate", "rollback", "cancel", "list_snapshots",
             "delete_snapshot", "preview_upgrade", "support_report", "show_in_folder", "open_log_folder")
