"""Clean-up (a) against its floor (b), each run in its own process on a fresh copy.

    python -m bench.cleaning project LIBRARY   the project's clean-up, as the API runs it
    python -m bench.cleaning floor LIBRARY     the least a safe clean-up must do

The floor: a snapshot through the backup API, then the clean-up's own set-based
statements (`cleanup.statements`, the duplicates table and its indexes) and COMMIT, with
no findings, no checks, no hashes. Each prints a JSON line of timings.
"""

from __future__ import annotations

import json
import os
import sys
import time

import apsw

from app.engine import cleanup
from app.engine.library import use_writer_cache
from bench import Marks, backup_copy, peak_rss_mb


def project(path: str) -> dict:
    start = time.perf_counter()
    result = cleanup.run_cleanup(path)
    if not result.success:
        raise SystemExit(f"cleanup failed: {[e.code for e in result.errors]}")
    return {"total": round(time.perf_counter() - start, 3)}


def floor(path: str) -> dict:
    marks = Marks()
    mark = marks.mark

    conn = apsw.Connection(path)
    use_writer_cache(conn)
    conn.execute("BEGIN IMMEDIATE")
    backup_copy(path, path + ".floor-snapshot")
    mark("snapshot")
    cleanup.rank_duplicates(conn)
    for _, sql, _ in cleanup.statements(conn):
        if sql:
            conn.execute(sql)
    mark("statements")
    conn.execute("COMMIT")
    mark("commit")
    conn.close()
    os.remove(path + ".floor-snapshot")
    return marks.total()


if __name__ == "__main__":
    variant, library = sys.argv[1:]
    timings = project(library) if variant == "project" else floor(library)
    print(json.dumps({**timings, "peak_rss_mb": peak_rss_mb()}))
