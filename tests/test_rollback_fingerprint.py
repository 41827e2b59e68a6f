"""A rollback skips the "what would a restore discard" comparison only when the library
holds, byte for byte, what its upgrade left (`snapshots.fingerprint`): one changed row
anywhere, in a table the upgrade knows or not, and the whole comparison runs and finds
exactly what it finds without the shortcut."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import apsw
import pytest

from app.engine import snapshots
from app.engine.migrate import migrate
from app.engine.progress import ProgressTracker
from app.engine.rollback import rollback
from app.engine.snapshots import fingerprint
from app.engine.steps import Registry
from app.engine.steps.v11 import KnowledgeCaptures
from tests import real_layouts
from tests.conftest import Library, fill


class Counting(KnowledgeCaptures):
    """The V11 step, counting how often a rollback replays it (the full comparison)."""

    def __init__(self) -> None:
        self.replays = 0

    def expected(self, scratch: apsw.Connection, source: str, tracker: ProgressTracker) -> None:
        self.replays += 1
        super().expected(scratch, source, tracker)


def counting() -> tuple[Registry, Counting]:
    step = Counting()
    registry = Registry()
    registry.register(step)
    return registry, step


def _upgrade(lib: Library) -> snapshots.Manifest:
    result = migrate(str(lib))
    assert result.success, result.errors
    return next(m for m in snapshots.list_manifests(str(lib)) if m.id == result.snapshot_id)


def _forget_fingerprint(lib: Library, manifest: snapshots.Manifest) -> None:
    extra = {k: v for k, v in manifest.extra.items() if k != fingerprint.AFTER}
    snapshots.store.write_manifest(str(lib), manifest.model_copy(update={"extra": extra}))


@pytest.fixture
def upgraded(make_library, journal_mode):
    lib = make_library(journal_mode=journal_mode)
    fill(lib, 80)
    lib.execute("CREATE TABLE my_notes (id INTEGER PRIMARY KEY, body TEXT)")
    lib.execute("INSERT INTO my_notes (body) VALUES ('mine')")
    before = lib.dump()
    return lib, before, _upgrade(lib)


def test_nothing_changed_restores_without_replaying_the_upgrade(upgraded) -> None:
    lib, before, manifest = upgraded
    assert manifest.extra.get(fingerprint.AFTER)
    registry, step = counting()
    result = rollback(str(lib), steps=registry)
    assert result.success, result.errors
    assert step.replays == 0 and not result.would_lose
    assert lib.dump() == before


def test_without_a_fingerprint_the_comparison_runs(upgraded) -> None:
    """The counter's negative control: the same rollback, the shortcut unknown."""
    lib, before, manifest = upgraded
    _forget_fingerprint(lib, manifest)
    registry, step = counting()
    result = rollback(str(lib), steps=registry)
    assert result.success, result.errors
    assert step.replays == 1 and not result.would_lose
    assert lib.dump() == before


# One change each, in a table the upgrade writes, one it leaves alone, the user's own,
# one added since, and one that keeps every row count and the file's size.
CHANGES = {
    "capture title": "UPDATE knowledge_captures SET title = title || '!' WHERE rowid = 3",
    "action item done": "UPDATE action_items SET status = 'completed' WHERE rowid = 1",
    "meeting renamed": "UPDATE meetings SET subject = 'Renamed' WHERE id = 'm000'",
    "config row added": "INSERT INTO config (key, value) VALUES ('theme', 'dark')",
    "user's table, same size": "UPDATE my_notes SET body = 'MINE'",
    "user's new table": "CREATE TABLE later (x); INSERT INTO later VALUES (1)",
    "recording deleted": "DELETE FROM recordings WHERE rowid = (SELECT max(rowid) FROM recordings)",
}


@pytest.mark.parametrize("change", CHANGES, ids=list(CHANGES))
def test_one_change_anywhere_is_found_exactly_as_without_the_shortcut(upgraded, change: str) -> None:
    lib, _, manifest = upgraded
    conn = lib.connect()
    try:
        conn.execute(CHANGES[change])
    finally:
        conn.close()
    changed = lib.dump()

    registry, step = counting()
    quick = rollback(str(lib), steps=registry)
    assert [e.code for e in quick.errors] == ["WOULD_LOSE_DATA"]
    assert step.replays == 1 and quick.would_lose
    assert lib.dump() == changed

    _forget_fingerprint(lib, manifest)
    full = rollback(str(lib))
    assert [e.code for e in full.errors] == ["WOULD_LOSE_DATA"]
    assert full.would_lose == quick.would_lose
    assert lib.dump() == changed


