"""What a rollback would discard: every change made to the library since its upgrade.

The steps that ran (`chain`) say what they wrote: tables they add rows to (`inserts`),
columns of existing rows they set (`sets`), tables they create. Everything else is
compared with the pre-upgrade snapshot (attached as `snap`): rows added, removed or
changed, per table, on the snapshot's columns. What the steps wrote is compared with
what they would write from that snapshot (`Step.expected`, run into a scratch database),
on every column but the clock's. So a capture the user added, an action item marked done
or a renamed meeting all count, each with its number of rows, and nothing the upgrade
itself wrote does.
"""

from __future__ import annotations

import re

import apsw

from app.engine import library
from app.engine.library import quote_ident
from app.engine.progress import ProgressTracker
from app.engine.steps import Step
from app.engine.transaction import watched


def _differing_rows(conn: apsw.Connection, left: str, right: str, columns: list[str],
                    key: str | None, left_only: bool = False, also: str = "") -> int:
    """Rows of the relations `left` and `right` that differ on `columns`, matched by `key`.

    A FULL JOIN on the key walks both tables in step (measured ten times faster than
    EXCEPT on transcripts, which sorts every row of both sides); a row on one side only,
    or with any column differing, counts once. `left_only`: only rows `left` has (rows
    only `right` has are someone else's to judge). `also`: one more condition that makes a
    row on both sides count (columns of one side only). Without a key (a WITHOUT ROWID
    table of the user's), EXCEPT (both ways, or one with `left_only`).
    """
    if key is None:
        cols = ", ".join(quote_ident(c) for c in columns)
        back = "0" if left_only else f"(SELECT count(*) FROM (SELECT {cols} FROM {right} EXCEPT SELECT {cols} FROM {left}))"
        return conn.execute(
            f"SELECT (SELECT count(*) FROM (SELECT {cols} FROM {left} EXCEPT SELECT {cols} FROM {right})) + {back}"
        ).fetchone()[0]
    k = quote_ident(key) if key != "rowid" else "rowid"
    differs = " OR ".join([f"a.{quote_ident(c)} IS NOT b.{quote_ident(c)}" for c in columns] + [also or "0"])
    join = "LEFT JOIN" if left_only else "FULL OUTER JOIN"
    return conn.execute(
        f"SELECT count(*) FROM {left} AS a {join} {right} AS b ON a.{k} = b.{k} "
        f"WHERE a.{k} IS NULL OR b.{k} IS NULL OR {differs}").fetchone()[0]


_CLOCK = re.compile(r"\W*CURRENT_(TIMESTAMP|DATE|TIME)\W*$", re.IGNORECASE)


def _not_default(conn: apsw.Connection, table: str, snap_columns: list[str], skip: set[str], alias: str) -> str:
    """A condition on the library's row `alias`: a column added since the snapshot (by the
    upgrade's schema completion, or by anyone) holds something else than the default it
    was added with, i.e. someone wrote it. Clock defaults cannot be told: left out."""
    had = {c.lower() for c in snap_columns} | skip
    parts = [f"{alias}.{quote_ident(name)} IS NOT ({default if default is not None else 'NULL'})"
             for _, name, _, _, default, _ in conn.execute(f"PRAGMA main.table_info({quote_ident(table)})")
             if name.lower() not in had and not (default and _CLOCK.match(default))]
    return " OR ".join(parts)


def _has_rowid(conn: apsw.Connection, table: str, schema_name: str) -> bool:
    row = conn.execute("SELECT wr FROM pragma_table_list WHERE schema = ? AND name = ?",
                       (schema_name, table)).fetchone()
    return row is not None and not row[0]


def _count(conn: apsw.Connection, schema: str, table: str) -> int:
    return conn.execute(f"SELECT count(*) FROM {schema}.{quote_ident(table)}").fetchone()[0]


