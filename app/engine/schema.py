"""The canonical schema files: package data, read whole.

The files ship as package data (`app.sql`, built from the top-level `sql/` folder) and are
read through importlib.resources, so a wheel or a bundled build finds them. Each file is
executed whole by SQLite (no splitting on `;`), and any error in it is fatal. Which file
belongs to which upgrade is each step's business (`steps`); `V10_FILE` is the schema the
oldest supported library starts from. `apply_v11*` serve the benchmarks' floor and tests.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import apsw

V10_FILE = "v10.sql"
V11_FILE = "v11-knowledge-captures.sql"
V11_INDEX_FILE = "v11-indexes.sql"


@lru_cache(maxsize=None)
def read(name: str) -> str:
    return resources.files("app.sql").joinpath(name).read_text(encoding="utf-8")


def apply_v11(conn: apsw.Connection) -> None:
    """Run the V11 tables script inside the caller's transaction. Errors propagate."""
    conn.execute(read(V11_FILE))


def apply_v11_indexes(conn: apsw.Connection) -> None:
    """Run the V11 index script (after the bulk insert). Errors propagate."""
    conn.execute(read(V11_INDEX_FILE))
