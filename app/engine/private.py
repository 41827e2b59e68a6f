"""Files the app makes beside a library are never more readable than the library.

A snapshot holds every transcript of the library, the helper's scratch file thousands of
titles and action items, a manifest the library's shape: whoever may not read the library
may not read them either. Each is created with its mode from the first byte (no chmod
after the fact, no moment when it is readable by others): the library's own permission
bits, with read and write for its owner (the app writes them), and, for folders, search
permission wherever there is read permission. The umask can only narrow them further.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


def file_mode(library: str | Path) -> int:
    return (stat.S_IMODE(os.stat(library).st_mode) & 0o666) | 0o600


def dir_mode(library: str | Path) -> int:
    mode = file_mode(library)
    return mode | ((mode & 0o444) >> 2)


def make_dir(path: Path, library: str | Path) -> None:
    """The folder, created as private as the library if it does not exist yet."""
    try:
        os.mkdir(path, dir_mode(library))
    except FileExistsError:
        pass


def create_file(path: Path, library: str | Path) -> None:
    """A new empty file, as private as the library; FileExistsError if there is one."""
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, file_mode(library)))


def private_tree(folder: Path) -> None:
    """`folder` and its missing parents, created readable by their owner alone (the
    user's log folder: it names libraries and what happened to them)."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            pass