def changed_original_tables(conn: apsw.Connection, chain: list[Step]) -> dict[str, int]:
    """Rows added, removed or changed since the snapshot (attached as `snap`), per table
    the snapshot has, on its columns but those the steps set; of the tables the steps add
    rows to, only the rows the snapshot had. Plus the rows of tables added since, but
    of the steps' own (empty ones, or compared by `changed_upgrade_rows`)."""
    inserts = {t for s in chain for t in s.inserts}
    sets = {t: {c.lower() for c in cols} for s in chain for t, cols in s.sets.items()}
    created = {t for s in chain for t in s.canonical_tables()}
    lost: dict[str, int] = {}
    before = library.table_names(conn, "snap")
    now = library.table_names(conn)
    for table in sorted(before - {"schema_version"}):
        if table not in now:
            lost[table] = _count(conn, "snap", table)
            continue
        skip = sets.get(table, set())
        snap_columns = library.column_names(conn, table, "snap")
        # A column the library lacks (a snapshot of a later version restored over an
        # earlier one) comes back with the restore: nothing of the library's is lost there.
        here = {c.lower() for c in library.column_names(conn, table)}
        columns = [c for c in snap_columns if c.lower() not in skip and c.lower() in here]
        # The upgrade never rewrites rows that were there (it adds rows and sets the
        # columns of `sets`), so their rowids are the snapshot's.
        key = "rowid" if _has_rowid(conn, table, "main") and _has_rowid(conn, table, "snap") else None
        if table in inserts:  # rows the snapshot had; the new ones are the steps' to judge
            n = _differing_rows(conn, f"snap.{quote_ident(table)}", f"main.{quote_ident(table)}", columns,
                                key, left_only=True, also=_not_default(conn, table, snap_columns, skip, "b"))
        else:
            n = _differing_rows(conn, f"main.{quote_ident(table)}", f"snap.{quote_ident(table)}", columns, key,
                                also=_not_default(conn, table, snap_columns, skip, "a"))
        if n:
            lost[table] = n
    for table in sorted(now - before - inserts):
        if n := _count(conn, "main", table):
            lost[table] = n
        elif table not in created:
            lost[table] = 0  # a table added since, even empty, goes with the restore
    return {t: n for t, n in lost.items() if n or t not in created}


def changed_upgrade_rows(library_path: str, snapshot_path: str, chain: list[Step],
                         tracker: ProgressTracker) -> dict[str, int]:
    """Rows the steps wrote that differ from what they write from the snapshot: of the
    tables they add rows to, the rows the snapshot did not have; of the columns they set,
    every row on both sides."""
    scratch = apsw.Connection("")  # a private temporary file, deleted on close
    try:
        library.use_writer_cache(scratch)  # as the upgrade's own
        scratch.execute("ATTACH DATABASE ? AS snap", (snapshot_path,))
        scratch.execute("ATTACH DATABASE ? AS lib", (library_path,))
        before = library.table_names(scratch, "snap")
        lost: dict[str, int] = {}
        with watched(scratch, tracker):
            scratch.execute("BEGIN")
            for step in chain:
                step.expected(scratch, "snap", tracker)
            for step in chain:
                stamps = set(step.stamps)
                for table in step.inserts:
                    columns = [c for c in library.column_names(scratch, table) if c.lower() not in stamps]
                    new = (f"(SELECT * FROM lib.{quote_ident(table)} AS x WHERE NOT EXISTS "
                           f"(SELECT 1 FROM snap.{quote_ident(table)} AS s WHERE s.id IS x.id))"
                           if table in before else f"lib.{quote_ident(table)}")
                    if n := _differing_rows(scratch, new, f"main.{quote_ident(table)}", columns, "id"):
                        lost[table] = n
                for table, cols in step.sets.items():
                    differs = " OR ".join(f"a.{quote_ident(c)} IS NOT e.{quote_ident(c)}"
                                          for c in cols if c not in stamps)
                    (n,) = scratch.execute(
                        f"SELECT count(*) FROM main.{quote_ident(table)} e JOIN lib.{quote_ident(table)} a "
                        f"ON a.id = e.id WHERE {differs}").fetchone()
                    if n:
                        lost[f"{table} (upgrade status)"] = n
            scratch.execute("ROLLBACK")
        return lost
    finally:
        scratch.close()
