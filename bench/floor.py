"""(b) The floor: the least work any correct upgrade must do on the file.

Run as `python -m bench.floor LIBRARY ROWS_DB`: ROWS_DB holds the V11 rows precomputed
(outside the timing, see `precompute`); the timed part is a snapshot through the backup
API, the V11 tables, set-based INSERT ... SELECT in key order, the recordings update, the
indexes and COMMIT, with no per-row Python. Prints a JSON object of phase timings.
"""

from __future__ import annotations

import json
import os
import sys

import apsw

from bench import Marks, backup_copy, peak_rss_mb
from app.engine import schema
from app.engine.steps import v11
from app.engine.steps.v11 import rows as capture_rows
from app.engine.library import use_writer_cache


def precompute(library: str, rows_db: str) -> None:
    """Write the upgrade's rows for `library` into `rows_db` (untimed preparation)."""
    conn = apsw.Connection(rows_db)
    conn.execute(schema.read(schema.V10_FILE))
    conn.execute(schema.read(v11.TABLES_FILE))
    conn.execute("ATTACH DATABASE ? AS lib", (library,))
    with conn:
        capture_rows.write_rows(conn, source="lib")
    conn.execute("DETACH DATABASE lib")
    conn.close()


def run(library: str, rows_db: str) -> dict[str, float]:
    marks = Marks()
    mark = marks.mark

    conn = apsw.Connection(library)
    use_writer_cache(conn)  # the same page cache as (a)
    conn.execute("ATTACH DATABASE ? AS pre", (rows_db,))
    conn.execute("BEGIN IMMEDIATE")
    backup_copy(library, library + ".floor-snapshot")
    mark("snapshot")
    conn.execute(schema.read(v11.TABLES_FILE))
    for table in ("knowledge_captures", "audio_sources", "action_items"):
        conn.execute(f"INSERT INTO main.{table} SELECT * FROM pre.{table} ORDER BY id")
    mark("insert")
    conn.execute("UPDATE recordings SET migration_status = CASE WHEN k.id IS NULL THEN 'skipped' ELSE 'migrated' END, "
                 "migrated_to_capture_id = k.id, migrated_at = '2026-01-01 00:00:00' "
                 "FROM recordings AS r LEFT JOIN pre.knowledge_captures AS k ON k.source_recording_id = r.id "
                 "WHERE r.id = recordings.id")
    mark("update")
    conn.execute(schema.read(v11.INDEX_FILE))
    mark("indexes")
    conn.execute("INSERT INTO schema_version (version) VALUES (11)")
    conn.execute("COMMIT")
    mark("commit")
    conn.close()
    os.remove(library + ".floor-snapshot")
    return marks.total()


if __name__ == "__main__":
    print(json.dumps({**run(sys.argv[1], sys.argv[2]), "peak_rss_mb": peak_rss_mb()}))
