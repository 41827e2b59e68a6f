"""Snapshot retention: what pruning keeps, what it frees, and what it never touches.

Every test works on real library files (demo libraries from `app.samples.demo`) through
apsw and the engine's own operations; nothing of the database is mocked. The only
stand-in is `shutil.disk_usage` in the free-space tests (it is not the database: it lets a
test say "the disk has this much room" without filling a disk).

- a property test runs random sequences of the user's operations (upgrade, restore, restore
  a chosen snapshot, clean-up, edits, deleting and pruning snapshots) and checks after each
  step the promises of `snapshots.retention`: the folder stays within BOUND times the
  library, the way back is kept while the library is upgraded, no leftovers, nothing
  damaged; the checker is shown to catch each broken promise;
- a real process killed between the two unlinks of a pruned snapshot leaves a copy without
  a manifest that is no snapshot, harms nothing and goes with the next clean-up;
- the free-space pre-flight counts what pruning frees;
- another library's snapshot is never restored, however it got into the folder.

Two sequences the property met are kept as plain tests of their own (a restore in WAL mode;
redoing an upgrade that became unfinished), so that they run whatever examples it draws.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import apsw
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from app.engine import backups, library, snapshots
from app.engine.cleanup import run_cleanup
from app.engine.migrate import migrate
from app.engine.progress import ProgressRegistry
from app.engine.rollback import rollback
from app.engine.snapshots import identity, retention, store
from app.engine.status import status
from app.engine.steps import REGISTRY
from app.samples.demo import create_demo_library
from tests.conftest import logical_dump
from tests.reliability.checker import copy_library

ROOT = Path(__file__).resolve().parents[1]
FULL = os.environ.get("RELIABILITY_FULL") == "1"
RECORDINGS = 200
OLDEST, LATEST = REGISTRY.oldest, REGISTRY.latest  # above OLDEST, a library is upgraded

# Like the reliability suite's property tests: deterministic unless RELIABILITY_FULL=1, as
# many examples (each runs up to 8 whole operations on a 200-recording library: ~0.1 s).
EXAMPLES = 500 if FULL else 100
# No "explain" phase: it re-runs whole sequences for minutes after a failure; shrinking
# already gives the shortest sequence that fails.
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=not FULL,
                    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])

# A snapshot's two files, under an id the app makes; nothing else belongs in the folder.
SNAPSHOT_FILE = re.compile(rf"(?P<id>{store.ID_PATTERN.pattern})\.(?P<ext>sqlite|json)")


# --------------------------------------------------------------------------- libraries

@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """{journal mode: a V10 demo library} (duplicates, orphans, dangling references:
    clean-up has work), built once; tests work on copies."""
    folder = tmp_path_factory.mktemp("retention-templates")
    out = {}
    for mode in ("wal", "delete"):
        path = folder / f"{mode}.db"
        create_demo_library(str(path), RECORDINGS, seed=11, journal_mode=mode)
        out[mode] = path
    return out


def fresh(template: Path, folder: Path, name: str = "library.db") -> str:
    """A copy of a closed library and its snapshots folder."""
    folder.mkdir(parents=True, exist_ok=True)
    return str(copy_library(template, folder / name))


def upgraded(template: Path, folder: Path, name: str = "library.db") -> str:
    path = fresh(template, folder, name)
    result = migrate(path)
    assert result.success and result.version == 11, result.errors
    return path


def version_of(path: str) -> int:
    conn = apsw.Connection(path)
    try:
        return conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
    finally:
        conn.close()


def page_bytes(path: str) -> int:
    """The library's size as the engine's pre-flight measures it (`library.size_bytes`)."""
    conn = apsw.Connection(path)
    try:
        return library.size_bytes(conn)
    finally:
        conn.close()


def library_id(path: str) -> str | None:
    conn = apsw.Connection(path)
    try:
        return identity.read(conn)
    finally:
        conn.close()


def folder_files(path: str) -> dict[str, bytes]:
    folder = snapshots.snapshot_dir(path)
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.is_dir() else {}


def manifest_of(path: str, snapshot_id: str) -> snapshots.Manifest:
    return next(m for m in snapshots.list_manifests(path) if m.id == snapshot_id)


def codes(result) -> list[str]:
    return [e.code for e in result.errors]


def no_internal_error(result) -> None:
    found = [p.code for p in (*result.errors, *result.warnings)]
    assert "INTERNAL_ERROR" not in found, (result.operation, result.errors, result.warnings)


def user_edit(path: str, n: int, choice: int) -> str:
    """What a user's app does to the library between operations: after an upgrade, mark an
    action item done; otherwise record a meeting and its transcript (every other one under
    a file name that is already there: a duplicate for clean-up)."""
    conn = apsw.Connection(path)
    try:
        with conn:
            version = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
            if version > OLDEST and choice % 3 == 0:
                (count,) = conn.execute("SELECT count(*) FROM action_items").fetchone()
                if count:
                    conn.execute(
                        "UPDATE action_items SET status = CASE status WHEN 'completed' THEN 'pending' "
                        "ELSE 'completed' END, content = content || ' ✓', updated_at = '2026-05-01 10:00:00' "
                        "WHERE rowid = (SELECT rowid FROM action_items ORDER BY rowid LIMIT 1 OFFSET ?)",
                        (choice % count,))
                    return "action item updated"
            if choice % 2:
                (filename,) = conn.execute("SELECT filename FROM recordings ORDER BY id LIMIT 1 OFFSET ?",
                                           (choice % 50,)).fetchone()
            else:
                filename = f"user-{n}.wav"
            conn.execute("INSERT INTO recordings (id, filename, date_recorded) VALUES (?, ?, '2026-04-01 09:00:00')",
                         (f"user-rec-{n}", filename))
            conn.execute("INSERT INTO transcripts (id, recording_id, full_text, action_items) VALUES (?, ?, ?, ?)",
                         (f"user-tr-{n}", f"user-rec-{n}", "Zoë: enviamos el acta mañana. " * 20,
                          '["Send the minutes", {"task": "Book the room", "owner": "José"}]'))
            return f"recording added ({'duplicate name' if choice % 2 else 'new name'})"
    finally:
        conn.close()


def take_directly(path: str, kind: str) -> snapshots.Manifest:
    """A snapshot taken the way an operation takes one, but with no pruning after it."""
    registry = ProgressRegistry()
    tracker = registry.open("test")
    try:
        conn = apsw.Connection(path)
        try:
            mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        finally:
            conn.close()
        return snapshots.take(path, kind, tracker, mode, library_id(path))
    finally:
        registry.close(tracker)


# --------------------------------------------------------------------------- the checker

def retention_problems(path: str, expect_way_back: bool) -> list[str]:
    """Every promise of `snapshots.retention` the library's snapshots folder breaks now
    (an empty list: all kept):
    (a) the files in the folder take at most BOUND times the library file's size;
    (b) when `expect_way_back` and the library is upgraded: status offers the rollback and
        the way back validates;
    (c) nothing but <id>.sqlite / <id>.json pairs of ids the app makes: no leftovers;
    (d) every snapshot listed validates, and every pair in the folder is listed."""
    problems: list[str] = []
    folder = snapshots.snapshot_dir(path)
    files = sorted(folder.iterdir()) if folder.is_dir() else []

    total = sum(f.stat().st_size for f in files)
    library_size = os.path.getsize(path)
    if total > retention.BOUND * library_size:
        problems.append(f"bound: the snapshots folder holds {total} bytes, more than {retention.BOUND} x the "
                        f"library's {library_size} ({[f.name for f in files]})")

    stems: dict[str, set[str]] = {"sqlite": set(), "json": set()}
    for f in files:
        match = SNAPSHOT_FILE.fullmatch(f.name)
        if match is None:
            problems.append(f"leftover: {f.name} is no snapshot file")
        else:
            stems[match["ext"]].add(match["id"])
    if stems["sqlite"] != stems["json"]:
        problems.append(f"leftover: files without their pair: {sorted(stems['sqlite'] ^ stems['json'])}")

    state = status(path)
    if not state.success:
        return problems + [f"status failed: {codes(state)}"]
    for info in state.snapshots:
        if not info.valid:
            problems.append(f"damaged: snapshot {info.id} does not validate: {info.problem}")
    if {info.id for info in state.snapshots} != stems["json"] & stems["sqlite"]:
        problems.append(f"unlisted: folder pairs {sorted(stems['json'] & stems['sqlite'])}, "
                        f"listed {[info.id for info in state.snapshots]}")

    if expect_way_back and state.version is not None and state.version > OLDEST:
        way_back = [info for info in state.snapshots if info.way_back]
        if not state.can_rollback or not way_back:
            problems.append(f"way back: the library is at version {state.version} and can no longer be "
                            f"restored ({[(i.id, i.version, i.valid) for i in state.snapshots]})")
        else:
            found = snapshots.problem(path, manifest_of(path, way_back[0].id), library_id(path))
            if found is not None:
                problems.append(f"way back: {way_back[0].id} does not validate: {found}")
    return problems


# --------------------------------------------------------------------------- 1. the property: its steps

def _choose(items: list, choice: int):
    return items[choice % len(items)] if items else None


def _step(path: str, op: str, choice: int, n: int, before) -> str:
    """Run one operation and check what its result says; returns a line for the log."""
    if op == "edit":
        return user_edit(path, n, choice)

    if op == "migrate":
        result = migrate(path)
        no_internal_error(result)
        assert result.success, result.errors
        return f"migrate: {result.version_before} -> {result.version}"

    if op == "cleanup":
        result = run_cleanup(path)
        no_internal_error(result)
        assert result.success, result.errors
        return f"cleanup: {result.snapshot_id or [w.code for w in result.warnings]}"

    if op == "prune":
        result = backups.prune_snapshots(path)
        no_internal_error(result)
        assert result.success, result.errors
        return f"prune: removed {result.removed}"

    if op in ("delete", "delete_way_back"):
        listed = backups.list_snapshots(path)
        assert listed.success, listed.errors
        way_back = op == "delete_way_back"
        target = _choose([s for s in listed.snapshots if s.way_back == way_back], choice)
        if target is None:
            return f"{op}: nothing to choose"
        kept = folder_files(path)
        result = backups.delete_snapshot(path, target.id)
        no_internal_error(result)
        if way_back:  # never without force: it is the only way back to before the upgrade
            assert codes(result) == ["SNAPSHOT_NEEDED"], result.errors
            assert folder_files(path) == kept
            return f"delete way back {target.id}: refused"
        assert result.success, result.errors
        assert not snapshots.file_for(path, target.id).exists()
        assert not store.manifest_path(path, target.id).exists()
        return f"delete {target.id}"

    if op == "rollback":
        force = bool(choice % 2)
        result = rollback(path, force=force)
        no_internal_error(result)
        if force and before.version > OLDEST and before.can_rollback:
            assert result.success, result.errors
        elif not result.success:
            assert set(codes(result)) <= {"NOTHING_TO_ROLL_BACK", "NO_SNAPSHOT", "WOULD_LOSE_DATA"}, result.errors
        if result.success:
            restored = snapshots.file_for(path, result.restored_snapshot_id)
            assert logical_dump(Path(path)) == logical_dump(restored, readonly=True)
        return f"rollback force={force}: {result.restored_snapshot_id or codes(result)} -> {result.version}"

    assert op == "rollback_to", op
    listed = backups.list_snapshots(path)
    assert listed.success, listed.errors
    target = _choose([s for s in listed.snapshots if s.valid], choice)
    if target is None:
        return "rollback --to: nothing to choose"
    result = rollback(path, force=True, snapshot_id=target.id)
    no_internal_error(result)
    # The only refusal: the library holds exactly that snapshot already.
    assert result.success or codes(result) == ["NOTHING_TO_ROLL_BACK"], result.errors
    if result.success:
        assert result.version == target.version
        assert logical_dump(Path(path)) == logical_dump(snapshots.file_for(path, target.id), readonly=True)
    return f"rollback --to {target.id}: {'done' if result.success else codes(result)} -> {result.version}"


def _rollback_works_after_moving(path: str, destination: Path) -> None:
    """A plain rollback of the library, moved together with its snapshots folder (a copy
    of both), restores the way back exactly."""
    moved = fresh(Path(path), destination)
    way_back = next(s for s in status(moved).snapshots if s.way_back)
    expected = logical_dump(snapshots.file_for(moved, way_back.id), readonly=True)
    back = rollback(moved, force=True)
    assert back.success, back.errors
    assert back.restored_snapshot_id == way_back.id
    assert logical_dump(Path(moved)) == expected


# The operations, each with a number that picks among what there is to choose (a snapshot,
# force or not, which edit). Upgrades, restores and edits are what make snapshots: they
# are drawn more often than the rest.
OPERATIONS = ("migrate", "rollback", "cleanup", "edit", "migrate", "rollback", "rollback_to", "prune", "delete",
              "edit", "delete_way_back")
operations = st.lists(st.tuples(st.sampled_from(OPERATIONS), st.integers(0, 2**16)), min_size=2, max_size=8)


def test_the_checker_sees_each_broken_promise(templates, tmp_path: Path) -> None:
    """Negative controls: each promise the property checks, broken on purpose, is caught."""
    base = upgraded(templates["delete"], tmp_path / "base")
    assert retention_problems(base, expect_way_back=True) == []

    # (a) snapshots taken without the pruning that follows every operation
    grown = fresh(Path(base), tmp_path / "grown")
    for n in range(4):
        user_edit(grown, n, choice=3 * n)  # a new state each time: `take` reuses identical copies
        take_directly(grown, snapshots.PRE_CLEANUP)
    found = retention_problems(grown, expect_way_back=True)
    assert [p for p in found if p.startswith("bound:")], found
    assert not [p for p in found if not p.startswith("bound:")], found
    # ... and the engine's own pruning brings it back within the bound
    assert backups.prune_snapshots(grown).success
    assert retention_problems(grown, expect_way_back=True) == []

    # (b) the way back deleted with force
    lost = fresh(Path(base), tmp_path / "lost")
    way_back = next(s for s in status(lost).snapshots if s.way_back)
    assert backups.delete_snapshot(lost, way_back.id, force=True).success
    assert [p for p in retention_problems(lost, expect_way_back=True) if p.startswith("way back:")]
    assert retention_problems(lost, expect_way_back=False) == []

    # (c) a copy without its manifest, a temp file, a stranger
    messy = fresh(Path(base), tmp_path / "messy")
    folder = snapshots.snapshot_dir(messy)
    shutil.copy(snapshots.file_for(messy, way_back.id), folder / "pre-cleanup-20260101T120000000000Z.sqlite")
    (folder / "pre-upgrade-20260101T120000000000Z.sqlite.tmp").write_bytes(b"half")
    (folder / "notes.txt").write_text("mine")
    found = retention_problems(messy, expect_way_back=True)
    assert sum(p.startswith("leftover:") for p in found) == 3, found

    # (d) a damaged snapshot
    damaged = fresh(Path(base), tmp_path / "damaged")
    safety = take_directly(damaged, snapshots.PRE_CLEANUP)
    data = bytearray(snapshots.file_for(damaged, safety.id).read_bytes())
    data[len(data) // 2] ^= 0x01
    snapshots.file_for(damaged, safety.id).write_bytes(bytes(data))
    assert [p for p in retention_problems(damaged, expect_way_back=True) if p.startswith("damaged:")]


def test_a_restore_leaves_the_folder_within_the_bound(templates, journal_mode: str, tmp_path: Path) -> None:
    """A sequence the property met: clean-up, upgrade, restore. The restore's pruning must
    judge the library by what it holds after the restore (in WAL mode the restored pages
    are still in the -wal then, and the file keeps its old, larger size until the
    checkpoint)."""
    path = fresh(templates[journal_mode], tmp_path / "live")
    assert run_cleanup(path).success
    assert migrate(path).success
    assert retention_problems(path, expect_way_back=True) == []
    back = rollback(path)
    assert back.success and back.version == 10, back.errors
    assert retention_problems(path, expect_way_back=False) == []


def test_an_upgrade_after_undoing_a_cleanup_has_a_way_back(templates, journal_mode: str, tmp_path: Path) -> None:
    """A sequence the property met: clean-up, restore its pre-cleanup copy (undo the
    clean-up: the library holds what that copy holds), upgrade. The upgrade's snapshot
    holds exactly what the pre-cleanup copy holds; whatever is kept of it, the upgrade must
    be undoable."""
    path = fresh(templates[journal_mode], tmp_path / "live")
    original = logical_dump(Path(path))
    cleaned = run_cleanup(path)
    assert cleaned.success and cleaned.snapshot_id, cleaned.errors
    undone = rollback(path, force=True, snapshot_id=cleaned.snapshot_id)
    assert undone.success and logical_dump(Path(path)) == original, undone.errors

    up = migrate(path)
    assert up.success and up.version == 11, up.errors

    assert retention_problems(path, expect_way_back=True) == [], f"the upgrade's snapshot: {up.snapshot_id}"
    back = rollback(path)
    assert back.success, back.errors
    assert logical_dump(Path(path)) == original


def test_redoing_an_unfinished_upgrade_keeps_a_way_back_to_before_the_first(templates, journal_mode: str,
                                                                           tmp_path: Path) -> None:
    """A sequence the property met: upgrade; a recording arrives the old way (the upgrade is
    unfinished again: status offers it); upgrade again; restore. The library is then at
    version 11 again, and nothing was deleted: the way back to version 10 must still be
    there."""
    path = fresh(templates[journal_mode], tmp_path / "live")
    original = logical_dump(Path(path))
    assert migrate(path).success
    first_way_back = next(s.id for s in status(path).snapshots if s.way_back)
    user_edit(path, 0, choice=2)  # a recording with its transcript, as a V10 app writes it
    assert status(path).can_migrate
    again = migrate(path)
    assert again.success and again.version_before == 11, again.errors
    assert retention_problems(path, expect_way_back=True) == []
    back = rollback(path, force=True)
    assert back.success and back.version == 11, back.errors
    assert retention_problems(path, expect_way_back=True) == [], (
        f"the snapshot of version 10 ({first_way_back}) is gone: {sorted(folder_files(path))}")
    # and going back once more reaches the library as it was before its first upgrade
    assert rollback(path, force=True).success
    assert logical_dump(Path(path)) == original


# --------------------------------------------------------------------------- 2. a crash while pruning

CHILD = r"""
import os, pathlib, signal, sys

