"""Where things live on a user's machine, through platformdirs."""

from __future__ import annotations

from pathlib import Path

import platformdirs

APP_NAME = "MeetingRecorder"
LIBRARY_FILE = "library.db"


def default_library() -> Path:
    """The library the desktop app uses when no other is named."""
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)) / LIBRARY_FILE


def log_dir() -> Path:
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def cache_dir() -> Path:
    """The user's own cache folder (hashes of snapshots already checked)."""
    return Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False))
