"""Closing the window while an operation runs: ask in the page; on yes, cancel, wait, close.

`on_closing` is pywebview's `closing` handler. It runs on the GUI thread, synchronously,
inside Qt's close event, so it may neither block nor call evaluate_js: when an operation
runs it refuses the close (returns False) and asks the page from a worker thread. The
page's "cancel it and close" button (`#close-confirm-yes`) is heard by `on_confirm` through
pywebview's DOM events, in a thread of its own: it stops new operations, cancels the
running one, waits until its thread has rolled back and returned, then closes the window
for real. The process therefore ends with the library as it was, and no thread left.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from app.desktop.api import OperationWatch
from app.desktop.page import dispatch
from app.engine.progress import ProgressRegistry

log = logging.getLogger(__name__)

CLOSE_REQUESTED = "window:close-requested"
CLOSE_CONFIRMED = "window:closing"
POLL = 0.05


class CloseGuard:
    def __init__(self, window: Any, registry: ProgressRegistry, watch: OperationWatch,
                 on_accept: Callable[[], None] | None = None) -> None:
        self.window = window
        self.registry = registry
        self.watch = watch
        self.on_accept = on_accept  # runs on the GUI thread as the close goes through
        self._lock = threading.Lock()
        self.requested = False  # the user tried to close while an operation ran
        self.confirmed = False  # ...and then confirmed: the next close goes through

    def on_closing(self) -> bool:
        """GUI thread. True lets the window close; False keeps it open and asks the page."""
        with self._lock:
            if self.confirmed or not self.watch.busy:
                self.confirmed = True
                self.watch.refuse_new()
                accept = True
            else:
                self.requested = True
                accept = False
        if accept:
            if self.on_accept is not None:
                self.on_accept()  # e.g. stop pushing progress to a page about to go away
            return True
        threading.Thread(target=dispatch, args=(self.window, CLOSE_REQUESTED, {}),
                         name="close-request", daemon=True).start()
        return False

    def on_confirm(self, _event: Any = None) -> None:
        """DOM event thread: the user chose to cancel the operation and close."""
        with self._lock:
            if not self.requested or self.confirmed:
                return  # a click (or a raw bridge call) with no pending close does nothing
        self.watch.refuse_new()
        dispatch(self.window, CLOSE_CONFIRMED, {})
        waited = 0.0
        while not self.watch.wait_idle(POLL):
            # Again and again: an operation that had not yet opened its tracker when the
            # first cancel went out is caught by the next one.
            self.registry.cancel_all()
            waited += POLL
            if waited >= 5 and int(waited / POLL) % 100 == 0:
                log.info("closing: still waiting for the operation to roll back (%.0f s)", waited)
        with self._lock:
            self.confirmed = True
        log.info("closing: operation cancelled and rolled back; closing the window")
        self.window.destroy()
