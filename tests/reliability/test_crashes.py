"""Crashes: the process running migrate, rollback or cleanup dies at exactly the Nth write /
sync / truncate (os._exit from inside the VFS), or is SIGKILLed at a random moment of an
operation on a larger library. The next open sees the original or the complete result, the
write lock is free at once (no stale lock), and the next ordinary run needs no manual step
and leaves no temp or orphaned snapshot files behind.

The child is a fork of the test process (a few ms), so every fault point can be crashed.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path

import apsw
import pytest

from app.engine import snapshots
from app.engine.steps.v11 import split_pass
from app.engine.status import status
from tests.reliability import checker
from tests.reliability.conftest import FULL, REAL_LAYOUTS, SMALL, full_only
from tests.reliability.faultvfs import CRASH_EXIT_CODE, Fault, FaultVFS
from tests.reliability.scenarios import MODES, OPERATIONS, Scenario, tally

pytestmark = [pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]  # fork with threads

CRASH_LIBRARY = 2000   # recordings in the library killed at random moments
KILLS = 40 if FULL else 4


def _child(scn: Scenario, work: Path, fault: Fault | None) -> int:
    """Run the operation in a forked child; return its pid. The child never returns."""
    pid = os.fork()
    if pid:
        return pid
    code = 3
    try:
        if fault is None:
            result = scn.run(str(work))
        else:
            with FaultVFS(fault):
                result = scn.run(str(work))
        code = 0 if result.success else 1
    finally:
        os._exit(code)


def _wait(pid: int, timeout: float = 120) -> int:
    """The child's wait status; a child that hangs (it must not) is killed and reported."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status_ = os.waitpid(pid, os.WNOHANG)
        if done:
            return status_
        time.sleep(0.002)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError(f"the child process hung for {timeout}s")


def _lock_is_free(path: Path) -> bool:
    conn = apsw.Connection(str(path), vfs="unix")
    try:
        conn.set_busy_timeout(0)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return True
    except apsw.BusyError:
        return False
    finally:
        conn.close()


def _orphan_snapshot_files(path: Path) -> list[str]:
    folder = snapshots.snapshot_dir(str(path))
    if not folder.is_dir():
        return []
    manifests = {p.stem for p in folder.glob("*.json")}
    return sorted(p.name for p in folder.iterdir()
                  if ".tmp" in p.name or (p.suffix == ".sqlite" and p.stem not in manifests))


def after_crash(scn: Scenario, work: Path) -> tuple[str, list[str]]:
    """Everything the next start of the app must find; returns (state, broken promises)."""
    problems = []
    if not _lock_is_free(work):
        problems.append("the write lock is still held after the crash")
    out = checker.check(work, scn.original, scn.correct)
    state = out.state
    problems += [p for p in out.problems if "temp files" not in p]  # the next run cleans those
    st = status(str(work))
    expected_version = {"original": scn.original, "correct": scn.correct}.get(state)
    if not st.success:
        problems.append(f"status after the crash failed: {[e.code for e in st.errors]}")
    elif expected_version is not None and st.version != checker.disk_version(work):
        problems.append(f"status says version {st.version}")
    if state == "original":
        result = scn.run(str(work))
        after = checker.check(work, scn.original, scn.correct, result)
        if not (result.success and after.state == "correct"):
            problems.append(f"the next run did not complete: {[e.code for e in result.errors]}, {after.state}")
        problems += after.problems
    if leftovers := _orphan_snapshot_files(work):
        problems.append(f"left behind in the snapshot folder: {leftovers}")
    if os.path.exists(str(work) + "-journal"):
        problems.append("a -journal file is left beside the library")
    return state, problems


def crash_sweep(scn: Scenario, work: Path, stride: int, offset: int = 0) -> tuple[list[str], int]:
    failures, crashes = [], 0
    for n in range(1 + offset, 10**6, stride):
        scn.fresh(work)
        pid = _child(scn, work, Fault(n=n, action="exit"))
        status_ = _wait(pid)
        code = os.waitstatus_to_exitcode(status_)
        if code != CRASH_EXIT_CODE:  # the operation finished before write N
            if code != 0:
                failures.append(f"uncrashed child ended with {code}")
            return failures, crashes
        crashes += 1
        tally("crashes at write N (os._exit)")
        state, problems = after_crash(scn, work)
        tally(f"crash outcome: library {state}")
        if problems:
            failures.append(f"{scn.op}/{scn.mode} crash at call #{n}: {problems}")
    raise AssertionError("the operation never completed")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("op", list(OPERATIONS))
