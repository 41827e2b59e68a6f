"""Rollback (a) against its floor (b), each run in its own process on a fresh copy of an
upgraded library and its snapshots folder.

    python -m bench.restore project LIBRARY          the project's rollback, as the API runs it
    python -m bench.restore floor LIBRARY SNAPSHOT   the least a safe restore must do

The floor: a safety copy of the library through the backup API, the snapshot copied back
over it through the backup API, and quick_check; no comparison, no hashes. Each prints a
JSON line of timings. When the library changed since the upgrade, (a) answers
WOULD_LOSE_DATA with what would be lost: its time is the time of that answer.
"""

from __future__ import annotations

import json
import sys
import time

import apsw

from app.engine import library as lib
from app.engine.progress import REGISTRY, ProgressEvent
from app.engine.rollback import rollback
from bench import Marks, backup_copy, peak_rss_mb


def project(path: str) -> dict:
    phases: dict[str, float] = {}
    start = time.perf_counter()
    last = {"phase": None, "t": start}

    def listener(event: ProgressEvent) -> None:
        now = time.perf_counter()
        if event.phase != last["phase"]:
            if last["phase"]:
                phases[last["phase"]] = round(phases.get(last["phase"], 0) + now - last["t"], 3)
            last["phase"], last["t"] = event.phase, now

    REGISTRY.subscribe(listener)
    result = rollback(path)
    total = round(time.perf_counter() - start, 3)
    codes = [e.code for e in result.errors]
    if codes not in ([], ["WOULD_LOSE_DATA"]):
        raise SystemExit(f"rollback failed: {codes}")
    return {**phases, "total": total, "would_lose": sum(result.would_lose.values())}


def floor(path: str, snapshot: str) -> dict:
    marks = Marks()
    mark = marks.mark

    conn = apsw.Connection(path)
    lib.use_writer_cache(conn)
    conn.execute("BEGIN IMMEDIATE")  # nobody writes while the safety copy is taken
    backup_copy(path, path + ".floor-safety")
    conn.execute("ROLLBACK")
    mark("safety copy")
    source = apsw.Connection(snapshot, flags=apsw.SQLITE_OPEN_READONLY)
    with conn.backup("main", source, "main") as backup:
        while not backup.done:
            backup.step(4096)
    source.close()
    mark("restore")
    if conn.execute("PRAGMA quick_check").fetchall() != [("ok",)]:
        raise SystemExit("the restored library is damaged")
    mark("quick_check")
    conn.close()
    return marks.total()


if __name__ == "__main__":
    variant, *args = sys.argv[1:]
    timings = project(*args) if variant == "project" else floor(*args)
    print(json.dumps({**timings, "peak_rss_mb": peak_rss_mb()}))
