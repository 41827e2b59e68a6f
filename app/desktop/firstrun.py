"""First run: no library yet, so the page offers a sample one (`#create-sample`).

The page has no API method for this (the API mirrors the original IPC channels, plus the
window's own helpers, none of which writes a library). Python listens to the button itself
through pywebview's DOM events, writes the demo library with the engine's generator, and
tells the page to refresh with a `library:changed` event.

Only at the app's default location: a missing file named with `--library` is most likely
a typo, and a sample library there would be a new file the user never asked for, under a
name that hides the typo. The handler creates nothing when a library is already there or
the location is not the default one, so a click forged through the raw bridge can do no
more than a real click.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

from app.desktop.page import dispatch
from app.engine import errors
from app.samples.demo import create_demo_library

log = logging.getLogger(__name__)

LIBRARY_CHANGED = "library:changed"
SAMPLE_RECORDINGS = 300
NOT_OFFERED = ("A sample library is made only at the app's own location, not where --library points. "
               "Nothing was created.")


class SampleOffer:
    def __init__(self, window: Any, library: str, is_default: bool,
                 recordings: int = SAMPLE_RECORDINGS) -> None:
        self.window = window
        self.library = library
        self.is_default = is_default
        self.recordings = recordings
        self._lock = threading.Lock()  # two quick clicks make one library

    def on_click(self, _event: Any = None) -> None:
        """DOM event thread: create the sample library if there is none, then refresh the page."""
        detail: dict[str, Any] = {"success": True, "created": False}
        if not self.is_default:
            dispatch(self.window, LIBRARY_CHANGED, {"success": False, "errors": [
                {"code": errors.InvalidArgument.code, "message": NOT_OFFERED}]})
            return
        with self._lock:
            if not os.path.lexists(self.library):
                try:  # the app's own data folder may not exist yet
                    Path(self.library).parent.mkdir(parents=True, exist_ok=True)
                    create_demo_library(self.library, recordings=self.recordings)
                    detail["created"] = True
                except errors.EngineError as exc:  # messages are templates: no path in them
                    detail = {"success": False, "errors": [{"code": exc.code, "message": exc.message}]}
                except OSError:
                    log.exception("the data folder for the sample library could not be made")
                    detail = {"success": False, "errors": [{"code": errors.ReadOnly.code, "message":
                              "The app's data folder could not be created. Nothing was created."}]}
                except Exception:
                    log.exception("creating the sample library failed")
                    detail = {"success": False, "errors": [
                        {"code": "INTERNAL_ERROR", "message": errors.EngineError.default_message}]}
        dispatch(self.window, LIBRARY_CHANGED, detail)
