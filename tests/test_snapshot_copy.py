"""How a snapshot is copied (`snapshots.copying`): the library file's pages when the file
alone holds the library, else SQLite's backup API. Either way the snapshot holds exactly
the library as committed; the file path is never taken when a WAL library has frames in
its -wal (they hold committed rows the file does not)."""

from __future__ import annotations

import importlib
from pathlib import Path

import apsw
import pytest

from app.engine import snapshots
from app.engine.migrate import migrate
from app.engine.progress import ProgressRegistry, ProgressTracker
from app.engine.snapshots import fingerprint, identity
from tests.conftest import Library, fill, logical_dump

copying = importlib.import_module("app.engine.snapshots.copying")


@pytest.fixture
def paths(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Which copy each snapshot was made by ('file' or 'backup'); the real ones run."""
    seen: list[str] = []
    real_file, real_backup = copying._copy_file, copying._backup

    def copy_file(*args, **kwargs):
        seen.append("file")
        return real_file(*args, **kwargs)

    def backup(*args, **kwargs):
        seen.append("backup")
        return real_backup(*args, **kwargs)

    monkeypatch.setattr(copying, "_copy_file", copy_file)
    monkeypatch.setattr(copying, "_backup", backup)
    return seen


def _take(lib: Library) -> Path:
    """A snapshot of `lib` taken the way operations do: holding its write lock."""
    conn = lib.connect()
    try:
        conn.execute("BEGIN IMMEDIATE")
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        library_id = identity.read(conn) or identity.new_id()
        manifest = snapshots.take(str(lib), snapshots.PRE_UPGRADE, ProgressTracker(ProgressRegistry(), "t", "test"), mode, library_id)
        conn.execute("ROLLBACK")
    finally:
        conn.close()
    return snapshots.file_for(str(lib), manifest.id)


@pytest.mark.parametrize("journal_mode", ["delete", "wal"])
def test_a_library_whose_file_is_all_of_it_is_copied_as_its_file(make_library, paths, journal_mode) -> None:
    lib = make_library(journal_mode=journal_mode)
    fill(lib, 200)
    snapshot = _take(lib)
    assert paths == ["file"]
    assert logical_dump(snapshot, readonly=True) == lib.dump()
    with apsw.Connection(str(snapshot), flags=apsw.SQLITE_OPEN_READONLY) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # a plain file, as before
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_rows_still_in_the_wal_are_copied_by_the_backup_api(make_library, paths) -> None:
    lib = make_library(journal_mode="wal")
    fill(lib, 50)
    holder = lib.connect()  # keeps the last commit in the -wal: no checkpoint on close
    try:
        holder.execute("PRAGMA wal_autocheckpoint = 0")
        holder.execute("INSERT INTO meetings (id, subject, start_time, end_time) "
                       "VALUES ('only-in-wal', 's', '2024-01-01', '2024-01-01')")
        assert Path(f"{lib}-wal").stat().st_size > 0
        snapshot = _take(lib)
    finally:
        holder.close()
    assert paths == ["backup"]
    dumped = logical_dump(snapshot, readonly=True)
    assert ("only-in-wal",) in [row[:1] for row in dumped["meetings"]]
    assert dumped == lib.dump()


def test_a_library_reached_through_a_link_is_copied_and_fingerprinted(make_library, paths, tmp_path) -> None:
    """The VFS opens no link: the copy and the fingerprint read the file SQLite opened."""
    lib = make_library(journal_mode="delete")
    fill(lib, 100)
    link = tmp_path / "elsewhere" / "link.db"
    link.parent.mkdir()
    link.symlink_to(lib.path)
    result = migrate(str(link))
    assert result.success, result.errors
    assert paths == ["file"]
    manifest = snapshots.latest(str(lib), snapshots.PRE_UPGRADE)
    assert manifest is not None and manifest.extra.get(fingerprint.AFTER)
