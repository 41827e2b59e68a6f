"""Opening a folder in the system's file manager: "Show in folder" and "Open log folder".

The folder is always one the app chose (the library's own folder, the log folder), never
one the page names: the API functions take no arguments. The opener runs as an argument
list, never through a shell, so no character in a folder's name can become a command.

Which program opens it: the platform's own (`xdg-open` on Linux and the BSDs, `open` on
macOS, Explorer on Windows), or the command in the environment variable OPENER_ENV (split
like a shell would, then the folder appended as one more argument): for desktops whose
opener is another program, and for the tests, which point it at a script that records what
it was given.
"""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import sys
import threading
from pathlib import Path

log = logging.getLogger(__name__)

OPENER_ENV = "UPGRADE_LIBRARY_OPENER"
QUICK_FAILURE = 2.0  # seconds: an opener that fails usually says so at once


class OpenFailed(Exception):
    """The folder could not be opened; the message says why, in words, without the path."""


def opener_command() -> list[str]:
    """The program (and its first arguments) that opens a folder on this system."""
    configured = os.environ.get(OPENER_ENV, "").strip()
    if configured:
        return shlex.split(configured)
    if sys.platform == "darwin":
        return ["open"]
    if sys.platform.startswith("win"):
        return ["explorer"]
    return ["xdg-open"]


def open_folder(folder: Path) -> None:
    """Open `folder` in the file manager; OpenFailed if that visibly did not work.

    The opener is not waited for beyond QUICK_FAILURE: some start the file manager in the
    foreground. A thread reaps it whenever it ends, so it never lingers as a zombie.
    """
    if not folder.is_dir():
        raise OpenFailed("The folder is not there any more.")
    command = [*opener_command(), str(folder)]
    try:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, close_fds=True, start_new_session=True)
    except OSError as exc:
        log.warning("the folder opener %r could not be started: %r", command[0], exc)
        raise OpenFailed(f"No program to open folders was found on this computer ({Path(command[0]).name}).") \
            from exc
    try:
        code = proc.wait(QUICK_FAILURE)
    except subprocess.TimeoutExpired:  # still running: a file manager in the foreground
        threading.Thread(target=proc.wait, name="opener-reaper", daemon=True).start()
        return
    if code != 0:
        log.warning("the folder opener %r exited with %s", command[0], code)
        raise OpenFailed(f"The program that opens folders ({Path(command[0]).name}) reported an error.")
