"""Where the page's files are: package data `app.frontend`, found through importlib.resources.

pywebview serves a local page from its own HTTP server on 127.0.0.1 and needs a real
folder for that; `as_file` gives one even when the package sits in a zip or a bundle.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

PAGE = "index.html"


@contextmanager
def page_file() -> Iterator[Path]:
    """The path of index.html (beside app.js and style.css) for as long as the block runs."""
    with resources.as_file(resources.files("app.frontend")) as folder:
        yield Path(folder) / PAGE
