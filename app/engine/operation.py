"""The boundary every operation runs through: tracker, lock, typed errors -> result.

`run()` registers a progress tracker, takes the in-process lock when the operation writes,
calls the operation's body, and turns whatever happens into the result: an `EngineError`
becomes a coded, scrubbed `Problem`; anything else is logged with its traceback and
reported as INTERNAL_ERROR. Afterwards it reopens the library and reads the version, so
the result states the truth even after a failure.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TypeVar

import apsw

from app.engine import audit, errors
from app.engine.library import (check_path, connect, is_path_argument, keep_wal_on_close, read_version,
                                translate)
from app.engine.progress import REGISTRY, ProgressRegistry, ProgressTracker
from app.engine.redact import redact
from app.engine.results import OperationResult, Problem
from app.engine.transaction import commit_log, process_lock

log = logging.getLogger(__name__)

R = TypeVar("R", bound=OperationResult)


@dataclass
class Context:
    """What an operation's body gets: where the library is, its tracker, its result."""

    library: str
    tracker: ProgressTracker

    def problem(self, code: str, message: str, count: int | None = None) -> Problem:
        secrets = (self.library,) if is_path_argument(self.library) else ()
        return Problem(code=code, message=redact(message, secrets), count=count)


def current_version(library: str, *, damaged: bool = False) -> int | None:
    """The version as a fresh connection sees it now; None if the file cannot be read.

    `damaged`: the operation found the library damaged. Its -wal may then be a stray one
    (another copy's): this connection must not copy it into the file when it closes."""
    if not is_path_argument(library):
        return None
    try:
        conn = connect(library)
    except errors.EngineError:
        return None
    if damaged:
        keep_wal_on_close(conn)
    try:
        return read_version(conn)
    except (errors.EngineError, apsw.Error):  # unreadable now: report no version, not a guess
        keep_wal_on_close(conn)  # and leave a (maybe stray) -wal exactly as it is
        return None
    finally:
        try:
            conn.close()
        except apsw.Error:  # e.g. a failing checkpoint on close: the version read stands
            log.warning("closing the library after reading its version failed", exc_info=True)


def run(result: R, library: str, body: Callable[[Context, R], None], *, writes: bool,
        registry: ProgressRegistry | None = None) -> R:
    registry = registry or REGISTRY
    tracker = registry.open(result.operation)
    ctx = Context(library, tracker)
    started = time.monotonic()
    final_phase = "failed"
    commits: list[str] = []
    try:
        tracker.update("preflight")
        check_path(library)
        with process_lock(library) if writes else nullcontext(), commit_log() as commits:
            body(ctx, result)
        result.success = not result.errors
        final_phase = "complete" if result.success else "failed"
    except Exception as exc:
        if isinstance(exc, apsw.Error):
            # Outside a transaction (opening, closing, a checkpoint): the disk's error,
            # typed like any other, not a bug.
            exc = translate(exc, result.operation)
        if commits and not isinstance(exc, _ALWAYS_FAILURES):
            # The operation's commit is durable: the library holds its result. What failed
            # after it (closing the file, a WAL checkpoint) is a warning, and the version
            # is re-read below so the result says what is on disk.
            log.warning("%s failed after its commit", result.operation, exc_info=exc)
            code = exc.code if isinstance(exc, errors.EngineError) else "INTERNAL_ERROR"
            disk = code in (errors.IOFault.code, errors.DiskFull.code)
            result.warnings.append(ctx.problem(code, _AFTER_COMMIT_DISK if disk else _AFTER_COMMIT))
            result.version = None
        elif isinstance(exc, errors.EngineError):
            if isinstance(exc, errors.Cancelled):
                final_phase = "cancelled"
            log.info("%s failed: %s %s", result.operation, exc.code, exc.details, exc_info=exc.__cause__)
            result.errors.append(ctx.problem(exc.code, exc.message))
        else:  # the last line: a bug must reach the log, not the user's screen
            log.exception("%s failed unexpectedly", result.operation)
            result.errors.append(ctx.problem("INTERNAL_ERROR", errors.EngineError.default_message))
        if commits and not result.errors:
            final_phase = "complete"
    finally:
        result.success = not result.errors
        result.duration_seconds = round(time.monotonic() - started, 3)
        if result.version is None or not result.success:
            damaged = any(e.code == errors.LibraryCorrupt.code for e in result.errors)
            result.version = current_version(library, damaged=damaged)
        audit.record(result, library)
        tracker.update(final_phase, message=result.errors[0].message if result.errors else "")
        registry.close(tracker)
    return result


# Errors that mean the operation's result is not what the library holds, even after a commit.
_ALWAYS_FAILURES = (errors.LibraryCorrupt, errors.RestoreFailed)
_AFTER_COMMIT_DISK = ("The operation finished and its changes were saved, but the disk reported an "
                      "error afterwards. Check the disk.")
_AFTER_COMMIT = ("The operation finished and its changes were saved, but a step after that failed. "
                 "Details are in the log.")


def exit_code(result: OperationResult) -> int:
    """The CLI exit code for a result: its first error decides."""
    if result.success:
        return errors.EXIT_OK
    by_code = {cls.code: cls.exit_code for cls in _all_error_classes()}
    return by_code.get(result.errors[0].code, errors.EXIT_FAILED)


def _all_error_classes() -> list[type[errors.EngineError]]:
    found, todo = [], [errors.EngineError]
    while todo:
        cls = todo.pop()
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return found
