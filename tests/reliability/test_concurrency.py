"""Concurrency: threads of one process and several processes run migrate, rollback and
cleanup on one library at once. One holds the library; the others get IN_PROGRESS quickly
(threads: at once; processes: within the busy timeout); the library ends in a correct
state; and a reader on another connection, polling all along, only ever sees complete
states, never a partial one.

"A correct state" is one that some sequence of whole operations produces from the
original: the set is computed up front by applying the operations one after another on
copies until no new state appears.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import apsw
import pytest

from app.engine.library import BUSY_TIMEOUT_MS
from app.engine.progress import ProgressRegistry
from tests.reliability import checker
from tests.reliability.conftest import FULL, SMALL
from tests.reliability.scenarios import MODES, OPERATIONS, tally

ROUNDS = 12 if FULL else 2
ACCEPTABLE_REFUSALS = {"IN_PROGRESS", "NOTHING_TO_ROLL_BACK", "WOULD_LOSE_DATA"}
PAUSE_AT = "snapshot"  # every writing operation takes its snapshot while holding the lock


def reachable_states(start: Path, folder: Path) -> list[checker.Dump]:
    """Every library state that whole operations, run one after another, can produce."""
    folder.mkdir(exist_ok=True)
    states = [checker.dump(start)]
    frontier, made = [start], 0
    while frontier:
        next_frontier = []
        for lib in frontier:
            for run in OPERATIONS.values():
                made += 1
                copy = checker.reset_library(lib, folder / f"state-{made}.db")
                run(str(copy))
                state = checker.dump(copy)
                if state not in states:
                    states.append(state)
                    next_frontier.append(copy)
        frontier = next_frontier
    return states


@pytest.fixture(scope="module")
def races(scenario_sets, tmp_path_factory: pytest.TempPathFactory):
    """Per journal mode: (template of the original V10 library, its reachable states)."""
    out = {}
    for mode in MODES:
        template = scenario_sets(mode, SMALL)["migrate"].template
        out[mode] = (template, reachable_states(template, tmp_path_factory.mktemp(f"states-{mode}")))
        assert len(out[mode][1]) >= 4  # original, migrated, cleaned, cleaned+migrated, ...
    return out


class Reader(threading.Thread):
    """Polls the library on its own connection; each read is one transaction, one state."""

    def __init__(self, path: Path, states: list[checker.Dump]) -> None:
        super().__init__(daemon=True)
        self.path, self.states = path, states
        self.stop = threading.Event()
        self.reads = 0
        self.partial: list[str] = []
        self.errors: list[str] = []

    def run(self) -> None:
        conn = apsw.Connection(str(self.path), flags=apsw.SQLITE_OPEN_READWRITE, vfs="unix")
        conn.set_busy_timeout(10_000)
        try:
            while not self.stop.is_set():
                try:
                    conn.execute("BEGIN")
                    try:
                        state = checker.dump_conn(conn)
                    finally:
                        conn.execute("COMMIT")
                except apsw.BusyError:
                    continue
                except apsw.Error as exc:  # a reader must never meet a damaged library
                    self.errors.append(repr(exc))
                    continue
                self.reads += 1
                if state not in self.states:
                    self.partial.append(f"read #{self.reads}: differs from every whole state")
                time.sleep(0.002)  # rollback-journal mode: let the writer's COMMIT in
        finally:
            conn.close()

    def finish(self) -> None:
        self.stop.set()
        self.join(30)
        tally("concurrent reader: reads", self.reads)
        tally("concurrent reader: partial states seen", len(self.partial))
        assert not self.errors, self.errors[:3]
        assert not self.partial, self.partial[:3]
        assert self.reads > 0


def _end_state_ok(work: Path, states: list[checker.Dump]) -> None:
    assert checker.integrity(work) == []
    assert checker.dump(work) in states, "the library ended in a state no sequence of whole operations makes"
    assert checker.tmp_leftovers(work) == []


# ---- one holds the library, the others are refused quickly ---------------------------

def _hold(op: str, work: Path, phase: str = PAUSE_AT) -> tuple[threading.Thread, threading.Event,
                                                               threading.Event, dict]:
    """Start `op` in a thread that pauses at `phase` (inside its transaction) until released."""
    registry = ProgressRegistry()
    holding, release = threading.Event(), threading.Event()

    def listener(event) -> None:
        if event.phase == phase and not holding.is_set():
            holding.set()
            release.wait(60)
    registry.subscribe(listener)
    out: dict = {}
    thread = threading.Thread(target=lambda: out.setdefault("result", OPERATIONS[op](str(work), registry=registry)))
    thread.start()
    assert holding.wait(30), f"{op} never reached {phase}"
    return thread, holding, release, out


def _start_state(op: str, mode: str, races, tmp_path: Path) -> tuple[Path, list]:
    template, states = races[mode]
    work = checker.reset_library(template, tmp_path / "library.db")
    if op == "rollback":  # something to roll back
        assert OPERATIONS["migrate"](str(work)).success
    return work, states


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("holder", list(OPERATIONS))
def test_threads_one_holds_the_others_get_in_progress_at_once(races, tmp_path: Path, holder: str, mode: str) -> None:
    work, states = _start_state(holder, mode, races, tmp_path)
    reader = Reader(work, states)
    reader.start()
    thread, _, release, out = _hold(holder, work)
    try:
        for op in list(OPERATIONS) * 2:
            started = time.monotonic()
            result = OPERATIONS[op](str(work))
            took = time.monotonic() - started
            tally("concurrent runs refused (threads)")
            assert [e.code for e in result.errors] == ["IN_PROGRESS"], (op, result.errors)
            assert took < 0.5, f"{op} took {took:.2f}s to be refused"
            assert "try again" in result.errors[0].message
    finally:
        release.set()
        thread.join(60)
    assert out["result"].success, out["result"].errors
    tally("concurrent runs that held the library")
    reader.finish()
    _end_state_ok(work, states)


def _cli(op: str, work: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "app", op, "--library", str(work), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("holder", list(OPERATIONS))
def test_processes_one_holds_the_others_exit_75_within_the_busy_timeout(races, tmp_path: Path, holder: str,
                                                                        mode: str) -> None:
    work, states = _start_state(holder, mode, races, tmp_path)
    reader = Reader(work, states)
    reader.start()
    thread, _, release, out = _hold(holder, work)
    try:
        started = time.monotonic()
        others = [op for op in OPERATIONS if not (holder == "rollback" and op == "migrate")]  # see below
        procs = [_cli(op, work) for op in others]
        for proc in procs:
            stdout, stderr = proc.communicate(timeout=60)
            took = time.monotonic() - started
            tally("concurrent runs refused (processes)")
            assert proc.returncode == 75, (proc.args, stdout, stderr)
            assert json.loads(stdout)["errors"][0]["code"] == "IN_PROGRESS"
            # interpreter start-up (~0.5 s, several at once on 2 cores) + the busy timeout
            assert took < BUSY_TIMEOUT_MS / 1000 + 8, f"refused only after {took:.1f}s"
    finally:
        release.set()
        thread.join(60)
    assert out["result"].success, out["result"].errors
    reader.finish()
    _end_state_ok(work, states)


@pytest.mark.parametrize("mode", MODES)
def test_migrate_while_another_process_rolls_back_gets_in_progress(races, tmp_path: Path, mode: str) -> None:
    work, states = _start_state("rollback", mode, races, tmp_path)
    thread, _, release, out = _hold("rollback", work)
    try:
        proc = _cli("migrate", work)
        stdout, _ = proc.communicate(timeout=60)
    finally:
        release.set()
        thread.join(60)
    assert out["result"].success
    assert proc.returncode == 75, stdout


@pytest.mark.parametrize("mode", MODES)
def test_rollback_never_undoes_work_committed_after_its_restore(races, tmp_path: Path, mode: str) -> None:
    """The restore releases the lock before rollback's final check. Another operation that
    commits in that gap (here: cleanup of the restored V10 library) must keep its work; the
    rollback must not put its safety snapshot (the V11 state) back over it."""
    work, states = _start_state("rollback", mode, races, tmp_path)
    original_v10 = races[mode][1][0]
    thread, _, release, out = _hold("rollback", work, phase="verifying")
    try:
        proc = _cli("cleanup", work)  # another copy of the app, in the gap
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        release.set()
        thread.join(60)
    cleanup = json.loads(stdout)
    assert proc.returncode == 0 and cleanup["duplicate_recordings_removed"] > 0, (stdout, stderr)
    now = checker.dump(work)
    assert now != original_v10, "the cleanup's committed work was undone"
    assert checker.disk_version(work) == 10
    rollback_result = out["result"]
    assert rollback_result.success, rollback_result.errors
    assert rollback_result.version == checker.disk_version(work)
    assert now in states
    tally("concurrent runs (operation in the gap after a restore)", 2)


# ---- free for all ------------------------------------------------------------------------

def _coherent(op: str, code: str | None) -> bool:
    return code is None or code in ACCEPTABLE_REFUSALS


@pytest.mark.parametrize("mode", MODES)
def test_threads_free_for_all(races, tmp_path: Path, mode: str) -> None:
    template, states = races[mode]
    for round_ in range(ROUNDS * 3):
        work = checker.reset_library(template, tmp_path / "library.db")
        reader = Reader(work, states)
        reader.start()
        ops = list(OPERATIONS) * 2
        barrier = threading.Barrier(len(ops))
        results: list = [None] * len(ops)

        def go(i: int, op: str) -> None:
            barrier.wait()
            results[i] = (op, OPERATIONS[op](str(work)))
        threads = [threading.Thread(target=go, args=(i, op)) for i, op in enumerate(ops)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        reader.finish()
        for op, result in results:
            tally("concurrent runs (threads, free for all)")
            code = result.errors[0].code if result.errors else None
            assert _coherent(op, code), (round_, op, result.errors)
        # someone held the library (it may have found nothing to do: rollback of a V10 library)
        assert any(not r.errors or r.errors[0].code != "IN_PROGRESS" for _, r in results)
        _end_state_ok(work, states)


@pytest.mark.parametrize("mode", MODES)
def test_processes_free_for_all(races, tmp_path: Path, mode: str) -> None:
    template, states = races[mode]
    for round_ in range(ROUNDS):
        work = checker.reset_library(template, tmp_path / "library.db")
        reader = Reader(work, states)
        reader.start()
        procs = [(op, _cli(op, work)) for op in list(OPERATIONS) * 2]
        outcomes = []
        for op, proc in procs:
            stdout, stderr = proc.communicate(timeout=120)
            tally("concurrent runs (processes, free for all)")
            data = json.loads(stdout)
            code = data["errors"][0]["code"] if data["errors"] else None
            assert proc.returncode in (0, 1, 75), (op, proc.returncode, stderr)
            assert (proc.returncode == 75) == (code == "IN_PROGRESS"), (op, proc.returncode, code)
            assert _coherent(op, code), (round_, op, data["errors"])
            outcomes.append((op, proc.returncode))
        reader.finish()
        assert any(rc != 75 for _, rc in outcomes)
        _end_state_ok(work, states)