def test_a_change_undone_restores(upgraded) -> None:
    """A change made and taken back (the file's bytes may differ, its content does not):
    whichever way the rollback decides, nothing is lost and the restore goes ahead."""
    lib, before, _ = upgraded
    lib.execute("INSERT INTO config (key, value) VALUES ('theme', 'dark')")
    lib.execute("DELETE FROM config WHERE key = 'theme'")
    result = rollback(str(lib))
    assert result.success, result.errors
    assert not result.would_lose
    assert lib.dump() == before


def test_redoing_the_upgrade_takes_the_shortcut_and_a_change_stops_it(upgraded) -> None:
    lib, _, _ = upgraded
    after = lib.dump()
    back = rollback(str(lib))
    assert back.success, back.errors
    redo_id = back.safety_snapshot_id

    registry, step = counting()
    redo = rollback(str(lib), snapshot_id=redo_id, steps=registry)
    assert redo.success, redo.errors
    assert step.replays == 0 and lib.dump() == after

    # Back again, then a change: the redo must now refuse, as the comparison says.
    assert rollback(str(lib), force=True).success
    lib.execute("UPDATE meetings SET subject = 'Renamed' WHERE id = 'm000'")
    registry, step = counting()
    refused = rollback(str(lib), snapshot_id=redo_id, steps=registry)
    assert [e.code for e in refused.errors] == ["WOULD_LOSE_DATA"]
    assert refused.would_lose == {"meetings": 1} and step.replays == 0  # a redo compares tables only


@pytest.mark.parametrize("layout", ["app_v10", "half_done"])
def test_real_layouts_take_the_shortcut(tmp_path, layout: str) -> None:
    built = real_layouts.build(tmp_path / "library.db", layout, recordings=30, seed=5)
    lib = Library(built.path)
    before = lib.dump()
    manifest = _upgrade(lib)
    assert manifest.extra.get(fingerprint.AFTER)
    registry, step = counting()
    result = rollback(str(lib), steps=registry)
    assert result.success, result.errors
    assert step.replays == 0 and lib.dump() == before


_READER = textwrap.dedent("""
    import sys, apsw
    conn = apsw.Connection(sys.argv[1])
    conn.execute("BEGIN")
    conn.execute("SELECT count(*) FROM recordings").fetchone()
    print("reading", flush=True)
    sys.stdin.readline()
""")


def test_a_reader_during_the_upgrade_means_no_fingerprint_and_a_full_comparison(make_library) -> None:
    """WAL: a reader keeps the WAL from being emptied, so the file is not the content."""
    lib = make_library(journal_mode="wal")
    fill(lib, 40)
    before = lib.dump()
    reader = subprocess.Popen([sys.executable, "-c", _READER, str(lib)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "reading"
        manifest = _upgrade(lib)
    finally:
        reader.communicate("\n", timeout=30)
    assert fingerprint.AFTER not in manifest.extra
    registry, step = counting()
    result = rollback(str(lib), steps=registry)
    assert result.success, result.errors
    assert step.replays == 1 and lib.dump() == before


_TRY_LOCK = textwrap.dedent("""
    import sys, apsw
    conn = apsw.Connection(sys.argv[1])
    conn.set_busy_timeout(0)
    try:
        conn.execute("BEGIN IMMEDIATE")
    except apsw.BusyError:
        print("busy")
    else:
        print("locked")
""")


def _other_process_can_write(lib: Library) -> bool:
    out = subprocess.run([sys.executable, "-c", _TRY_LOCK, str(lib)], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() in ("busy", "locked"), out.stderr
    return out.stdout.strip() == "locked"


def test_hashing_keeps_the_locks_this_process_holds(make_library) -> None:
    """The hash reads through SQLite's VFS: closing a plain descriptor of the file would
    drop every POSIX lock this process holds on it (the negative control shows it)."""
    lib = make_library(journal_mode="delete")
    fill(lib, 20)
    holder = lib.connect()
    try:
        holder.execute("BEGIN IMMEDIATE")
        assert not _other_process_can_write(lib)
        other = lib.connect()
        try:
            assert fingerprint.content(other)
        finally:
            other.close()
        assert not _other_process_can_write(lib)  # still ours

        open(str(lib), "rb").close()  # noqa: SIM115 - the hazard itself
        assert _other_process_can_write(lib)  # the lock is gone: what the VFS read avoids
    finally:
        holder.execute("ROLLBACK")
        holder.close()
