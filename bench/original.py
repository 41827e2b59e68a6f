"""(c) A direct port of the original per-row algorithm, for comparison.

SELECT the eligible recordings with their transcripts, then for each row: a random
uuid4, INSERT the capture, json.loads the action items and INSERT each, UPDATE the
recording; all in one transaction, on the schema with its indexes in place, as the
Electron version did. Run as `python -m bench.original LIBRARY`; prints phase timings.
"""

from __future__ import annotations

import json
import sys
import time
import uuid

import apsw

from bench import peak_rss_mb
from app.engine import schema
from app.engine.steps import v11


def run(library: str) -> dict[str, float]:
    start = time.perf_counter()
    conn = apsw.Connection(library)
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(schema.read(v11.TABLES_FILE))
    conn.execute(schema.read(v11.INDEX_FILE))
    rows = conn.execute(
        "SELECT r.id, r.filename, r.date_recorded, r.meeting_id, t.summary, t.action_items "
        "FROM recordings r JOIN transcripts t ON t.recording_id = r.id "
        "WHERE r.migration_status IS NULL OR r.migration_status = 'pending'").fetchall()
    for rid, filename, recorded, meeting_id, summary, raw_items in rows:
        cid = str(uuid.uuid4())
        conn.execute("INSERT INTO knowledge_captures (id, title, summary, captured_at, meeting_id, "
                     "source_recording_id) VALUES (?, ?, ?, ?, ?, ?)",
                     (cid, "Recording: " + filename, summary or None, recorded, meeting_id, rid))
        try:
            items = json.loads(raw_items) if raw_items else []
        except ValueError:
            items = [raw_items]
        for item in items if isinstance(items, list) else []:
            text = item if isinstance(item, str) else json.dumps(item)
            conn.execute("INSERT INTO action_items (id, knowledge_capture_id, content) VALUES (?, ?, ?)",
                         (str(uuid.uuid4()), cid, text))
        conn.execute("UPDATE recordings SET migration_status = 'migrated', migrated_to_capture_id = ?, "
                     "migrated_at = CURRENT_TIMESTAMP WHERE id = ?", (cid, rid))
    conn.execute("INSERT INTO schema_version (version) VALUES (11)")
    conn.execute("COMMIT")
    conn.close()
    return {"total": round(time.perf_counter() - start, 3)}


if __name__ == "__main__":
    print(json.dumps({**run(sys.argv[1]), "peak_rss_mb": peak_rss_mb()}))
