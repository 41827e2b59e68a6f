"""What a rollback would discard: every change made to the library since its upgrade.

Tables that existed before the upgrade are compared with the pre-upgrade snapshot. The
upgrade's own rows are compared with what the upgrade makes from that snapshot: the data
pass is run again, from the snapshot into a scratch database, and the two are compared
row by row on every column but the creation and update times. So a capture the user
added, an action item marked done or a renamed meeting all count, each with its number
of rows, and nothing the upgrade itself wrote does.
"""

from __future__ import annotations

import apsw

from app.engine import capture_rows, errors, library, schema
from app.engine.library import quote_ident
from app.engine.progress import ProgressTracker
from app.engine.transaction import watched

TIMESTAMPS = ("created_at", "updated_at", "migrated_at")


def _differing_rows(conn: apsw.Connection, table: str, columns: list[str], left: str, right: str,
                    key: str | None) -> int:
    """Rows of `table` in `left` and `right` that differ on `columns`, matched by `key`.

    A FULL JOIN on the key walks both tables in step (measured ten times faster than
    EXCEPT on transcripts, which sorts every row of both sides); a row on one side only,
    or with any column differing, counts once. Without a key (a WITHOUT ROWID table of the
    user's), EXCEPT both ways.
    """
    name = quote_ident(table)
    if key is None:
        cols = ", ".join(quote_ident(c) for c in columns)
        return conn.execute(
            f"SELECT (SELECT count(*) FROM (SELECT {cols} FROM {left}.{name} EXCEPT SELECT {cols} FROM {right}.{name}))"
            f" + (SELECT count(*) FROM (SELECT {cols} FROM {right}.{name} EXCEPT SELECT {cols} FROM {left}.{name}))"
        ).fetchone()[0]
    k = quote_ident(key) if key != "rowid" else "rowid"
    differs = " OR ".join(f"a.{quote_ident(c)} IS NOT b.{quote_ident(c)}" for c in columns)
    return conn.execute(
        f"SELECT count(*) FROM {left}.{name} AS a FULL OUTER JOIN {right}.{name} AS b ON a.{k} = b.{k} "
        f"WHERE a.{k} IS NULL OR b.{k} IS NULL OR {differs}").fetchone()[0]


def _has_rowid(conn: apsw.Connection, table: str, schema_name: str) -> bool:
    row = conn.execute("SELECT wr FROM pragma_table_list WHERE schema = ? AND name = ?",
                       (schema_name, table)).fetchone()
    return row is not None and not row[0]


def changed_original_tables(conn: apsw.Connection) -> dict[str, int]:
    """Rows added, removed or changed since the snapshot (attached as `snap`), per table
    that the snapshot has, on the snapshot's columns; plus tables added since."""
    lost: dict[str, int] = {}
    before = library.table_names(conn, "snap")
    now = library.table_names(conn)
    for table in sorted(before - {"schema_version"}):
        if table not in now:
            lost[table] = conn.execute(f"SELECT count(*) FROM snap.{quote_ident(table)}").fetchone()[0]
        else:
            # The upgrade never rewrites these tables, so their rowids are the snapshot's.
            key = "rowid" if _has_rowid(conn, table, "main") and _has_rowid(conn, table, "snap") else None
            if n := _differing_rows(conn, table, library.column_names(conn, table, "snap"), "main", "snap", key):
                lost[table] = n
    for table in sorted(now - before - set(library.V11_TABLES)):
        lost[table] = conn.execute(f"SELECT count(*) FROM main.{quote_ident(table)}").fetchone()[0]
    return lost


def changed_upgrade_rows(library_path: str, snapshot_path: str, tracker: ProgressTracker) -> dict[str, int]:
    """Rows of the V11 tables that differ from what the upgrade makes from the snapshot."""
    scratch = apsw.Connection("")  # a private temporary file, deleted on close
    try:
        library.use_writer_cache(scratch)  # as the upgrade's own
        scratch.execute(schema.read(schema.V10_FILE))
        schema.apply_v11(scratch)
        scratch.execute("CREATE INDEX expected_source ON knowledge_captures(source_recording_id)")
        scratch.execute("ATTACH DATABASE ? AS snap", (snapshot_path,))
        scratch.execute("ATTACH DATABASE ? AS lib", (library_path,))
        total = capture_rows.total(scratch, "snap")

        def on_batch(processed: int) -> None:
            tracker.update("checking", processed, total)
            if tracker.cancelled:
                raise errors.Cancelled()

        with watched(scratch, tracker):
            scratch.execute("BEGIN")
            capture_rows.stage(scratch, source="snap", on_batch=on_batch)
            capture_rows.publish(scratch)
            scratch.execute(
                "INSERT INTO main.recordings (id, filename, date_recorded, migrated_to_capture_id, migration_status) "
                "SELECT r.id, '', '', k.id, CASE WHEN k.id IS NULL THEN 'skipped' ELSE 'migrated' END "
                "FROM snap.recordings r LEFT JOIN main.knowledge_captures k ON k.source_recording_id = r.id")
            lost = {}
            for table in library.V11_TABLES:
                columns = [c for c in library.column_names(scratch, table) if c not in TIMESTAMPS]
                if n := _differing_rows(scratch, table, columns, "lib", "main", "id"):
                    lost[table] = n
            # Recordings added or deleted since are counted with the recordings table
            # above; here only those on both sides whose upgrade status was changed.
            (n,) = scratch.execute(
                "SELECT count(*) FROM main.recordings e JOIN lib.recordings a ON a.id = e.id "
                "WHERE a.migrated_to_capture_id IS NOT e.migrated_to_capture_id "
                "OR a.migration_status IS NOT e.migration_status").fetchone()
            if n:
                lost["recordings (upgrade status)"] = n
            scratch.execute("ROLLBACK")
        return lost
    finally:
        scratch.close()
