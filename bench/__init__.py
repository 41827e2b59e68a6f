"""Benchmarks (`make bench`): the project's upgrade against the floor and the original.

Not part of `make test`: timings are measured here, as ratios against a baseline measured
in the same run on copies of the same file, and written into README.
"""

from __future__ import annotations

import time

import apsw

from app.engine.steps.v11.split_pass import peak_rss_mb


class Marks(dict):
    """Phase timings: `mark(name)` records the seconds since the previous mark."""

    def __init__(self) -> None:
        super().__init__()
        self.start = self._last = time.perf_counter()

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        self[name] = round(now - self._last, 3)
        self._last = now

    def total(self) -> dict[str, float]:
        return {**self, "total": round(time.perf_counter() - self.start, 3)}


def backup_copy(path: str, dest: str) -> None:
    """`path` copied to `dest` with SQLite's backup API (what every floor's snapshot is)."""
    reader = apsw.Connection(path, flags=apsw.SQLITE_OPEN_READONLY)
    copy = apsw.Connection(dest)
    with copy.backup("main", reader, "main") as backup:
        while not backup.done:
            backup.step(4096)
    copy.close()
    reader.close()


__all__ = ["peak_rss_mb", "Marks", "backup_copy"]
