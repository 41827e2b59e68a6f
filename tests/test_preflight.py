"""Bad input gets a clear, coded error and changes nothing: every file stays byte-identical."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import apsw
import pytest

from app.engine.cleanup import preview_cleanup, run_cleanup
from app.engine.migrate import migrate
from app.engine.rollback import rollback
from app.engine.status import status
from tests.conftest import build_v10, fill, set_version

OPERATIONS = {"status": status, "migrate": migrate, "rollback": rollback,
              "preview": preview_cleanup, "cleanup": run_cleanup}


def _versioned(path: Path, version: int) -> Path:
    build_v10(path, "delete")
    set_version(path, version)
    return path


def _corrupt_page(path: Path) -> Path:
    lib = build_v10(path, "delete")
    fill(lib, 400)
    data = bytearray(path.read_bytes())
    page = 4096
    for offset in range(page * 3, page * 3 + 200):  # scribble over the middle of a b-tree page
        data[offset] ^= 0x5A
    path.write_bytes(bytes(data))
    return path


def _bad_header(path: Path) -> Path:
    build_v10(path, "delete")
    data = bytearray(path.read_bytes())
    data[0:16] = b"Not SQLite fmt\x00\x00"
    path.write_bytes(bytes(data))
    return path


def _write(data: bytes):
    def make(path: Path) -> Path:
        path.write_bytes(data)
        return path
    return make


def _foreign_sqlite(path: Path) -> Path:
    conn = apsw.Connection(str(path))
    conn.execute("CREATE TABLE x (y)")
    conn.close()
    return path


BAD = {
    "random bytes": (_write(os.urandom(8192)), "NOT_A_LIBRARY"),
    "empty file": (_write(b""), "NOT_A_LIBRARY"),
    "text file": (_write(b"hello, I am not a database\n"), "NOT_A_LIBRARY"),
    "sqlite without app tables": (_foreign_sqlite, "NOT_A_LIBRARY"),
    "flipped header": (_bad_header, "NOT_A_LIBRARY"),
    "V9 library": (lambda p: _versioned(p, 9), "LIBRARY_TOO_OLD"),
    "V12 library": (lambda p: _versioned(p, 12), "LIBRARY_TOO_NEW"),
}


@pytest.mark.parametrize("op", list(OPERATIONS))
@pytest.mark.parametrize("case", list(BAD))
def test_bad_library_gets_its_code_and_stays_byte_identical(tmp_path: Path, case: str, op: str) -> None:
    make, code = BAD[case]
    path = make(tmp_path / "library.db")
    before = path.read_bytes()
    result = OPERATIONS[op](str(path))
    assert not result.success
    assert result.errors[0].code == code, result.errors
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["library.db"]  # no snapshot, no journal


@pytest.mark.parametrize("op", ["migrate", "cleanup"])
def test_damaged_page_is_library_corrupt_and_untouched(tmp_path: Path, op: str) -> None:
    path = _corrupt_page(tmp_path / "library.db")
    before = path.read_bytes()
    result = OPERATIONS[op](str(path))
    assert result.errors[0].code in ("LIBRARY_CORRUPT", "NOT_A_LIBRARY"), result.errors
    assert path.read_bytes() == before


@pytest.mark.parametrize("op", list(OPERATIONS))
def test_missing_path_is_not_created(tmp_path: Path, op: str) -> None:
    path = tmp_path / "nowhere" / "library.db"
    result = OPERATIONS[op](str(path))
    assert result.errors[0].code == "LIBRARY_NOT_FOUND"
    assert not path.exists() and not path.parent.exists()
    missing = tmp_path / "library.db"
    assert OPERATIONS[op](str(missing)).errors[0].code == "LIBRARY_NOT_FOUND"
    assert not missing.exists()


@pytest.mark.parametrize("op", list(OPERATIONS))
def test_directory_is_not_a_library(tmp_path: Path, op: str) -> None:
    folder = tmp_path / "library.db"
    folder.mkdir()
    assert OPERATIONS[op](str(folder)).errors[0].code == "NOT_A_LIBRARY"
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("bad", [None, "", 42, "\x00"])
def test_wrong_argument_types_are_invalid_argument(bad) -> None:
    for op in OPERATIONS.values():
        assert op(bad).errors[0].code == "INVALID_ARGUMENT"


def _mount_tmpfs(where: Path, size: str) -> bool:
    where.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)],
                          capture_output=True)
    return done.returncode == 0


@pytest.fixture
def small_disk(tmp_path: Path):
    """A real, small filesystem (tmpfs), so 'disk full' is the disk's own answer."""
    mount = tmp_path / "disk"
    if not _mount_tmpfs(mount, "3m"):
        pytest.skip("mounting a tmpfs needs root")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_too_little_disk_for_the_snapshot_is_disk_full(tmp_path: Path, small_disk: Path) -> None:
    src = build_v10(tmp_path / "big.db", "delete")
    fill(src, 2500)  # a few MB: more than the free space needs
    shutil.copy(src.path, small_disk / "library.db")
    path = small_disk / "library.db"
    before = path.read_bytes()
    result = migrate(str(path))
    assert result.errors[0].code == "DISK_FULL", result.errors
    assert "MB" in result.errors[0].message
    assert path.read_bytes() == before
    assert sorted(p.name for p in small_disk.iterdir()) == ["library.db"]


def test_read_only_filesystem_is_read_only(tmp_path: Path, small_disk: Path) -> None:
    build_v10(small_disk / "library.db", "delete")
    if subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], capture_output=True).returncode:
        pytest.skip("cannot remount read-only")
    path = small_disk / "library.db"
    before = path.read_bytes()
    for op in ("migrate", "cleanup"):
        result = OPERATIONS[op](str(path))
        assert result.errors[0].code == "READ_ONLY", result.errors
    assert status(str(path)).success  # reading still works
    assert path.read_bytes() == before


def test_status_and_preview_leave_no_sidecar_files(make_library) -> None:
    lib = make_library(journal_mode="wal")
    fill(lib, 10)
    for op in (status, preview_cleanup):
        assert op(str(lib)).success
        assert sorted(p.name for p in lib.path.parent.iterdir()) == ["library.db"]
