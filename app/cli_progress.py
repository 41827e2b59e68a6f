"""The command line's progress bar: rich.progress on stderr, fed by the progress registry.

Drawn only where someone watches (stderr is a terminal: `main` decides) and only once the
operation has run for more than `DELAY` seconds: `status` and the other quick operations
finish before that and draw nothing, so their output is the answer alone. The time left is
the engine's own estimate (`ProgressEvent.eta_seconds`, phase-aware, the one the window
shows) rather than rich's guess from the bar's speed, which a phase that jumps the bar
(a snapshot, a verification) would throw off.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TaskProgressColumn, TextColumn

from app.cli_text import PHASE_WORDS
from app.engine.progress import FINAL_PHASES, ProgressEvent

DELAY = 0.3  # seconds an operation runs before its bar appears


class ProgressDisplay:
    """A progress listener (`ProgressRegistry.subscribe`) that draws one bar on `console`.

    Events come from the operation's thread and its heartbeat thread: one lock keeps the
    bar's start and stop in order. `close()` stops the bar whatever happened."""

    def __init__(self, console: Console, delay: float = DELAY,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._console = console
        self._delay = delay
        self._clock = clock
        self._started = clock()
        self._lock = threading.Lock()
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._closed = False

    @property
    def drawn(self) -> bool:
        """Whether the bar was ever shown."""
        return self._progress is not None

    def __call__(self, event: ProgressEvent) -> None:
        with self._lock:
            if self._closed:
                return
            if self._progress is None:
                if event.phase in FINAL_PHASES or self._clock() - self._started <= self._delay:
                    return  # quick: done before anyone waited for it
                self._progress, self._task = _new_bar(self._console)
                self._show(event)
                self._progress.start()  # its first drawing shows this event, not an empty bar
            else:
                self._show(event)
            if event.phase in FINAL_PHASES:
                self._stop()

    def close(self) -> None:
        with self._lock:
            self._stop()

    def _show(self, event: ProgressEvent) -> None:
        assert self._progress is not None and self._task is not None
        self._progress.update(self._task, completed=event.percent, description=describe(event),
                              eta=time_left(event))

    def _stop(self) -> None:
        """Once: a second stop would print another newline on some consoles."""
        if not self._closed and self._progress is not None:
            self._progress.stop()
        self._closed = True


def _new_bar(console: Console) -> tuple[Progress, TaskID]:
    """The bar and its one task, not drawn yet."""
    progress = Progress(
        TextColumn("{task.description}", markup=False), BarColumn(), TaskProgressColumn(),
        TextColumn("{task.fields[eta]}", markup=False),
        console=console, redirect_stdout=False, redirect_stderr=False)
    return progress, progress.add_task("", total=100, eta="")


def describe(event: ProgressEvent) -> str:
    """The phase in the window's words, with the count where the engine gives one."""
    text = PHASE_WORDS.get(event.phase, "Working")
    if event.total and event.processed is not None and event.phase not in FINAL_PHASES:
        text += f" ({event.processed:,} of {event.total:,})"
    return text


def time_left(event: ProgressEvent) -> str:
    """The engine's estimate in whole seconds: tenths would only flicker."""
    if event.phase in FINAL_PHASES or not event.eta_seconds:
        return ""
    whole = max(1, round(event.eta_seconds))
    return f"about {whole} s left" if whole < 60 else f"about {whole // 60} min {whole % 60} s left"


__all__ = ["DELAY", "ProgressDisplay", "describe", "time_left"]
