"""The canonical schema files and the comparison of a library's schema with them.

The files ship as package data (`app.sql`, built from the top-level `sql/` folder) and are
read through importlib.resources, so a wheel or a bundled build finds them. Each file is
executed whole by SQLite (no splitting on `;`), and any error in it is fatal.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import apsw

V10_FILE = "v10.sql"
V11_FILE = "v11-knowledge-captures.sql"


@lru_cache(maxsize=None)
def read(name: str) -> str:
    return resources.files("app.sql").joinpath(name).read_text(encoding="utf-8")


def apply_v11(conn: apsw.Connection) -> None:
    """Run the V11 script inside the caller's transaction. Errors propagate."""
    conn.execute(read(V11_FILE))


def objects(conn: apsw.Connection, names: set[str] | None = None) -> dict[tuple[str, str], tuple]:
    """(type, name) -> (table, columns, normalised SQL) for every schema object.

    `names` limits the result to objects of those tables, so a library's own extra tables
    (which must survive untouched) do not count as a difference.
    """
    found = {}
    for type_, name, table, sql in conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'"):
        if names is not None and table not in names:
            continue
        columns = ()
        if type_ == "table":
            columns = tuple(conn.execute(
                "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?)", (name,)))
        found[(type_, name)] = (table, columns, " ".join((sql or "").split()))
    return found


@lru_cache(maxsize=1)
def canonical_v11() -> dict[tuple[str, str], tuple]:
    """The schema objects of a library built from the canonical files alone."""
    conn = apsw.Connection(":memory:")
    try:
        conn.execute(read(V10_FILE))
        apply_v11(conn)
        return objects(conn)
    finally:
        conn.close()


def app_tables() -> set[str]:
    return {table for table, _, _ in canonical_v11().values()}


def differences(conn: apsw.Connection) -> list[str]:
    """Names of the app's schema objects that differ from the canonical V11 schema."""
    actual = objects(conn, app_tables())
    expected = canonical_v11()
    return sorted(f"{t}:{n}" for (t, n) in set(actual) | set(expected)
                  if actual.get((t, n)) != expected.get((t, n)))
