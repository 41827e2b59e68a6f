"""A library's identity: what proves that a snapshot was taken of this library.

The proof lives inside the files, so that it travels with them (a library moved together
with its snapshots folder keeps its way back) and cannot be edited into a manifest: a
one-row table of the app's own, `upgrade_library_identity`, holding a random id. Every
snapshot holds it (it is written into the copy, before the copy is checked and hashed,
when the library does not have it yet), and the operation that takes the snapshot writes
the same row into the library inside its own transaction. So:

- a library and its snapshots share the id once an operation has committed; a failed or
  cancelled operation leaves the library without it, exactly as it was, and its snapshot
  belongs to no library;
- a snapshot of another library (or a file swapped in under a snapshot's name with a
  manifest made to match) holds another id, or none: it is refused, force or not;
- a restore brings the row back with the snapshot, so the restored library still owns its
  other snapshots.

Why not a field of the file's header (`application_id`, `user_version`): those are not
this app's to take, and a header is not covered by the content comparisons that decide
what a restore would lose.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import apsw

TABLE = "upgrade_library_identity"
# The id alone: the library's row and its copies' rows must be equal, whenever each was written.
_CREATE = f"CREATE TABLE IF NOT EXISTS {TABLE} (id TEXT NOT NULL)"


def new_id() -> str:
    return uuid.uuid4().hex


def read(conn: apsw.Connection, schema: str = "main") -> str | None:
    """The library's id, or None when it has none (never upgraded or cleaned by this app,
    or a table of that name that is not ours)."""
    try:
        row = conn.execute(f"SELECT id FROM {schema}.{TABLE} ORDER BY rowid LIMIT 1").fetchone()
    except apsw.SQLError:  # no such table (or not our columns): no identity
        return None
    return row[0] if row and isinstance(row[0], str) else None


def of_file(path: Path | str) -> str | None:
    """The id a snapshot file holds; None when it holds none. Raises apsw.Error when the
    file is not a readable database."""
    conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        return read(conn)
    finally:
        conn.close()


def ensure(conn: apsw.Connection, identity: str) -> None:
    """Give the library `identity` unless it has one; inside the caller's transaction."""
    if read(conn) is None:
        conn.execute(_CREATE)
        conn.execute(f"INSERT INTO {TABLE} (id) VALUES (?)", (identity,))


def stamp(path: Path, identity: str) -> None:
    """Write `identity` into a copy that lacks it (a copy of a library that has none yet).
    A copy that has one is left byte for byte as it is."""
    conn = apsw.Connection(str(path))
    try:
        if read(conn) is None:
            with conn:
                ensure(conn, identity)
    finally:
        conn.close()
