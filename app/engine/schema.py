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


def objects(conn: apsw.Connection) -> dict[tuple[str, str], tuple]:
    """(type, name) -> (table, columns, foreign keys, normalised SQL) of every schema object."""
    found = {}
    for type_, name, table, sql in conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'"):
        columns = foreign_keys = ()
        if type_ == "table":
            columns = tuple(conn.execute(
                'SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(?)', (name,)))
            foreign_keys = tuple(sorted(conn.execute(
                'SELECT "table", "from", "to", on_delete FROM pragma_foreign_key_list(?)', (name,))))
        found[(type_, name)] = (table, columns, foreign_keys, " ".join((sql or "").split()))
    return found


@lru_cache(maxsize=1)
def canonical_v11() -> dict[tuple[str, str], tuple]:
    """The schema objects of a library built from the canonical files alone."""
    conn = apsw.Connection(":memory:")
    try:
        conn.execute(read(V10_FILE))
        apply_v11(conn)
        apply_v11_indexes(conn)
        return objects(conn)
    finally:
        conn.close()


@lru_cache(maxsize=1)
def _v10_tables() -> frozenset[str]:
    conn = apsw.Connection(":memory:")
    try:
        conn.execute(read(V10_FILE))
        return frozenset(r[0] for r in conn.execute("SELECT name FROM sqlite_schema WHERE type = 'table'"))
    finally:
        conn.close()


def differences(conn: apsw.Connection) -> list[str]:
    """The canonical V11 objects that the library lacks or holds differently.

    V10 tables were created by the app's earlier versions, whose SQL text may be laid out
    differently: they are compared by columns and foreign keys, not by text. Everything
    the V11 script creates is compared in full. Objects the canonical schema does not have
    (a user's own tables, indexes or triggers) are not differences: they survive untouched.
    """
    actual = objects(conn)
    diffs = []
    for key, expected in canonical_v11().items():
        have = actual.get(key)
        if have is not None and key[0] == "table" and key[1] in _v10_tables():
            have, expected = have[:3], expected[:3]
        if have != expected:
            diffs.append(f"{key[0]}:{key[1]}")
    return sorted(diffs)
