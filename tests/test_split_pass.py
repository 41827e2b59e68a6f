"""The data pass split over two processes (`app.engine.steps.v11.split_pass`): the helper's rows are
exactly the rules' rows, the helper never writes the library, and a helper that fails,
hangs or outlives its upgrade changes nothing about the result or the library."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import apsw
import pytest

from app.engine import snapshots
from app.engine.steps.v11 import rows as capture_rows, rules, split_pass
from app.samples.demo import create_demo_library
from app.engine.migrate import migrate
from app.engine.progress import ProgressRegistry
from tests.conftest import file_bytes, logical_dump
from tests.test_fast_path import comparable, plain_upgrade


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("split") / "demo.db"
    create_demo_library(str(path), recordings=1500, seed=7, journal_mode="wal")
    return path


@pytest.fixture
def demo(demo_template: Path, tmp_path: Path) -> Path:
    path = tmp_path / "library.db"
    shutil.copyfile(demo_template, path)
    return path


@pytest.fixture
def always_split(monkeypatch: pytest.MonkeyPatch) -> None:
    """Use the helper whatever the library's size (it is meant for big ones)."""
    monkeypatch.setattr(split_pass, "MIN_RECORDINGS", 0)


@pytest.fixture
def helpers(monkeypatch: pytest.MonkeyPatch) -> list[split_pass.Helper]:
    """Every Helper the upgrade makes, to look at its process afterwards."""
    made: list[split_pass.Helper] = []
    original = split_pass.Helper.__init__

    def init(self: split_pass.Helper, folder: Path) -> None:
        original(self, folder)
        made.append(self)

    monkeypatch.setattr(split_pass.Helper, "__init__", init)
    return made


def _expected(demo_template: Path, tmp_path: Path) -> dict[str, set[tuple]]:
    plain = tmp_path / "plain.db"
    shutil.copyfile(demo_template, plain)
    plain_upgrade(plain)
    return comparable(plain)


def _leftovers(library: Path) -> list[str]:
    folder = snapshots.snapshot_dir(str(library))
    return sorted(p.name for p in folder.iterdir() if p.suffix not in (".json", ".sqlite"))


def test_upgrade_with_a_helper_equals_plain_row_by_row(
        always_split, helpers, demo: Path, demo_template: Path, tmp_path: Path) -> None:
    before = logical_dump(demo)
    peaks = len(split_pass.peaks_mb)
    result = migrate(str(demo))
    assert result.success, result.errors
    assert len(split_pass.peaks_mb) == peaks + 1, "the helper did not run"
    assert helpers[0].processed > 0 and helpers[0].scratch is not None and not helpers[0].scratch.exists()
    assert comparable(demo) == _expected(demo_template, tmp_path)
    snapshot = snapshots.file_for(str(demo), result.snapshot_id)
    assert logical_dump(snapshot, readonly=True) == before
    assert _leftovers(demo) == []


def test_small_libraries_have_no_helper(helpers, demo: Path) -> None:
    peaks = len(split_pass.peaks_mb)
    assert migrate(str(demo)).success  # 1,500 recordings: below MIN_RECORDINGS
    assert len(split_pass.peaks_mb) == peaks
    assert all(h.scratch is None for h in helpers)


def test_in_rollback_journal_mode_the_helper_and_the_copy_read_beside_the_data_pass(
        always_split, helpers, tmp_path: Path) -> None:
    """A reader of a rollback-journal library would stop its writer's spill: the helper
    and the snapshot's copy read the library while the transaction writes only its temp
    stage, and are done before it publishes. The upgrade equals a plain one and the
    snapshot holds the library as it was."""
    journal = tmp_path / "journal.db"
    create_demo_library(str(journal), recordings=600, seed=2, journal_mode="delete")
    plain = tmp_path / "plain.db"
    shutil.copyfile(journal, plain)
    plain_upgrade(plain)
    peaks = len(split_pass.peaks_mb)
    before = logical_dump(journal)
    result = migrate(str(journal))
    assert result.success, result.errors
    assert len(split_pass.peaks_mb) == peaks + 1, "the helper did not run"
    assert comparable(journal) == comparable(plain)
    assert logical_dump(snapshots.file_for(str(journal), result.snapshot_id), readonly=True) == before
    assert _leftovers(journal) == []


@pytest.mark.parametrize("command", [
    [sys.executable, "-c", "import sys; print(7, flush=True); sys.exit(3)"],  # fails midway
    [sys.executable, "-c", "print('done 1 2')"],                               # says nonsense
    [sys.executable, "-c", "print('done 1 2 3 4'); raise SystemExit(1)"],       # fails at exit
    [sys.executable, "-c", "import sys; sys.stderr.write('x' * 200_000); sys.exit(1)"],  # a long error
    ["/nonexistent/helper"],                                                  # cannot start
], ids=["fails", "garbled", "fails-at-exit", "long-error", "missing"])
def test_a_failing_helper_leaves_its_part_to_the_upgrade(
        always_split, monkeypatch: pytest.MonkeyPatch, demo: Path, demo_template: Path,
        tmp_path: Path, command: list[str]) -> None:
    monkeypatch.setattr(split_pass, "helper_command", lambda: command)
    peaks = len(split_pass.peaks_mb)
    result = migrate(str(demo))
    assert result.success, result.errors
    assert len(split_pass.peaks_mb) == peaks  # no helper finished ...
    assert comparable(demo) == _expected(demo_template, tmp_path)  # ... and nothing is missing
    assert _leftovers(demo) == []


