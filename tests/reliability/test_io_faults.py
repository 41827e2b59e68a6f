"""I/O faults at every point: the Nth xWrite / xSync / xTruncate fails with SQLITE_IOERR or
SQLITE_FULL, once or from N on, for N = 1, 2, ... until the operation completes; migrate,
rollback and cleanup; rollback-journal and WAL libraries.

Afterwards, through the normal VFS, the library must be the original or exactly the
correct result, pass integrity_check, match what the operation reported (success <=>
correct; the reported version is the version on disk), hold no snapshot temp files, and
a plain re-run must finish the job (no manual step). A negative control drops writes
silently and must be caught by the very same checker.
"""

from __future__ import annotations

from pathlib import Path

import apsw
import pytest

from tests.reliability import checker
from tests.reliability.conftest import LARGE, REAL_LAYOUTS, SMALL, full_only
from tests.reliability.faultvfs import OPS, Fault, FaultVFS
from tests.reliability.scenarios import MODES, OPERATIONS, Scenario, tally

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

VARIANTS = (("ioerr", False), ("full", True), ("full", False), ("ioerr", True))
# SNAPSHOT_INVALID: the fault damaged the fresh snapshot and its check caught it
DISK_CODES = {"IO_ERROR", "DISK_FULL", "SNAPSHOT_INVALID"}
MAX_POINTS = 20_000


def _rerun_finishes(scn: Scenario, work: Path) -> list[str]:
    """After a failure left the original, the next ordinary run completes the operation."""
    result = scn.run(str(work))
    out = checker.check(work, scn.original, scn.correct, result)
    problems = list(out.problems)
    if not result.success or out.state != "correct":
        problems.append(f"re-run did not complete: {[e.code for e in result.errors]}, library {out.state}")
    return problems


def sweep(scn: Scenario, work: Path, *, ops: tuple[str, ...] = OPS, every_variant: bool = False,
          rerun_every: int = 1) -> tuple[list[str], int]:
    """Fault every counted call in turn until the operation completes untouched.

    Returns (broken promises, number of fault points). With `every_variant` each point
    gets all four variants (I/O error / disk full, once / from N on); otherwise they rotate
    over the points, so every point is faulted once and every variant often.
    """
    failures: list[str] = []
    n = 0
    while True:
        n += 1
        assert n < MAX_POINTS, "the operation never completed"
        variants = VARIANTS if every_variant else (VARIANTS[n % len(VARIANTS)],)
        completed = False
        for error, persistent in variants:
            scn.fresh(work)
            fault = Fault(n=n, ops=ops, error=error, persistent=persistent)
            with FaultVFS(fault) as vfs:
                result = scn.run(str(work))
            tally("I/O fault runs")
            if not vfs.trace.fired:
                completed = True
                out = checker.check(work, scn.original, scn.correct, result)
                if not (result.success and out.state == "correct"):
                    failures.append(f"no fault fired, yet {[e.code for e in result.errors]} / {out.state}")
                continue
            tally(f"I/O faults injected ({'disk full' if error == 'full' else 'I/O error'}, "
                  f"{'from N on' if persistent else 'once'})")
            out = checker.check(work, scn.original, scn.correct, result, version_may_be_unknown=persistent)
            # in plain words: a disk fault is reported as the disk's fault, never as a bug
            said = {e.code for e in result.errors} | {w.code for w in result.warnings}
            if said & {"INTERNAL_ERROR", "DATABASE_ERROR"} or (not result.success and not said & DISK_CODES):
                out.problems.append(f"the fault was reported as {sorted(said)}")
            tally(f"I/O fault outcome: library {out.state}, reported "
                  f"{'success' if result.success else 'failure'}")
            if out.ok and out.state == "original" and n % rerun_every == 0:
                out.problems += _rerun_finishes(scn, work)
                tally("I/O fault re-runs that completed the operation", not out.problems)
            if not out.ok:
                tally("I/O fault broken promises")
                failures.append(f"{scn.op}/{scn.mode}: {fault.describe()} "
                                f"(hit {vfs.trace.first_fired}): {out.problems}")
        if completed:
            return failures, n - 1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("op", list(OPERATIONS))
def test_every_fault_point_leaves_original_or_correct(scenario_sets, tmp_path: Path, op: str, mode: str) -> None:
    scn = scenario_sets(mode, SMALL)[op]
    failures, points = sweep(scn, tmp_path / "library.db", rerun_every=3)
    tally(f"I/O fault points ({op}, {mode}, {SMALL} recordings)", points)
    assert points > 20, "the shim saw too few writes: is it really the default VFS?"
    assert not failures, f"{len(failures)} broken promises, first: " + "\n".join(failures[:5])


