"""Progress trackers and the registry that fans their events out to listeners.

An operation registers a tracker when it starts and removes it in `finally`; listeners
(the window, the CLI's bar, tests) subscribe to the registry and get read-only
`ProgressEvent`s. A tracker also carries the operation's cancel flag, so whoever can see
a running operation can ask it to stop. An exit hook closes trackers left behind by a
thread that never finished.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from pydantic import BaseModel, ConfigDict

from app.engine.redact import redact

log = logging.getLogger(__name__)

MIN_INTERVAL = 0.1  # seconds between events within one phase
HEARTBEAT = 0.3     # when nothing else was sent for this long, the current state is re-sent
BEAT_CHECK = 0.05   # how often the heartbeat thread looks: events at most ~0.35 s apart

# Where each phase sits on the 0-100 bar. Progress inside a phase is spread over its span.
PHASES: dict[str, tuple[float, float]] = {
    "preflight": (0, 2),
    "snapshot": (2, 20),
    "schema": (20, 22),
    "migrating": (22, 85),
    "cleaning": (22, 85),
    "checking": (22, 50),
    "restoring": (50, 85),
    "verifying": (85, 95),
    "committing": (95, 99),
}
FINAL_PHASES = ("complete", "failed", "cancelled")


class ProgressEvent(BaseModel):
    """What a listener sees; frozen so no listener can change what the next one gets."""

    model_config = ConfigDict(frozen=True)

    tracker_id: str
    operation: str
    phase: str
    percent: float
    processed: int | None = None
    total: int | None = None
    eta_seconds: float | None = None
    message: str = ""


Listener = Callable[[ProgressEvent], None]


class Progress(Protocol):
    """What long work needs of a tracker: to say how far it got, and to hear a cancel.
    `ProgressTracker` is one; a snapshot thread's stand-in (`snapshots.taking`) another."""

    @property
    def cancelled(self) -> bool: ...

    def update(self, phase: str, processed: int | None = None, total: int | None = None,
               message: str = "") -> None: ...


class ProgressTracker:
    """One running operation's progress and cancel flag."""

    def __init__(self, registry: "ProgressRegistry", tracker_id: str, operation: str) -> None:
        self.id = tracker_id
        self.operation = operation
        self._registry = registry
        self._cancel = threading.Event()
        self._started = time.monotonic()
        self._last_emit = 0.0
        self._phase = ""
        self._percent = 0.0
        self._processed: int | None = None
        self._total: int | None = None
        self._message = ""
        self._emit_lock = threading.Lock()  # the operation's thread and the heartbeat's
        self._stopped = threading.Event()
        self._beat = threading.Thread(target=self._beat_until_closed, daemon=True,
                                      name=f"heartbeat-{tracker_id}")
        self.closed = False

    # -- cancel ------------------------------------------------------------------------
    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    # -- progress ----------------------------------------------------------------------
    def update(self, phase: str, processed: int | None = None, total: int | None = None,
               message: str = "") -> None:
        """Report where the operation is; throttled, except at a phase's start and end."""
        with self._emit_lock:
            self._update(phase, processed, total, message)

    def _update(self, phase: str, processed: int | None, total: int | None, message: str) -> None:
        now = time.monotonic()
        changed = phase != self._phase
        finished_phase = total is not None and processed == total  # a phase's last step shows
        if not changed and not finished_phase and now - self._last_emit < MIN_INTERVAL:
            return
        if phase in FINAL_PHASES:
            percent = 100.0 if phase == "complete" else self._percent
        else:
            low, high = PHASES.get(phase, (self._percent, self._percent))
            fraction = (processed / total) if processed is not None and total else 0.0
            percent = low + (high - low) * min(max(fraction, 0.0), 1.0)
        percent = max(percent, self._percent)  # never goes back
        self._phase, self._percent, self._last_emit = phase, percent, now
        self._processed, self._total, self._message = processed, total, message
        self._registry._publish(ProgressEvent(
            tracker_id=self.id, operation=self.operation, phase=phase,
            percent=round(percent, 1), processed=processed, total=total,
            eta_seconds=self._eta(now, percent, phase), message=redact(message)))

    def heartbeat(self) -> None:
        """Re-send the current state when nothing was sent for a while.

        Some steps send nothing for long: one SQL statement (an index build, COMMIT and
        its fsync), hashing a snapshot. A heartbeat keeps the window's time-left fresh and
        shows the operation is alive.
        """
        with self._emit_lock:
            if self._phase and self._phase not in FINAL_PHASES and not self.closed \
                    and time.monotonic() - self._last_emit >= HEARTBEAT:
                self._last_emit = 0.0
                self._update(self._phase, self._processed, self._total, self._message)

    def _beat_until_closed(self) -> None:
        while not self._stopped.wait(BEAT_CHECK):
            self.heartbeat()

    def _stop_beating(self) -> None:
        self._stopped.set()
        if self._beat.is_alive() and self._beat is not threading.current_thread():
            self._beat.join(timeout=1.0)

    def _eta(self, now: float, percent: float, phase: str) -> float | None:
        if phase in FINAL_PHASES:
            return 0.0 if phase == "complete" else None
        elapsed = now - self._started
        if percent < 3 or elapsed < 0.2:
            return None
        return round(elapsed * (100 - percent) / percent, 1)


class ProgressRegistry:
    """Running trackers and the listeners that want their events."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._trackers: dict[str, ProgressTracker] = {}
        self._listeners: list[Listener] = []
        self._ids = itertools.count(1)

    def open(self, operation: str) -> ProgressTracker:
        with self._lock:
            tracker = ProgressTracker(self, f"{operation}-{next(self._ids)}", operation)
            self._trackers[tracker.id] = tracker
        tracker._beat.start()
        return tracker

    def close(self, tracker: ProgressTracker) -> None:
        with self._lock:
            self._trackers.pop(tracker.id, None)
        tracker.closed = True
        tracker._stop_beating()

    def active(self) -> list[ProgressTracker]:
        with self._lock:
            return list(self._trackers.values())

    def cancel_all(self) -> int:
        trackers = self.active()
        for tracker in trackers:
            tracker.cancel()
        return len(trackers)

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Add a listener; returns the function that removes it."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)
        return unsubscribe

    def listener_count(self) -> int:
        with self._lock:
            return len(self._listeners)

    def _publish(self, event: ProgressEvent) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(event)
            except Exception:  # a broken listener (a closed window) must not break the upgrade
                log.exception("progress listener failed")

    def close_leftovers(self) -> None:
        """Exit hook: cancel and drop trackers whose operation never reached `finally`."""
        for tracker in self.active():
            tracker.cancel()
            self.close(tracker)


REGISTRY = ProgressRegistry()
atexit.register(REGISTRY.close_leftovers)
