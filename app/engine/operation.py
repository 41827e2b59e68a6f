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

from app.engine import errors
from app.engine.library import check_path, connect, is_path_argument, read_version
from app.engine.progress import REGISTRY, ProgressRegistry, ProgressTracker
from app.engine.redact import redact
from app.engine.results import OperationResult, Problem
from app.engine.transaction import process_lock

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


def current_version(library: str) -> int | None:
    """The version as a fresh connection sees it now; None if the file cannot be read."""
    if not is_path_argument(library):
        return None
    try:
        conn = connect(library)
    except errors.EngineError:
        return None
    try:
        return read_version(conn)
    except (errors.EngineError, apsw.Error):  # unreadable now: report no version, not a guess
        return None
    finally:
        conn.close()


def run(result: R, library: str, body: Callable[[Context, R], None], *, writes: bool,
        registry: ProgressRegistry | None = None) -> R:
    registry = registry or REGISTRY
    tracker = registry.open(result.operation)
    ctx = Context(library, tracker)
    started = time.monotonic()
    final_phase = "failed"
    try:
        tracker.update("preflight")
        check_path(library)
        with process_lock(library) if writes else nullcontext():
            body(ctx, result)
        result.success = not result.errors
        final_phase = "complete" if result.success else "failed"
    except errors.EngineError as exc:
        if isinstance(exc, errors.Cancelled):
            final_phase = "cancelled"
        log.info("%s failed: %s %s", result.operation, exc.code, exc.details, exc_info=exc.__cause__)
        result.errors.append(ctx.problem(exc.code, exc.message))
    except Exception:  # the last line: a bug must reach the log, not the user's screen
        log.exception("%s failed unexpectedly", result.operation)
        result.errors.append(ctx.problem("INTERNAL_ERROR", errors.EngineError.default_message))
    finally:
        result.success = not result.errors
        result.duration_seconds = round(time.monotonic() - started, 3)
        if result.version is None or not result.success:
            result.version = current_version(library)
        tracker.update(final_phase, message=result.errors[0].message if result.errors else "")
        registry.close(tracker)
    return result


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