def test_cancel_while_the_helper_works(always_split, helpers, monkeypatch: pytest.MonkeyPatch,
                                       demo: Path) -> None:
    # A helper that never finishes: the upgrade waits for it until the user cancels.
    monkeypatch.setattr(split_pass, "helper_command",
                        lambda: [sys.executable, "-c", "import time; time.sleep(60)"])
    before = file_bytes(demo)
    registry = ProgressRegistry()
    out: dict = {}
    worker = threading.Thread(target=lambda: out.setdefault("r", migrate(str(demo), registry=registry)))
    worker.start()
    deadline = time.monotonic() + 30
    while not (helpers and helpers[0]._proc is not None) and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)  # the main process's own part is done by now; it waits for the helper
    asked = time.monotonic()
    registry.cancel_all()
    worker.join(10)
    assert not worker.is_alive()
    assert time.monotonic() - asked < 1.0
    result = out["r"]
    assert [e.code for e in result.errors] == ["CANCELLED"]
    assert helpers[0]._proc.poll() is not None, "the helper process is still running"
    assert file_bytes(demo) == before
    assert _leftovers(demo) == []


def _run_helper(library: Path, scratch: Path, start: str, parent: int) -> subprocess.CompletedProcess:
    scratch.touch()
    job = json.dumps({"library": str(library), "scratch": str(scratch), "start": start.encode().hex(),
                      "parent": parent})
    return subprocess.run(split_pass.helper_command(), input=job + "\n", capture_output=True,
                          text=True, timeout=60)


def test_the_helper_computes_the_rules_rows_and_never_writes_the_library(demo: Path, tmp_path: Path) -> None:
    conn = apsw.Connection(str(demo))
    start = conn.execute("SELECT recording_id FROM transcripts ORDER BY recording_id "
                         "LIMIT 1 OFFSET 700").fetchone()[0]
    bounds = [("r.id >= CAST(? AS TEXT)", start)]
    sources = [rules.Source._make(row) for row in conn.execute(
        capture_rows.Layout.read(conn).select_sql(bounds), (start,))]
    conn.close()
    library_files = {p: file_bytes(p) for p in demo.parent.iterdir() if p.name.startswith(demo.name)}

    scratch = tmp_path / "scratch.tmp"
    done = _run_helper(demo, scratch, start, os.getpid())

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].split()[:2] == ["done", str(len(sources))]
    assert {p: file_bytes(p) for p in library_files} == library_files
    want = [rules.rows_for_recording(s) for s in sources]
    got = apsw.Connection(str(scratch))
    assert sorted(got.execute("SELECT * FROM stage_knowledge_captures")) == sorted(w.capture for w in want)
    assert sorted(got.execute("SELECT * FROM stage_audio_sources")) == sorted(w.audio_source for w in want)
    assert sorted(got.execute("SELECT * FROM stage_action_items")) == sorted(
        item for w in want for item in w.action_items)
    assert len(want) > 500
    got.close()


def test_the_helper_stops_when_its_upgrade_is_gone(demo: Path, tmp_path: Path) -> None:
    # The job names a parent that is not the helper's parent: as if the upgrade had died.
    done = _run_helper(demo, tmp_path / "scratch.tmp", "", parent=os.getpid() + 1_000_000)
    assert done.returncode == 3
    assert "done" not in done.stdout
    # and without its scratch file (removed as a leftover) it does not make one
    missing = tmp_path / "gone.tmp"
    job = json.dumps({"library": str(demo), "scratch": str(missing), "start": "", "parent": os.getpid()})
    failed = subprocess.run(split_pass.helper_command(), input=job + "\n", capture_output=True,
                            text=True, timeout=60)
    assert failed.returncode != 0 and not missing.exists()


def test_the_scratch_file_is_gone_before_commit(always_split, monkeypatch: pytest.MonkeyPatch,
                                               demo: Path) -> None:
    """So that a crash after COMMIT leaves nothing beside the library."""
    folder = snapshots.snapshot_dir(str(demo))
    attached: list[bool] = []
    finish = split_pass.Helper.finish

    def finish_and_look(self: split_pass.Helper, *args):
        counts = finish(self, *args)
        attached.append(self.scratch is not None and self.scratch.exists())
        return counts

    monkeypatch.setattr(split_pass.Helper, "finish", finish_and_look)
    seen: dict[str, list[bool]] = {}
    registry = ProgressRegistry()
    registry.subscribe(lambda event: seen.setdefault(event.phase, []).append(
        any(p.name.startswith("split-pass-") for p in folder.glob("*.tmp"))))

    assert migrate(str(demo), registry=registry).success
    assert attached == [True], "no helper's file was attached"
    assert seen["verifying"] and seen["committing"]
    assert not any(seen["verifying"] + seen["committing"])
