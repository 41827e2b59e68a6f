"""Where details go: a rotating log file in the user's log folder, never the screen.

The log names libraries and what happened to them: its folder and files are the user's
alone, created so from the first byte, whatever the umask.
"""

from __future__ import annotations

import logging
import logging.handlers
import os

from app.engine.locations import log_dir
from app.engine.private import private_tree

LOG_FILE = "upgrade.log"


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """RotatingFileHandler whose files (the first and each one after a rollover) are
    created readable by their owner alone."""

    def _open(self):  # type: ignore[no-untyped-def] - logging's own signature
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return open(fd, self.mode, encoding=self.encoding, errors=self.errors)


def configure(verbose: bool = False) -> None:
    root = logging.getLogger()
    if any(getattr(h, "_app_handler", False) for h in root.handlers):
        return
    try:
        folder = log_dir()
        private_tree(folder)
        handler: logging.Handler = _PrivateRotatingFileHandler(
            folder / LOG_FILE, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
    except OSError:  # no writable log folder: run anyway, without a log file
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    handler._app_handler = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
