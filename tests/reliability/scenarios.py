"""The three writing operations as test scenarios: a template library, the operation, the
original state and the exactly-correct result (made by the same operation on a copy through
the normal VFS)."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.engine.cleanup import run_cleanup
from app.samples.demo import create_demo_library
from app.engine.migrate import migrate
from app.engine.rollback import rollback
from tests import real_layouts
from tests.reliability import checker

OPERATIONS: dict[str, Callable] = {"migrate": migrate, "rollback": rollback, "cleanup": run_cleanup}
MODES = ("delete", "wal")

# What the suite measured, for the README table (printed at the end of the run).
STATS: Counter = Counter()
_stats_guard = threading.Lock()


def tally(key: str, n: int = 1) -> None:
    with _stats_guard:
        STATS[key] += n


@dataclass
class Scenario:
    op: str
    mode: str
    template: Path        # the library (with its snapshot folder) before the operation
    original: checker.Dump
    correct: checker.Dump

    @property
    def run(self) -> Callable:
        return OPERATIONS[self.op]

    def fresh(self, work: Path) -> Path:
        return checker.reset_library(self.template, work)


def build(folder: Path, mode: str, recordings: int, seed: int = 1, layout: str | None = None) -> dict[str, Scenario]:
    """Templates and references for migrate, rollback and cleanup on one demo library, or
    on a library laid out as users have it (`layout`, see tests/real_layouts.py: always
    rollback-journal, as the app wrote them)."""
    folder.mkdir(parents=True, exist_ok=True)
    base = folder / f"v10-{mode}-{recordings}.db"
    if layout is None:
        create_demo_library(str(base), recordings=recordings, seed=seed, journal_mode=mode)
    else:
        assert mode == "delete", "the app wrote rollback-journal files only"
        real_layouts.build(base, layout, recordings=recordings, seed=seed)
    upgraded = checker.copy_library(base, folder / f"v11-{mode}-{recordings}.db")
    result = migrate(str(upgraded))
    assert result.success, result.errors

    out = {}
    for op, template in (("migrate", base), ("rollback", upgraded), ("cleanup", base)):
        ref = checker.reset_library(template, folder / f"reference-{op}-{mode}-{recordings}.db")
        result = OPERATIONS[op](str(ref))
        assert result.success, (op, result.errors)
        if result.warnings and result.warnings[0].code == "NOTHING_TO_CLEAN":
            continue  # nothing to sweep: the operation changes nothing
        out[op] = Scenario(op, mode, template, checker.dump(template), checker.dump(ref))
        assert out[op].original != out[op].correct
    # rollback's correct result is the library exactly as it was before the upgrade
    assert out["rollback"].correct == out["migrate"].original
    return out
