"""The engine's shape: a next version is a registered step, not edits across the tree.

A toy V11 -> V12 step (a table of per-capture counts, filled from the captures) is
registered here only, for these tests. Without touching engine code, migrate runs a
version-10 library through both steps in one transaction, status and the errors read the
new range, a second migrate changes nothing, rollback restores the version-10 file, and
the reliability checker holds under every I/O fault point of the two-step upgrade.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import apsw
import pytest

from app.engine import errors, library
from app.engine.migrate import migrate
from app.engine.progress import ProgressTracker
from app.engine.rollback import rollback
from app.engine.status import status
from app.engine.steps import REGISTRY, Plan, Report, Step, StepRun
from tests.conftest import Library, fill, set_version
from tests.reliability import checker
from tests.reliability.scenarios import Scenario
from tests.reliability.test_io_faults import sweep

TABLE = """CREATE TABLE capture_stats (
  id TEXT PRIMARY KEY REFERENCES knowledge_captures(id) ON DELETE CASCADE,
  action_items INTEGER NOT NULL,
  created_at TEXT DEFAULT CURRENT_TIMESTAMP)"""
FILL = """INSERT INTO {into}.capture_stats (id, action_items)
  SELECT k.id, (SELECT count(*) FROM {src}.action_items a WHERE a.knowledge_capture_id = k.id)
  FROM {src}.knowledge_captures k WHERE k.id NOT IN (SELECT id FROM {into}.capture_stats)"""


class CaptureStats(Step):
    id = "v12-capture-stats"
    source = 11
    target = 12
    description = "per-capture counts (a test's toy)"
    inserts = ("capture_stats",)

    def canonical_tables(self) -> tuple[str, ...]:
        return ("capture_stats",)

    def require(self, conn: apsw.Connection) -> None:
        """Runs after the V11 step: everything it needs is V11's."""

    def plan(self, conn: apsw.Connection) -> Plan:
        if "capture_stats" not in library.table_names(conn):
            return Plan(schema_missing=["table capture_stats"])
        (n,) = conn.execute("SELECT count(*) FROM knowledge_captures "
                            "WHERE id NOT IN (SELECT id FROM capture_stats)").fetchone()
        return Plan(counts={"to_upgrade": n})

    def apply(self, run: StepRun) -> Report:
        conn = run.conn
        if "capture_stats" not in library.table_names(conn):
            conn.execute(TABLE)
        conn.execute(FILL.format(into="main", src="main"))
        made = conn.changes()
        run.check()
        (missing,) = conn.execute("SELECT count(*) FROM knowledge_captures "
                                  "WHERE id NOT IN (SELECT id FROM capture_stats)").fetchone()
        if missing:
            raise errors.VerificationFailed(checks=["every capture has its counts"])
        return Report(self.id, counts={"capture_stats_created": made})

    def expected(self, scratch: apsw.Connection, source: str, tracker: ProgressTracker) -> None:
        scratch.execute(TABLE)
        scratch.execute(FILL.format(into="main", src="main"))  # the new captures, as the V11 step expects them
        if "knowledge_captures" in library.table_names(scratch, source):
            scratch.execute(FILL.format(into="main", src=source))


@pytest.fixture
def v12() -> Iterator[CaptureStats]:
    with REGISTRY.registering(CaptureStats()) as step:
        yield step


@pytest.fixture
def filled(make_library) -> Library:
    lib = make_library(journal_mode="delete")
    fill(lib, 40)
    return lib


def test_a_v10_library_goes_through_both_steps_and_back(v12: CaptureStats, filled: Library) -> None:
    original = checker.dump(filled.path)
    before = status(str(filled))
    assert before.success and before.can_migrate and before.latest_version == 12

    result = migrate(str(filled))
    assert result.success, result.errors
    assert result.version == 12 == filled.version()
    assert [s.id for s in result.steps] == ["v11-knowledge-captures", "v12-capture-stats"]
    captures = filled.execute("SELECT count(*) FROM knowledge_captures")[0][0]
    assert result.steps[1].counts == {"capture_stats_created": captures} and captures > 0
    assert filled.execute("SELECT sum(action_items) FROM capture_stats")[0][0] == result.action_items_created
    upgraded = checker.dump(filled.path)

    again = migrate(str(filled))
    assert again.success and [w.code for w in again.warnings] == ["ALREADY_UPGRADED"]
    assert checker.dump(filled.path) == upgraded

    # A row of the new step changed since: rollback sees it.
    filled.execute("UPDATE capture_stats SET action_items = action_items + 1 WHERE rowid = 1")
    refused = rollback(str(filled))
    assert [e.code for e in refused.errors] == ["WOULD_LOSE_DATA"]
    assert refused.would_lose == {"capture_stats": 1}

    back = rollback(str(filled), force=True)
    assert back.success, back.errors
    assert checker.dump(filled.path) == original and filled.version() == 10


def test_the_range_comes_from_the_registry(v12: CaptureStats, filled: Library) -> None:
    set_version(filled.path, 13)
    refused = migrate(str(filled))
    assert [e.code for e in refused.errors] == ["LIBRARY_TOO_NEW"]
    assert "(12)" in refused.errors[0].message


def test_a_v11_library_takes_only_the_next_step(filled: Library) -> None:
    assert migrate(str(filled)).success  # V11, before the toy step exists
    with REGISTRY.registering(CaptureStats()):
        st = status(str(filled))
        assert st.can_migrate and st.version == 11
        result = migrate(str(filled))
        assert result.success, result.errors
        assert [s.id for s in result.steps] == ["v12-capture-stats"] and result.version == 12


def test_every_io_fault_of_the_two_step_upgrade_leaves_original_or_correct(
        v12: CaptureStats, filled: Library, tmp_path: Path) -> None:
    reference = checker.copy_library(filled.path, tmp_path / "reference.db")
    assert migrate(str(reference)).success
    scn = Scenario("migrate", "delete", filled.path, checker.dump(filled.path), checker.dump(reference))
    failures, points = sweep(scn, tmp_path / "work.db", rerun_every=5)
    assert points > 20
    assert not failures, failures[:3]
