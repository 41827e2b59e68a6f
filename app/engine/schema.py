"""The canonical schema files: package data, read whole.

The files ship as package data (`app.sql`, built from the top-level `sql/` folder) and are
read through importlib.resources, so a wheel or a bundled build finds them. Each file is
executed whole by SQLite (no splitting on `;`), and any error in it is fatal. Which file
belongs to which upgrade is each step's business (`steps`); `V10_FILE` is the schema the
oldest supported library starts from.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

V10_FILE = "v10.sql"


@lru_cache(maxsize=None)
def read(name: str) -> str:
    return resources.files("app.sql").joinpath(name).read_text(encoding="utf-8")