def test_crash_at_write_n(scenario_sets, tmp_path: Path, op: str, mode: str) -> None:
    scn = scenario_sets(mode, SMALL)[op]
    stride = 1 if FULL else 3
    offset = (list(OPERATIONS).index(op) + MODES.index(mode)) % stride  # each case its own points
    failures, crashes = crash_sweep(scn, tmp_path / "library.db", stride, offset=offset)
    assert crashes > 10
    assert not failures, f"{len(failures)} broken promises, first: " + "\n".join(failures[:5])


@pytest.mark.parametrize("layout", REAL_LAYOUTS)
@pytest.mark.parametrize("op", list(OPERATIONS))
def test_crash_at_write_n_on_a_real_layout(scenario_sets, tmp_path: Path, op: str, layout: str) -> None:
    """The same crashes on a library laid out as users have it (rollback-journal)."""
    scn = scenario_sets("delete", SMALL, layout)[op]
    stride = 1 if FULL else 4
    failures, crashes = crash_sweep(scn, tmp_path / "library.db", stride, offset=list(OPERATIONS).index(op) % stride)
    assert crashes > 5
    assert not failures, f"{len(failures)} broken promises, first: " + "\n".join(failures[:5])


@pytest.fixture(scope="module")
def large_sets(tmp_path_factory: pytest.TempPathFactory):
    from tests.reliability import scenarios
    root = tmp_path_factory.mktemp("crash-templates")
    return {mode: scenarios.build(root / mode, mode, CRASH_LIBRARY, seed=7) for mode in MODES}


def kill_at_random_moments(scn: Scenario, work: Path, seed: str,
                           after_each: Callable[[], list[str]] = list) -> list[str]:
    """SIGKILL the operation KILLS times at random moments; the broken promises found."""
    # How long the operation takes here, so the kills land inside it.
    scn.fresh(work)
    started = time.monotonic()
    assert scn.run(str(work)).success
    duration = time.monotonic() - started
    rng = random.Random(seed)
    failures = []
    for i in range(KILLS):
        scn.fresh(work)
        pid = _child(scn, work, None)
        time.sleep(rng.uniform(0, duration * 1.3))
        os.kill(pid, signal.SIGKILL)
        status_ = _wait(pid)
        killed = os.WIFSIGNALED(status_)
        tally("SIGKILLs at random moments" if killed else "SIGKILL came after the operation ended")
        state, problems = after_crash(scn, work)
        problems += after_each()
        tally(f"SIGKILL outcome: library {state}")
        if problems:
            failures.append(f"kill #{i} ({'killed' if killed else 'finished'}): {problems}")
    return failures


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("op", list(OPERATIONS))
def test_sigkill_at_random_moments(large_sets, tmp_path: Path, op: str, mode: str) -> None:
    failures = kill_at_random_moments(large_sets[mode][op], tmp_path / "library.db", f"{op}-{mode}")
    assert not failures, "\n".join(failures[:5])


def _running_helpers() -> list[int]:
    """Processes running the data pass's helper (the suite runs one test at a time)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and b"app.engine.steps.v11.split_pass" in (proc / "cmdline").read_bytes():
                found.append(int(proc.name))
        except OSError:  # gone meanwhile
            continue
    return found


def _no_helper_left() -> list[str]:
    deadline = time.monotonic() + 5
    while (left := _running_helpers()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return [f"helper processes still running: {left}"] if left else []


def test_sigkill_while_the_helper_works(large_sets, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The upgrade with its data pass split over two processes (forced here: the library
    is small), killed at random moments: same promises, and its helper does not outlive it."""
    monkeypatch.setattr(split_pass, "MIN_RECORDINGS", 0)
    peaks = len(split_pass.peaks_mb)
    scn = large_sets["wal"]["migrate"]
    failures = kill_at_random_moments(scn, tmp_path / "library.db", "helper", _no_helper_left)
    assert len(split_pass.peaks_mb) > peaks, "the helper never ran"
    assert not failures, "\n".join(failures[:5])


@full_only
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("op", list(OPERATIONS))
def test_crash_at_write_n_large_library(scenario_sets, tmp_path: Path, op: str, mode: str) -> None:
    from tests.reliability.conftest import LARGE
    scn = scenario_sets(mode, LARGE)[op]
    failures, crashes = crash_sweep(scn, tmp_path / "library.db", stride=1)
    assert crashes > 10
    assert not failures, f"{len(failures)} broken promises, first: " + "\n".join(failures[:5])
