"""The one checker every reliability test goes through.

After an operation ran under a fault (or crashed, or raced others), the library is reopened
through the NORMAL VFS and must be either logically identical to the original or exactly
the correct result, pass `PRAGMA integrity_check`, and agree with what the operation
reported: success <=> the correct result, failure <=> the original, and the reported
version equals the version on disk. No `*.tmp*` file may be left in the snapshot folder.

"Logically identical" compares every table's rows (with column names) and the schema.
Only timestamps that an upgrade legitimately writes from the clock are ignored: the
stamps (`Step.stamps`) of the tables the registered steps add rows to or set columns of,
and `schema_version.applied_at` of the versions the steps record. Text and blobs are
compared by type and bytes (a library's text need not be UTF-8).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import apsw

from app.engine import snapshots
from app.engine.steps import REGISTRY
from app.engine.snapshots import identity


def clock_columns() -> set[tuple[str, str]]:
    """(table, column) of every stamp the registered steps write (read at each dump: a
    test may register a step)."""
    out = set()
    for step in REGISTRY.steps:
        out |= {(t, c) for t in (*step.inserts, *step.canonical_tables()) for c in step.stamps}
        out |= {(t, c) for t, cols in step.sets.items() for c in cols if c in step.stamps}
    return out

Dump = dict[str, object]


def _open(path: str | Path, readonly: bool = False) -> apsw.Connection:
    flags = apsw.SQLITE_OPEN_READONLY if readonly else apsw.SQLITE_OPEN_READWRITE
    assert apsw.vfs_names()[0] == "unix", "checks must use the normal VFS"
    return apsw.Connection(str(path), flags=flags, vfs="unix")


def dump(path: str | Path) -> Dump:
    """Logical content with timestamps of the upgrade normalised away."""
    conn = _open(path)
    try:
        return dump_conn(conn)
    finally:
        conn.close()


def dump_conn(conn: apsw.Connection) -> Dump:
    """`dump` through an open connection (call inside a read transaction for one state)."""
    out: Dump = {}
    clock = clock_columns()
    names = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_schema WHERE type='table' AND substr(name, 1, 7) <> 'sqlite_' "
            "AND name <> ? ORDER BY name", (identity.TABLE,))]
    for name in names:
        cols = [r[1] for r in conn.execute(f'PRAGMA table_info("{name}")')]
        keep = [c for c in cols if (name, c) not in clock]
        values = ", ".join(f"""CASE WHEN typeof("{c}") IN ('text', 'blob') THEN typeof("{c}") || ':' || hex("{c}")
                               ELSE "{c}" END""" for c in keep)
        rows = []
        order = "" if _without_rowid(conn, name) else " ORDER BY rowid"
        for row in conn.execute(f'SELECT {values} FROM "{name}"{order}'):
            if name == "schema_version" and row and isinstance(row[0], int) and row[0] > REGISTRY.oldest:
                row = (row[0],)
            rows.append(row)
        out[name] = (tuple(keep), sorted(rows, key=repr) if order == "" else rows)
    out["__schema__"] = conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE tbl_name <> ? ORDER BY type, name",
            (identity.TABLE,)).fetchall()
    return out


def _without_rowid(conn: apsw.Connection, table: str) -> bool:
    row = conn.execute("SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = ?", (table,)).fetchone()
    return bool(row and row[0])


def integrity(path: str | Path) -> list[str]:
    conn = _open(path)
    try:
        rows = [r[0] for r in conn.execute("PRAGMA integrity_check")]
        fk = conn.execute("PRAGMA foreign_key_check").fetchall()
    finally:
        conn.close()
    problems = [] if rows == ["ok"] else [f"integrity_check: {rows[:3]}"]
    del fk  # V10 libraries legitimately hold dangling references (cleanup's job)
    return problems


def disk_version(path: str | Path) -> int | None:
    conn = _open(path)
    try:
        return conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
    finally:
        conn.close()


def tmp_leftovers(path: str | Path) -> list[str]:
    folder = snapshots.snapshot_dir(str(path))
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


def diff(a: Dump, b: Dump, limit: int = 3) -> str:
    """A short description of how two dumps differ (for assertion messages)."""
    out = []
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            out.append(key)
    return ", ".join(out[:limit]) + (" ..." if len(out) > limit else "")


@dataclass
class Outcome:
    state: str              # "original" | "correct" | "other" | "unreadable"
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def check(path: str | Path, original: Dump, correct: Dump, result=None, *,
          version_may_be_unknown: bool = False) -> Outcome:
    """Classify the library on disk and list every broken promise (empty list: all kept)."""
    assert original != correct, "the operation under test must change something"
    problems: list[str] = []
    try:
        problems += integrity(path)
        now = dump(path)
        version = disk_version(path)
    except apsw.Error as exc:
        return Outcome("unreadable", [f"library unreadable: {exc!r}"])
    if now == original:
        state = "original"
    elif now == correct:
        state = "correct"
    else:
        state = "other"
        problems.append(f"library is neither the original nor the correct result "
                        f"(differs from original in {diff(now, original)}; "
                        f"from correct in {diff(now, correct)})")
    if result is not None:
        if result.success and state != "correct":
            problems.append(f"reported success but the library is {state}")
        if not result.success and state != "original":
            problems.append(f"reported failure {[e.code for e in result.errors]} but the library is {state}")
        if result.version != version and not (version_may_be_unknown and result.version is None):
            problems.append(f"reported version {result.version}, on disk {version}")
        if not result.success and not result.errors:
            problems.append("failure without an error")
        for e in result.errors:
            if not e.message or "Traceback" in e.message:
                problems.append(f"unclear message for {e.code}: {e.message!r}")
    if leftovers := tmp_leftovers(path):
        problems.append(f"temp files left in the snapshot folder: {leftovers}")
    return Outcome(state, problems)


def copy_library(src: str | Path, dst: str | Path) -> Path:
    """Copy a CLOSED library with its snapshot folder (no connection may hold it)."""
    src, dst = Path(src), Path(dst)
    for suffix in ("", "-wal", "-journal"):
        if os.path.exists(str(src) + suffix):
            shutil.copy2(str(src) + suffix, str(dst) + suffix)
    folder = snapshots.snapshot_dir(str(src))
    if folder.is_dir():
        shutil.copytree(folder, snapshots.snapshot_dir(str(dst)))
    return dst


def reset_library(template: str | Path, dst: str | Path) -> Path:
    """Make `dst` (and its snapshot folder) an exact copy of `template` again."""
    dst = Path(dst)
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(str(dst) + suffix).unlink(missing_ok=True)
    shutil.rmtree(snapshots.snapshot_dir(str(dst)), ignore_errors=True)
    return copy_library(template, dst)