from app.engine import backups, snapshots

library, mode = sys.argv[1], sys.argv[2]
folder = snapshots.snapshot_dir(library)
if mode == "kill":
    real_unlink = pathlib.Path.unlink

    def unlink(self, missing_ok=False):
        real_unlink(self, missing_ok=missing_ok)
        if self.parent == folder and self.suffix == ".json":  # a manifest is gone, its copy not yet
            os.kill(os.getpid(), signal.SIGKILL)

    pathlib.Path.unlink = unlink
print(backups.prune_snapshots(library).model_dump_json())
"""


def _prune_in_a_child(path: str, mode: str, tmp_path: Path) -> subprocess.CompletedProcess:
    script = tmp_path / "prune_child.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(script), path, mode], capture_output=True, text=True,
                          timeout=120, env=env, cwd=str(ROOT))


@pytest.fixture
def something_to_prune(templates, journal_mode: str, tmp_path: Path) -> tuple[str, str, str]:
    """An upgraded library with two safety copies of one kind, taken without the pruning
    that follows an operation: the older is what pruning removes. -> (path, older, newer)."""
    path = upgraded(templates[journal_mode], tmp_path / "template")
    older = take_directly(path, snapshots.PRE_CLEANUP)
    user_edit(path, 0, choice=0)  # an action item done: the next copy holds another state
    newer = take_directly(path, snapshots.PRE_CLEANUP)
    assert older.id != newer.id
    droppable = [e.manifest.id for e in retention.review(path, upgraded=True).droppable()]
    assert droppable == [older.id]
    return path, older.id, newer.id


def test_a_crash_between_the_manifest_and_the_copy_leaves_no_snapshot_and_harms_nothing(
        something_to_prune, tmp_path: Path) -> None:
    template, older, newer = something_to_prune
    path = fresh(Path(template), tmp_path / "crashed")
    before = logical_dump(Path(path))
    way_back = next(s for s in status(path).snapshots if s.way_back)
    original = logical_dump(snapshots.file_for(path, way_back.id), readonly=True)

    child = _prune_in_a_child(path, "kill", tmp_path)
    assert child.returncode == -signal.SIGKILL, (child.returncode, child.stdout, child.stderr[-2000:])

    # What the crash left: the copy, without its manifest.
    assert snapshots.file_for(path, older).is_file()
    assert not store.manifest_path(path, older).exists()
    assert snapshots.file_for(path, newer).is_file() and store.manifest_path(path, newer).is_file()
    # It is no snapshot: not listed, cannot be restored, and the library is as it was.
    assert older not in [m.id for m in snapshots.list_manifests(path)]
    listed = backups.list_snapshots(path)
    assert listed.success and older not in [s.id for s in listed.snapshots]
    refused = rollback(path, force=True, snapshot_id=older)
    assert codes(refused) == ["NO_SNAPSHOT"]
    assert logical_dump(Path(path)) == before
    # Status is sane; the way back still validates.
    state = status(path)
    no_internal_error(state)
    assert state.success and state.version == 11 and state.can_rollback
    assert older not in [s.id for s in state.snapshots]
    assert all(s.valid for s in state.snapshots), state.snapshots
    assert [s.id for s in state.snapshots if s.way_back] == [way_back.id]
    assert snapshots.problem(path, manifest_of(path, way_back.id), library_id(path)) is None
    assert [p for p in retention_problems(path, True) if not p.startswith("leftover:")] == []

    # No stale lock, and the next operation that cleans up leftovers removes it: a rollback
    # (a copy of both, moved elsewhere) ...
    moved = fresh(Path(path), tmp_path / "moved")
    back = rollback(moved, force=True)  # force: an action item was marked done since
    assert back.success, back.errors
    assert back.restored_snapshot_id == way_back.id
    assert logical_dump(Path(moved)) == original
    assert not snapshots.file_for(moved, older).exists()
    assert retention_problems(moved, expect_way_back=False) == []
    # ... or pruning, which removes the leftover and nothing else that is kept.
    pruned = backups.prune_snapshots(path)
    assert pruned.success, pruned.errors
    assert not snapshots.file_for(path, older).exists()
    assert sorted(folder_files(path)) == sorted(f"{i}.{ext}" for i in (way_back.id, newer)
                                                for ext in ("json", "sqlite"))
    assert retention_problems(path, expect_way_back=True) == []
    assert logical_dump(Path(path)) == before


def test_without_the_crash_the_child_removes_both_files(something_to_prune, tmp_path: Path) -> None:
    template, older, newer = something_to_prune
    path = fresh(Path(template), tmp_path / "control")
    child = _prune_in_a_child(path, "normal", tmp_path)
    assert child.returncode == 0, child.stderr[-2000:]
    result = json.loads(child.stdout)
    assert result["success"] and result["removed"] == [older], result
    assert not snapshots.file_for(path, older).exists()
    assert not store.manifest_path(path, older).exists()
    assert snapshots.file_for(path, newer).is_file()
    assert retention_problems(path, expect_way_back=True) == []


# --------------------------------------------------------------------------- 3. free space

@pytest.fixture
def disk(monkeypatch: pytest.MonkeyPatch):
    """disk(free): the disk reports `free` bytes free from now on."""
    real = shutil.disk_usage

    def report(free: int) -> None:
        monkeypatch.setattr(shutil, "disk_usage", lambda p: real(p)._replace(free=free))
    return report


def _messy_again(path: str, n: int) -> None:
    """A duplicate recording and an orphaned transcript: clean-up has work again."""
    conn = apsw.Connection(path)
    try:
        with conn:
            (filename,) = conn.execute("SELECT filename FROM recordings ORDER BY id LIMIT 1").fetchone()
            conn.execute("INSERT INTO recordings (id, filename, date_recorded) VALUES (?, ?, '2026-04-01 09:00:00')",
                         (f"dup-{n}", filename))
            conn.execute("INSERT INTO transcripts (id, recording_id, full_text) VALUES (?, ?, 'x')",
                         (f"orphan-{n}", f"gone-{n}"))
    finally:
        conn.close()


@pytest.fixture
def cleaned_once(templates, journal_mode: str, tmp_path: Path) -> tuple[str, str, str]:
    """Upgraded and cleaned once (its pre-cleanup copy is kept), with work for a second
    clean-up. -> (path, way back id, older pre-cleanup id)."""
    path = upgraded(templates[journal_mode], tmp_path / "template")
    _messy_again(path, 0)
    first = run_cleanup(path)
    assert first.success and first.snapshot_id, first.errors
    _messy_again(path, 1)
    way_back = next(s.id for s in status(path).snapshots if s.way_back)
    assert sorted(s.id for s in status(path).snapshots) == sorted([way_back, first.snapshot_id])
    return path, way_back, first.snapshot_id


def test_cleanup_makes_room_by_removing_the_older_safety_copy(cleaned_once, disk, tmp_path: Path) -> None:
    template, way_back, older = cleaned_once
    path = fresh(Path(template), tmp_path / "live")
    size = page_bytes(path)
    disk(size + size // 4 + library.SPACE_MARGIN - 1)  # a byte short, unless the older copy goes

    result = run_cleanup(path)

    assert result.success, result.errors
    assert result.duplicate_recordings_removed == 1 and result.orphaned_transcripts_removed == 1
    assert not snapshots.file_for(path, older).exists() and not store.manifest_path(path, older).exists()
    assert sorted(s.id for s in status(path).snapshots) == sorted([way_back, result.snapshot_id])
    assert retention_problems(path, expect_way_back=True) == []


def test_cleanup_fails_with_disk_full_when_even_pruning_cannot_make_room(cleaned_once, disk, tmp_path: Path) -> None:
    template, way_back, older = cleaned_once
    path = fresh(Path(template), tmp_path / "live")
    size = page_bytes(path)
    older_size = manifest_of(path, older).size_bytes
    kept, content = folder_files(path), logical_dump(Path(path))
    disk(size + size // 4 + library.SPACE_MARGIN - older_size - 1)  # one byte short even without it

    result = run_cleanup(path)

    assert codes(result) == ["DISK_FULL"], result.errors
    assert folder_files(path) == kept  # no snapshot file removed, none added
    assert logical_dump(Path(path)) == content


@pytest.fixture
def restored_and_redone(templates, journal_mode: str, tmp_path: Path) -> tuple[str, str, str]:
    """Upgraded, restored, upgraded again: the pre-rollback copy of the first upgrade is
    kept. -> (path, way back id, older pre-rollback id)."""
    path = upgraded(templates[journal_mode], tmp_path / "template")
    back = rollback(path)
    assert back.success and back.safety_snapshot_id, back.errors
    assert migrate(path).success
    way_back = next(s.id for s in status(path).snapshots if s.way_back)
    assert sorted(s.id for s in status(path).snapshots) == sorted([way_back, back.safety_snapshot_id])
    return path, way_back, back.safety_snapshot_id


def test_rollback_makes_room_by_removing_the_older_safety_copy(restored_and_redone, disk, tmp_path: Path) -> None:
    template, way_back, older = restored_and_redone
    path = fresh(Path(template), tmp_path / "live")
    original = logical_dump(snapshots.file_for(path, way_back), readonly=True)
    disk(page_bytes(path) + library.SPACE_MARGIN - 1)  # a byte short, unless the older copy goes

    result = rollback(path)

    assert result.success, result.errors
    assert logical_dump(Path(path)) == original
    assert not snapshots.file_for(path, older).exists() and not store.manifest_path(path, older).exists()
    assert result.safety_snapshot_id in [s.id for s in status(path).snapshots]
    assert retention_problems(path, expect_way_back=False) == []


def test_rollback_fails_with_disk_full_when_even_pruning_cannot_make_room(restored_and_redone, disk,
                                                                          tmp_path: Path) -> None:
    template, way_back, older = restored_and_redone
    path = fresh(Path(template), tmp_path / "live")
    kept, content = folder_files(path), logical_dump(Path(path))
    disk(page_bytes(path) + library.SPACE_MARGIN - manifest_of(path, older).size_bytes - 1)

    result = rollback(path)

    assert codes(result) == ["DISK_FULL"], result.errors
    assert folder_files(path) == kept
    assert logical_dump(Path(path)) == content


def test_making_room_never_removes_the_snapshot_being_restored(restored_and_redone, disk, tmp_path: Path) -> None:
    """Restoring the older pre-rollback copy itself (rollback --to): it is the only copy of
    its kind, and the one the restore reads, so it cannot make room."""
    template, way_back, older = restored_and_redone
    path = fresh(Path(template), tmp_path / "live")
    kept, content = folder_files(path), logical_dump(Path(path))
    size = page_bytes(path)
    disk(size + library.SPACE_MARGIN - 1)

    short = rollback(path, force=True, snapshot_id=older)

    assert codes(short) == ["DISK_FULL"], short.errors
    assert folder_files(path) == kept
    assert logical_dump(Path(path)) == content

    # Negative control: with just enough room, the same restore goes ahead.
    expected = logical_dump(snapshots.file_for(path, older), readonly=True)
    disk(size + library.SPACE_MARGIN)
    enough = rollback(path, force=True, snapshot_id=older)
    assert enough.success, enough.errors
    assert logical_dump(Path(path)) == expected
    assert retention_problems(path, expect_way_back=True) == []


# --------------------------------------------------------------------------- 4. foreign snapshots

@pytest.fixture
def two_libraries(tmp_path: Path) -> tuple[str, str, dict]:
    """Libraries A and B, built alike (same demo seed: equal content, different identity),
    both upgraded, B after A (its snapshot is the newer). -> (A, B, A's original content)."""
    paths = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        path = str(folder / "library.db")
        create_demo_library(path, RECORDINGS, seed=5, journal_mode="wal")
        paths.append(path)
    original = logical_dump(Path(paths[0]))
    for path in paths:
        assert migrate(path).success
    assert library_id(paths[0]) != library_id(paths[1])
    return paths[0], paths[1], original


def _way_back(path: str) -> snapshots.Manifest:
    return manifest_of(path, next(s.id for s in status(path).snapshots if s.way_back))


def _library_bytes(path: str) -> dict[str, bytes]:
    return {s: Path(path + s).read_bytes() for s in ("", "-wal", "-journal") if Path(path + s).exists()}


def test_a_file_swapped_in_under_the_way_backs_name_is_refused_even_with_force(two_libraries) -> None:
    a, b, _ = two_libraries
    mine, theirs = _way_back(a), _way_back(b)
    shutil.copyfile(snapshots.file_for(b, theirs.id), snapshots.file_for(a, mine.id))
    exact, content = store.digests(snapshots.file_for(a, mine.id))
    forged = mine.model_copy(update={"sha256": exact, "content_sha256": content,
                                     "size_bytes": snapshots.file_for(a, mine.id).stat().st_size})
    store.manifest_path(a, mine.id).write_text(forged.model_dump_json(indent=1))
    # The manifest now matches its file: what is wrong is only whose library it holds.
    assert snapshots.problem(a, forged, library_id(a)).startswith("It belongs")
    before = _library_bytes(a)

    result = rollback(a, force=True)

    assert codes(result) == ["SNAPSHOT_FOREIGN"], result.errors
    assert _library_bytes(a) == before
    state = status(a)
    assert state.success and not state.can_rollback
    assert [s.valid for s in state.snapshots] == [False]
    assert "another library" in state.snapshots[0].problem


def test_another_librarys_snapshot_in_the_folder_is_listed_invalid_and_never_restored(two_libraries) -> None:
    a, b, original = two_libraries
    mine, theirs = _way_back(a), _way_back(b)
    assert theirs.id > mine.id  # B's is the newest pre-upgrade snapshot in A's folder
    for source in (snapshots.file_for(b, theirs.id), store.manifest_path(b, theirs.id)):
        shutil.copy2(source, snapshots.snapshot_dir(a) / source.name)

    listed = {s.id: s for s in backups.list_snapshots(a).snapshots}
    assert set(listed) == {mine.id, theirs.id}
    assert not listed[theirs.id].valid and "another library" in listed[theirs.id].problem
    assert listed[mine.id].valid and listed[mine.id].way_back

    before = _library_bytes(a)
    chosen = rollback(a, force=True, snapshot_id=theirs.id)
    assert codes(chosen) == ["SNAPSHOT_FOREIGN"], chosen.errors
    assert _library_bytes(a) == before

    # Negative control: A's own snapshot restores, by a plain rollback that passes B's over.
    plain = rollback(a)
    assert plain.success, plain.errors
    assert plain.restored_snapshot_id == mine.id
    assert logical_dump(Path(a)) == original
    # Someone else's snapshot is never pruned automatically.
    assert snapshots.file_for(a, theirs.id).is_file() and store.manifest_path(a, theirs.id).is_file()


def test_a_library_moved_with_its_snapshots_folder_keeps_its_way_back(two_libraries, tmp_path: Path) -> None:
    a, _, original = two_libraries
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    moved = str(elsewhere / "renamed.db")
    os.rename(a, moved)
    os.rename(snapshots.snapshot_dir(a), snapshots.snapshot_dir(moved))

    assert status(moved).can_rollback
    result = rollback(moved)
    assert result.success, result.errors
    assert logical_dump(Path(moved)) == original

    # Negative control: the library moved without its folder has no way back.
    alone = str(elsewhere / "alone.db")
    shutil.copyfile(moved, alone)
    assert not status(alone).can_rollback


def test_a_way_back_changed_by_one_byte_is_refused(two_libraries) -> None:
    a, _, _ = two_libraries
    mine = _way_back(a)
    assert status(a).can_rollback  # before: offered
    path = snapshots.file_for(a, mine.id)
    data = bytearray(path.read_bytes())
    data[len(data) // 3] ^= 0x01
    path.write_bytes(bytes(data))
    before = _library_bytes(a)

    state = status(a)
    assert state.success and not state.can_rollback
    assert [s.valid for s in state.snapshots] == [False]
    result = rollback(a, force=True)
    assert codes(result) == ["SNAPSHOT_INVALID"], result.errors
    assert _library_bytes(a) == before


# --------------------------------------------------------------------------- 1. the property (last:
# the slowest test here, and when it fails it shrinks the sequence to a minimal one)

@SETTINGS
@given(mode=st.sampled_from(["wal", "delete"]), steps=operations)
def test_retention_keeps_its_promises_whatever_the_user_does(templates, mode: str, steps: list) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = fresh(templates[mode], Path(tmp) / "live")
        log: list[str] = []
        before = status(path)
        assert before.success and retention_problems(path, expect_way_back=False) == []
        for n, (op, choice) in enumerate(steps):
            # A way back existed before this step (and nothing deletes it with force), or
            # this step is the upgrade that makes one.
            had_way_back = before.version > OLDEST and before.can_rollback
            line = _step(path, op, choice, n, before)
            log.append(line)
            expect = had_way_back or (op == "migrate" and line.startswith(f"migrate: {OLDEST} -> {LATEST}"))
            problems = retention_problems(path, expect)
            assert problems == [], "\n".join(["after:", *log, "broken:", *problems])
            before = status(path)
            assert before.success and before.version == version_of(path), before.errors
        if before.can_rollback and before.version > OLDEST:
            _rollback_works_after_moving(path, Path(tmp) / "moved")
