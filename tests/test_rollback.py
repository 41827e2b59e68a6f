"""rollback puts the library back exactly as it was before the upgrade, refuses when that
would silently discard the user's later changes, and never uses a damaged snapshot."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from app.engine import snapshots
from app.engine.snapshots import identity
from app.engine.migrate import migrate
from app.engine.rollback import rollback
from tests.conftest import Library, fill, logical_dump


@pytest.fixture
def upgraded(make_library, journal_mode):
    lib = make_library(journal_mode=journal_mode)
    fill(lib, 120)
    lib.execute("CREATE TABLE my_notes (id INTEGER PRIMARY KEY, body TEXT)")
    lib.execute("INSERT INTO my_notes (body) VALUES ('mine')")
    before = lib.dump()
    result = migrate(str(lib))
    assert result.success, result.errors
    return lib, before


def test_rollback_after_success_restores_the_exact_original(upgraded) -> None:
    lib, before = upgraded
    mode = lib.journal_mode()
    upgraded_state = lib.dump()
    result = rollback(str(lib))
    assert result.success, result.errors
    assert result.version == 10 and result.version_before == 11
    assert lib.dump() == before
    assert lib.journal_mode() == mode
    assert result.safety_snapshot_id and result.safety_snapshot_id.startswith("pre-rollback")
    safety = [m for m in snapshots.list_manifests(str(lib)) if m.id == result.safety_snapshot_id][0]
    assert safety.version == 11  # the state just before the restore is kept too
    copied = logical_dump(snapshots.file_for(str(lib), safety.id), readonly=True)
    assert copied == upgraded_state != before


def test_upgrade_after_rollback_gives_the_same_ids(upgraded) -> None:
    lib, _ = upgraded
    first = lib.rows("knowledge_captures", "id")
    items = lib.rows("action_items", "id")
    assert rollback(str(lib)).success
    assert migrate(str(lib)).success
    strip = lambda rows: [r[:-3] for r in rows]  # noqa: E731 - created_at/updated_at/deleted_at differ in time
    assert [r[0] for r in lib.rows("knowledge_captures", "id")] == [r[0] for r in first]
    assert [r[0] for r in lib.rows("action_items", "id")] == [r[0] for r in items]
    assert strip(lib.rows("knowledge_captures", "id")) == strip(first)


def test_rollback_after_a_restart_of_the_process(make_library) -> None:
    lib = make_library()
    fill(lib, 60)
    before = lib.dump()
    run = lambda *a: subprocess.run([sys.executable, "-m", "app", *a, "--library", str(lib), "--json"],  # noqa: E731
                                    capture_output=True, text=True, timeout=120)
    up = run("migrate")
    assert up.returncode == 0, up.stdout
    back = run("rollback")
    assert back.returncode == 0, back.stdout
    assert json.loads(back.stdout)["version"] == 10
    assert lib.dump() == before


def test_refuses_when_the_user_changed_data_since_and_force_restores(upgraded) -> None:
    lib, before = upgraded
    lib.execute("UPDATE action_items SET status = 'completed' WHERE rowid = 1")
    lib.execute("INSERT INTO knowledge_captures (id, title, captured_at) VALUES ('mine', 'My note', '2025')")
    lib.execute("UPDATE meetings SET subject = 'Renamed' WHERE id = 'm000'")
    changed = lib.dump()
    kept = _snapshot_files(lib)

    refused = rollback(str(lib))
    assert [e.code for e in refused.errors] == ["WOULD_LOSE_DATA"]
    assert {"action_items", "knowledge_captures", "meetings"} <= set(refused.would_lose)
    assert "action_items" in refused.errors[0].message and "force" in refused.errors[0].message
    assert lib.dump() == changed  # nothing happened
    # The safety copy taken beside the comparison went with the refusal.
    assert refused.safety_snapshot_id is None and _snapshot_files(lib) == kept

    forced = rollback(str(lib), force=True)
    assert forced.success, forced.errors
    assert lib.dump() == before


def test_no_snapshot_and_nothing_to_roll_back(upgraded) -> None:
    lib, _ = upgraded
    folder = snapshots.snapshot_dir(str(lib))
    for p in folder.iterdir():
        p.unlink()
    state = lib.dump()
    result = rollback(str(lib))
    assert [e.code for e in result.errors] == ["NO_SNAPSHOT"]
    assert lib.dump() == state

    v10 = Library(lib.path.with_name("other.db"))
    from tests.conftest import build_v10
    build_v10(v10.path)
    assert [e.code for e in rollback(str(v10)).errors] == ["NOTHING_TO_ROLL_BACK"]


@pytest.mark.parametrize("damage", ["flip", "truncate", "manifest"])
def test_a_damaged_snapshot_is_never_used(upgraded, damage: str) -> None:
    lib, _ = upgraded
    manifest = snapshots.latest(str(lib), snapshots.PRE_UPGRADE)
    path = snapshots.file_for(str(lib), manifest.id)
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    elif damage == "truncate":
        path.write_bytes(bytes(data[: len(data) // 2]))
    else:
        path.with_suffix(".json").write_text("{not json")
    state = lib.dump()
    result = rollback(str(lib))
    expected = "NO_SNAPSHOT" if damage == "manifest" else "SNAPSHOT_INVALID"
    assert [e.code for e in result.errors] == [expected]
    assert lib.dump() == state
    assert lib.version() == 11


def test_force_must_be_a_boolean(upgraded) -> None:
    lib, _ = upgraded
    result = rollback(str(lib), force="yes")  # type: ignore[arg-type]
    assert [e.code for e in result.errors] == ["INVALID_ARGUMENT"]
    assert lib.version() == 11


def test_restore_stops_when_someone_wrote_after_the_lock_was_released(upgraded) -> None:
    from app.engine.progress import ProgressRegistry

    lib, _ = upgraded
    target = snapshots.latest(str(lib), snapshots.PRE_UPGRADE)
    signature = snapshots.file_signature(str(lib))
    lib.execute("INSERT INTO config (key, value) VALUES ('sneaked', 'in')")  # another writer
    state = lib.dump()
    registry = ProgressRegistry()
    tracker = registry.open("rollback")
    conn = lib.connect()
    try:
        with pytest.raises(Exception) as caught:
            snapshots.restore(conn, str(lib), target, tracker, signature)
    finally:
        conn.close()
    assert getattr(caught.value, "code", None) == "IN_PROGRESS"
    assert lib.dump() == state


def test_changes_in_a_without_rowid_table_of_the_users_count(make_library) -> None:
    lib = make_library()
    fill(lib, 30)
    lib.execute("CREATE TABLE tags (name TEXT PRIMARY KEY, colour TEXT) WITHOUT ROWID")
    lib.execute("INSERT INTO tags VALUES ('work', 'blue'), ('home', 'green')")
    assert migrate(str(lib)).success
    lib.execute("UPDATE tags SET colour = 'red' WHERE name = 'work'")
    lib.execute("UPDATE transcripts SET summary = 'edited' WHERE rowid = 1")
    refused = rollback(str(lib))
    assert [e.code for e in refused.errors] == ["WOULD_LOSE_DATA"]
    assert refused.would_lose.get("tags") == 2  # the old row and the new one differ
    assert refused.would_lose.get("transcripts") == 1


def test_a_recording_added_since_counts_once(upgraded) -> None:
    lib, _ = upgraded
    lib.insert("recordings", id="new", filename="new.wav", date_recorded="2025-01-01")
    refused = rollback(str(lib))
    assert refused.would_lose == {"recordings": 1}
    lib.execute("UPDATE recordings SET migration_status = 'error' WHERE id = 'r00001'")
    # the status is not a V10 column: only the upgrade-status comparison sees it
    assert rollback(str(lib)).would_lose == {"recordings": 1, "recordings (upgrade status)": 1}


def _snapshot_files(lib: Library) -> list[str]:
    return sorted(p.name for p in snapshots.snapshot_dir(str(lib)).iterdir())


def test_a_rollback_cancelled_while_comparing_leaves_no_safety_copy(make_library, journal_mode) -> None:
    from app.engine.progress import ProgressRegistry

    lib = make_library(journal_mode=journal_mode)
    fill(lib, 3000)  # two batches of the comparison: the cancel lands after the first
    assert migrate(str(lib)).success
    lib.insert("config", key="changed", value="since")  # or the comparison is not needed
    state, kept = lib.dump(), _snapshot_files(lib)
    registry = ProgressRegistry()
    seen = []

    def cancel_while_comparing(event) -> None:
        seen.append(event.phase)
        if event.phase == "checking" and event.processed:
            registry.cancel_all()

    registry.subscribe(cancel_while_comparing)
    result = rollback(str(lib), registry=registry)
    assert [e.code for e in result.errors] == ["CANCELLED"]
    assert "checking" in seen
    assert lib.dump() == state and lib.version() == 11
    assert _snapshot_files(lib) == kept


def test_discarding_a_reused_snapshot_keeps_it(make_library, journal_mode) -> None:
    """An operation that stops drops the safety copy it made, never an identical older
    snapshot that the copy reused."""
    from app.engine.progress import ProgressRegistry

    library = make_library(journal_mode=journal_mode)
    fill(library, 50)
    tracker = ProgressRegistry().open("rollback")
    path, mode = str(library), library.journal_mode()
    lid = identity.new_id()
    with snapshots.taking(path, snapshots.PRE_ROLLBACK, tracker, mode, lid) as first:
        kept = first.wait()
    with snapshots.taking(path, snapshots.PRE_ROLLBACK, tracker, mode, lid) as again:
        assert again.wait().id == kept.id  # the library did not change: reused
        again.discard()
    snapshots.validate(path, kept, lid)
    library.insert("config", key="changed", value="since")
    with snapshots.taking(path, snapshots.PRE_ROLLBACK, tracker, mode, lid) as new:
        fresh = new.wait()
        assert fresh.id != kept.id
        new.discard()  # negative control: a new one does go
    assert [m.id for m in snapshots.list_manifests(path)] == [kept.id]
