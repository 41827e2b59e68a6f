"""Python -> page: DOM events dispatched in the page, and the engine's progress fed to them.

Everything goes through `window.evaluate_js`, which blocks until the page has run the
script. Called on Qt's GUI thread it would wait for itself (a deadlock), so it is only ever
called from worker threads: pywebview runs each JS API call, each DOM event handler and
each non-locking window event in a thread of its own, and the engine reports progress from
the thread of the operation. Data reaches the script only as `json.dumps` output, never by
string concatenation.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from app.engine.progress import FINAL_PHASES, ProgressEvent, ProgressRegistry

log = logging.getLogger(__name__)

PROGRESS_EVENT = "migration:progress"
MIN_INTERVAL = 0.1  # seconds between two pushes of one operation within one phase


def event_script(name: str, detail: Any) -> str:
    """JS that dispatches `CustomEvent(name, {detail})` on the page's window."""
    return (f"window.dispatchEvent(new CustomEvent({json.dumps(name)}, "
            f"{{detail: {json.dumps(detail)}}})); true")


def dispatch(window: Any, name: str, detail: Any = None) -> bool:
    """Dispatch a page event from a worker thread. False if the page could not be reached."""
    if threading.current_thread() is threading.main_thread():
        log.error("page event %s dropped: evaluate_js on the GUI thread would deadlock", name)
        return False
    try:
        return window.evaluate_js(event_script(name, detail)) is True
    except Exception:  # a closed window, a page being reloaded: the page misses one event
        log.warning("page event %s could not be delivered", name, exc_info=True)
        return False


class ProgressPush:
    """One window's progress listener on the registry.

    The engine already throttles its events; this adds a per-window throttle so a page
    never gets more than one event per operation per MIN_INTERVAL within a phase. Phase
    changes and final events always go through, so the page always sees 100 and the end.
    """

    def __init__(self, window: Any, registry: ProgressRegistry, min_interval: float = MIN_INTERVAL) -> None:
        self.window = window
        self.registry = registry
        self.min_interval = min_interval
        self._lock = threading.Lock()
        self._last: dict[str, tuple[str, float]] = {}  # tracker id -> (phase, when pushed)
        self._unsubscribe: Any = None
        self.closed = False

    def attach(self) -> None:
        self._unsubscribe = self.registry.subscribe(self)
        self.window.events.closed += self.detach

    def detach(self) -> None:
        """Leave the registry (the window closed): later events go nowhere."""
        self.closed = True
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _due(self, event: ProgressEvent) -> bool:
        now = time.monotonic()
        with self._lock:
            phase, when = self._last.get(event.tracker_id, ("", 0.0))
            final = event.phase in FINAL_PHASES
            if event.phase == phase and not final and now - when < self.min_interval:
                return False
            if final:
                self._last.pop(event.tracker_id, None)
            else:
                self._last[event.tracker_id] = (event.phase, now)
            return True

    def __call__(self, event: ProgressEvent) -> None:
        if self.closed or not self._due(event):
            return
        dispatch(self.window, PROGRESS_EVENT, event.model_dump(mode="json"))
