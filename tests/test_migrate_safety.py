"""migrate is all-or-nothing: errors, cancels, concurrent runs and bad verification
leave the library exactly as it was (byte for byte in rollback-journal mode)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time

import pytest

from app.engine import snapshots
from app.engine.migrate import migrate
from app.engine.rollback import rollback
from app.engine.progress import ProgressEvent, ProgressRegistry
from app.engine.status import status
from tests.conftest import Library, fill, sidecars


def _snapshot_files(lib: Library) -> list[str]:
    folder = snapshots.snapshot_dir(str(lib))
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


@pytest.fixture
def filled(make_library, journal_mode) -> Library:
    lib = make_library(journal_mode=journal_mode)
    fill(lib, 300)
    return lib


def test_database_error_midway_rolls_back_and_keeps_snapshot(filled: Library) -> None:
    # A trigger of the user's makes the recordings update fail halfway through the data pass.
    filled.execute("CREATE TRIGGER boom BEFORE UPDATE OF migration_status ON recordings "
                   "WHEN NEW.id = 'r00150' BEGIN SELECT RAISE(ABORT, 'boom'); END")
    before = filled.dump()
    raw = filled.path.read_bytes() if filled.journal_mode() == "delete" else None

    result = migrate(str(filled))

    assert not result.success
    assert result.errors[0].code == "DATABASE_ERROR"
    assert result.version == 10
    assert filled.dump() == before
    if raw is not None:
        assert filled.path.read_bytes() == raw
        assert list(sidecars(filled.path)) == []
    # The snapshot taken before the failure held the library as it still is: no way
    # back, so it went with the failure, and nothing else is left in its folder.
    assert result.snapshot_id is None
    assert _snapshot_files(filled) == []


def test_a_failed_rerun_never_rotates_out_the_way_back(filled: Library) -> None:
    first = migrate(str(filled))
    assert first.success, first.errors
    way_back = snapshots.file_for(str(filled), first.snapshot_id).read_bytes()
    # New work for a re-run (a transcribed recording added since), which then fails.
    filled.execute("INSERT INTO recordings (id, filename, date_recorded) VALUES ('r-new', 'new.hda', '2026-01-01')")
    filled.execute("INSERT INTO transcripts (id, recording_id, full_text) VALUES ('t-new', 'r-new', 'hello')")
    filled.execute("CREATE TRIGGER boom BEFORE UPDATE OF migration_status ON recordings "
                   "WHEN NEW.id = 'r-new' BEGIN SELECT RAISE(ABORT, 'boom'); END")
    for _ in range(2):
        again = migrate(str(filled))
        assert not again.success and again.snapshot_id is None
        assert _snapshot_files(filled) == [f"{first.snapshot_id}.json", f"{first.snapshot_id}.sqlite"]
        assert snapshots.file_for(str(filled), first.snapshot_id).read_bytes() == way_back
    assert status(str(filled)).can_rollback

    filled.execute("DROP TRIGGER boom")
    third = migrate(str(filled))
    assert third.success, third.errors
    # The re-run's own snapshot is the way back now; the first one (version 10) stays
    # behind it, so that rolling back twice still reaches version 10.
    assert third.snapshot_id != first.snapshot_id
    assert _snapshot_files(filled) == sorted(f"{i}.{ext}" for i in (first.snapshot_id, third.snapshot_id)
                                             for ext in ("json", "sqlite"))
    assert rollback(str(filled), force=True).success and rollback(str(filled), force=True).success
    assert status(str(filled)).version == 10


def test_invalid_data_fails_verification_and_rolls_back(filled: Library) -> None:
    # A trigger that puts one recording back to 'pending' corrupts the run's own result.
    filled.execute("CREATE TRIGGER sneaky AFTER UPDATE ON recordings WHEN NEW.id = 'r00007' "
                   "BEGIN UPDATE recordings SET migration_status = 'pending' WHERE id = 'r00007'; END")
    before = filled.dump()
    result = migrate(str(filled))
    assert not result.success
    assert [e.code for e in result.errors] == ["VERIFICATION_FAILED"]
    assert not result.verified
    assert filled.dump() == before
    assert filled.version() == 10


def test_user_index_and_trigger_on_app_tables_survive_a_successful_upgrade(filled: Library) -> None:
    filled.execute("CREATE INDEX my_idx ON recordings(filename)")
    filled.execute("CREATE TABLE my_notes (id INTEGER PRIMARY KEY, body TEXT)")
    filled.execute("INSERT INTO my_notes (body) VALUES ('keep me ✓')")
    result = migrate(str(filled))
    assert result.success, result.errors
    names = {r[0] for r in filled.execute("SELECT name FROM sqlite_schema")}
    assert {"my_idx", "my_notes"} <= names
    assert filled.rows("my_notes") == [(1, "keep me ✓")]


def _cancel_at(phase: str) -> tuple[ProgressRegistry, list[ProgressEvent]]:
    registry = ProgressRegistry()
    seen: list[ProgressEvent] = []

    def listener(event: ProgressEvent) -> None:
        seen.append(event)
        if event.phase == phase:
            registry.cancel_all()
    registry.subscribe(listener)
    return registry, seen


@pytest.mark.parametrize("phase", ["snapshot", "schema", "migrating", "verifying", "committing"])
def test_cancel_in_any_phase_leaves_the_library_as_it_was(filled: Library, phase: str) -> None:
    before = filled.dump()
    raw = filled.path.read_bytes() if filled.journal_mode() == "delete" else None
    registry, seen = _cancel_at(phase)

    result = migrate(str(filled), registry=registry)

    assert [e.code for e in result.errors] == ["CANCELLED"]
    assert seen[-1].phase == "cancelled"
    assert filled.dump() == before
    if raw is not None:
        assert filled.path.read_bytes() == raw
    assert registry.active() == []
    # and the library can be upgraded afterwards: the lock is free
    assert migrate(str(filled)).success


def test_cancel_from_another_thread_is_honoured_within_a_second(make_library) -> None:
    lib = make_library()
    fill(lib, 20000)
    registry = ProgressRegistry()
    migrating = threading.Event()
    registry.subscribe(lambda e: migrating.set() if e.phase == "migrating" else None)
    out = {}
    worker = threading.Thread(target=lambda: out.setdefault("r", migrate(str(lib), registry=registry)))
    worker.start()
    assert migrating.wait(30)
    asked = time.monotonic()
    registry.cancel_all()
    worker.join(10)
    assert not worker.is_alive()
    assert time.monotonic() - asked < 1.0
    assert [e.code for e in out["r"].errors] == ["CANCELLED"]
    assert lib.version() == 10


def test_second_migrate_in_the_same_process_gets_in_progress(filled: Library) -> None:
    registry = ProgressRegistry()
    entered, release = threading.Event(), threading.Event()

    def hold(event: ProgressEvent) -> None:
        if event.phase == "schema":
            entered.set()
            release.wait(30)
    registry.subscribe(hold)
    out = {}
    first = threading.Thread(target=lambda: out.setdefault("first", migrate(str(filled), registry=registry)))
    first.start()
    assert entered.wait(30)
    started = time.monotonic()
    second = migrate(str(filled))
    refused_in = time.monotonic() - started
    release.set()
    first.join(30)

    assert [e.code for e in second.errors] == ["IN_PROGRESS"]
    assert refused_in < 0.5  # the in-process lock refuses at once
    assert out["first"].success
    assert migrate(str(filled)).warnings[0].code == "ALREADY_UPGRADED"  # lock released


HOLD_LOCK = """
import sys, time, apsw
conn = apsw.Connection(sys.argv[1])
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
"""


def test_another_process_holding_the_library_gives_in_progress_and_no_stale_lock(filled: Library) -> None:
    before = filled.dump()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(filled)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        result = migrate(str(filled))
        assert [e.code for e in result.errors] == ["IN_PROGRESS"]
        assert time.monotonic() - started < 5
    finally:
        holder.kill()  # a crash: the OS drops SQLite's lock with the process
        holder.wait()
    assert filled.dump() == before
    assert migrate(str(filled)).success


def test_concurrent_cli_processes_one_wins_the_others_get_75(filled: Library) -> None:
    procs = [subprocess.Popen([sys.executable, "-m", "app", "migrate", "--library", str(filled), "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outcomes = []
    for p in procs:
        out, _ = p.communicate(timeout=120)
        outcomes.append((p.returncode, json.loads(out)))
    codes = sorted(rc for rc, _ in outcomes)
    assert codes.count(0) >= 1
    assert set(codes) <= {0, 75}
    upgraded = [r for rc, r in outcomes if rc == 0 and r["captures_created"] > 0]
    assert len(upgraded) == 1  # exactly one run did the upgrade
    st = status(str(filled))
    assert st.version == 11 and st.recordings.pending == 0
    assert len([s for s in st.snapshots if s.kind == "pre-upgrade"]) == 1
