"""The pre-upgrade snapshot of a WAL library is copied while the upgrade's transaction
works: it must still hold exactly the library as it was, the upgrade must not commit
without it, and its failures must stop the upgrade."""

from __future__ import annotations

import threading

import apsw
import pytest

from app.engine import snapshots
from app.engine.snapshots import identity
from app.engine.migrate import migrate
from app.engine.cleanup import run_cleanup
from app.engine.progress import ProgressRegistry
from tests.conftest import Library, fill, logical_dump
from tests.reliability.faultvfs import Fault, FaultVFS


@pytest.fixture
def wal_library(make_library) -> Library:
    lib = make_library(journal_mode="wal")
    fill(lib, 3000)
    return lib


def test_snapshot_holds_the_library_as_it_was_before_the_transaction(wal_library: Library) -> None:
    before = logical_dump(wal_library.path)
    threads_seen: set[str] = set()
    registry = ProgressRegistry()
    registry.subscribe(lambda e: threads_seen.add(threading.current_thread().name))

    result = migrate(str(wal_library), registry=registry)

    assert result.success, result.errors
    assert "snapshot" not in threads_seen  # the copy reports through the upgrade, not on its own
    snapshot = snapshots.file_for(str(wal_library), result.snapshot_id)
    assert logical_dump(snapshot, readonly=True) == before
    assert logical_dump(wal_library.path) != before  # negative control: the library did change
    manifest = snapshots.latest(str(wal_library), snapshots.PRE_UPGRADE)
    assert manifest is not None and manifest.id == result.snapshot_id and manifest.version == 10
    snapshots.validate(str(wal_library), manifest, identity.of_file(wal_library.path))


def test_in_rollback_journal_mode_the_copy_runs_beside_the_data_pass(make_library, monkeypatch) -> None:
    """The copy is made in its own thread while the step works (not first, in the
    operation's thread) and has read the library before the step's first write that may
    reach the file: the snapshot holds the library as it was."""
    import importlib

    taking = importlib.import_module("app.engine.snapshots.taking")
    copied_in = []
    real_copy = taking._copy_new

    def copy_new(*args, **kwargs):
        copied_in.append(threading.current_thread().name)
        return real_copy(*args, **kwargs)

    monkeypatch.setattr(taking, "_copy_new", copy_new)
    lib = make_library(journal_mode="delete")
    fill(lib, 3000)
    before = logical_dump(lib.path)
    result = migrate(str(lib))
    assert result.success, result.errors
    assert copied_in == ["snapshot"]
    assert logical_dump(snapshots.file_for(str(lib), result.snapshot_id), readonly=True) == before
    assert logical_dump(lib.path) != before

    # Negative control: a clean-up writes at once, so its copy is made first, in this thread.
    copied_in.clear()
    lib.execute("INSERT INTO transcripts (id, recording_id, full_text) VALUES ('orphan', 'gone', 'x')")
    assert run_cleanup(str(lib)).success
    assert copied_in == ["MainThread"]


@pytest.mark.parametrize("error", ["full", "io"])
def test_a_failing_snapshot_stops_the_upgrade_and_leaves_nothing(wal_library: Library, error: str) -> None:
    before = wal_library.dump()
    # Every write to the snapshot's temporary file fails: only the copy is hit.
    fault = Fault(n=1, ops=("write",), error=error, persistent=True, file_filter=".sqlite.tmp")
    with FaultVFS(fault) as vfs:
        result = migrate(str(wal_library))
    assert vfs.trace.fired, "the fault never reached the snapshot"
    assert not result.success
    assert [e.code for e in result.errors] == ["DISK_FULL" if error == "full" else "IO_ERROR"]
    assert result.version == 10 and result.snapshot_id is None
    assert wal_library.dump() == before
    folder = snapshots.snapshot_dir(str(wal_library))
    assert not folder.exists() or list(folder.iterdir()) == []
    # and with a working disk the upgrade goes through
    assert migrate(str(wal_library)).success


@pytest.mark.parametrize("error", ["full", "io"])
def test_a_failing_snapshot_stops_a_cleanup_and_leaves_nothing(wal_library: Library, error: str) -> None:
    from app.engine.cleanup import run_cleanup

    wal_library.insert("transcripts", id="orphan", recording_id="gone", full_text="x")
    before = wal_library.dump()
    fault = Fault(n=1, ops=("write",), error=error, persistent=True, file_filter=".sqlite.tmp")
    with FaultVFS(fault) as vfs:
        result = run_cleanup(str(wal_library))
    assert vfs.trace.fired, "the fault never reached the snapshot"
    assert [e.code for e in result.errors] == ["DISK_FULL" if error == "full" else "IO_ERROR"]
    assert result.snapshot_id is None and result.orphaned_transcripts_removed == 0
    assert wal_library.dump() == before
    folder = snapshots.snapshot_dir(str(wal_library))
    assert not folder.exists() or list(folder.iterdir()) == []
    fixed = run_cleanup(str(wal_library))  # and with a working disk it goes through
    assert fixed.success and fixed.orphaned_transcripts_removed == 1


def test_the_copy_reads_committed_pages_only(wal_library: Library) -> None:
    """What the background copy relies on: a WAL reader opened while a transaction has
    written (and spilled) pages still sees only the last commit."""
    writer = apsw.Connection(str(wal_library.path))
    writer.execute("PRAGMA cache_size = 10")  # tiny cache: the writes spill into the -wal
    writer.execute("BEGIN IMMEDIATE")
    writer.execute("UPDATE transcripts SET full_text = full_text || full_text")
    writer.execute("CREATE TABLE written_meanwhile (x)")
    try:
        reader = apsw.Connection(str(wal_library.path), flags=apsw.SQLITE_OPEN_READONLY)
        names = {r[0] for r in reader.execute("SELECT name FROM sqlite_schema")}
        doubled = reader.execute("SELECT count(*) FROM transcripts WHERE length(full_text) > 1000").fetchone()[0]
        reader.close()
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert "written_meanwhile" not in names and doubled == 0


@pytest.mark.parametrize("overlap", [True, False])
def test_an_overlapped_copy_is_checked_only_once_the_step_says_so(make_library, monkeypatch, overlap) -> None:
    """With `overlap` (migrate) the copy's check waits for `wait_copied` (the step's work
    on both cores is over); without it (the negative control) it runs straight after the
    copy. Either way the snapshot is whole once `wait()` returns."""
    import importlib
    import time

    taking = importlib.import_module("app.engine.snapshots.taking")
    checked = threading.Event()
    real_check = taking._check

    def check(*args, **kwargs):
        checked.set()
        return real_check(*args, **kwargs)

    monkeypatch.setattr(taking, "_check", check)
    lib = make_library(journal_mode="delete")
    fill(lib, 200)
    conn = lib.connect()
    try:
        conn.execute("BEGIN IMMEDIATE")
        tracker = ProgressRegistry().open("migrate")
        with snapshots.taking(str(lib), snapshots.PRE_UPGRADE, tracker, "delete", identity.new_id(),
                              overlap=overlap) as job:
            job.begin()
            assert job._copy_done.wait(10)
            time.sleep(0.3)
            assert checked.is_set() is not overlap
            job.wait_copied()
            manifest = job.wait()
            assert checked.is_set()
        conn.execute("ROLLBACK")
    finally:
        conn.close()
    assert snapshots.file_for(str(lib), manifest.id).exists()