@pytest.mark.parametrize("layout", REAL_LAYOUTS)
@pytest.mark.parametrize("op", list(OPERATIONS))
def test_every_fault_point_on_a_real_layout(scenario_sets, tmp_path: Path, op: str, layout: str) -> None:
    """The same sweep on a library laid out as users have it (rollback-journal)."""
    scn = scenario_sets("delete", SMALL, layout)[op]
    failures, points = sweep(scn, tmp_path / "library.db", rerun_every=3)
    tally(f"I/O fault points ({op}, {layout}, {SMALL} recordings)", points)
    assert points > 20
    assert not failures, f"{len(failures)} broken promises, first: " + "\n".join(failures[:5])


@full_only
@pytest.mark.parametrize("ops", [OPS, ("write",), ("sync",), ("truncate",)], ids=lambda o: "+".join(o))
@pytest.mark.parametrize("recordings", [SMALL, LARGE])
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("op", list(OPERATIONS))
def test_full_sweep_every_point_every_kind(scenario_sets, tmp_path: Path, op: str, mode: str,
                                           recordings: int, ops: tuple[str, ...]) -> None:
    scn = scenario_sets(mode, recordings)[op]
    failures, points = sweep(scn, tmp_path / "library.db", ops=ops, every_variant=True)
    tally(f"I/O fault points, full ({op}, {mode}, {recordings} recordings, {'+'.join(ops)})", points)
    assert not failures, f"{len(failures)} broken promises, first: " + "\n".join(failures[:5])


# ---- the negative control: the checker can fail ---------------------------------------

@pytest.mark.parametrize("mode", MODES)
def test_negative_control_a_silently_dropped_write_is_caught(scenario_sets, tmp_path: Path, mode: str) -> None:
    """A disk that acknowledges a write of the library file and drops it: the same checker
    must report a broken promise (corruption, or a library that is neither state)."""
    scn = scenario_sets(mode, SMALL)["migrate"]
    work = tmp_path / "library.db"
    points = caught = 0
    for n in range(1, MAX_POINTS):
        scn.fresh(work)
        with FaultVFS(Fault(n=n, ops=("write",), action="drop", file_filter=work.name)) as vfs:
            result = scn.run(str(work))
        if not vfs.trace.fired:
            break
        points += 1
        out = checker.check(work, scn.original, scn.correct, result)
        caught += not out.ok
        tally("negative control: writes silently dropped")
    tally("negative control: dropped writes the checker caught", caught)
    assert points > 10
    # Every write of the upgrade to the library file carries new content: losing any one
    # must show. (A few could in principle rewrite identical bytes; allow 10 %.)
    assert caught >= 0.9 * points, f"only {caught} of {points} dropped writes were caught"


def test_negative_control_the_checker_rejects_a_wrong_result(scenario_sets, tmp_path: Path) -> None:
    """Reported success on an untouched library, or a wrong version, is a broken promise."""
    scn = scenario_sets("delete", SMALL)["migrate"]
    work = scn.fresh(tmp_path / "library.db")
    from app.engine.results import MigrateResult
    lying = MigrateResult(success=True, version=11)
    out = checker.check(work, scn.original, scn.correct, lying)
    assert out.state == "original"
    assert any("reported success" in p for p in out.problems)
    assert any("reported version" in p for p in out.problems)
    # and a library changed behind the operation's back is "other"
    conn = checker._open(work)
    conn.execute("UPDATE meetings SET subject = subject || '!' WHERE rowid = 1")
    conn.close()
    assert checker.check(work, scn.original, scn.correct).state == "other"


def test_shim_counts_every_kind_and_unregisters(scenario_sets, tmp_path: Path) -> None:
    scn = scenario_sets("wal", SMALL)["migrate"]
    work = scn.fresh(tmp_path / "library.db")
    with FaultVFS(Fault(n=10**9)) as vfs:
        assert scn.run(str(work)).success
    kinds = {op for op, _ in vfs.trace.calls}
    files = {name for _, name in vfs.trace.calls}
    assert kinds == {"write", "sync", "truncate"}
    assert {"library.db", "library.db-wal"} <= files
    assert any(f.endswith(".sqlite.tmp") for f in files)  # the snapshot is written through it too
    assert apsw.vfs_names()[0] == "unix"
