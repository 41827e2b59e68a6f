"""Bad libraries: each gets its documented error code and exit code, a clear message, and
every file stays byte-identical (the library, its sidecars, its folder: nothing is added).

Through the engine for every operation, and through the CLI (`--json`, exit code) for the
writing ones. The exit codes are the ones README documents, written out here so a drift
between the two is caught.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import apsw
import pytest

from app.engine import snapshots
from app.engine.cleanup import preview_cleanup, run_cleanup
from app.samples.demo import create_demo_library
from app.engine.migrate import migrate
from app.engine.rollback import rollback
from app.engine.status import status
from tests.conftest import set_version
from tests.reliability import checker
from tests.reliability.scenarios import tally

DOCUMENTED_EXIT = {  # README, "Error codes"
    "IN_PROGRESS": 75, "LIBRARY_NOT_FOUND": 2, "NOT_A_LIBRARY": 2, "LIBRARY_TOO_OLD": 2,
    "LIBRARY_TOO_NEW": 2, "LIBRARY_CORRUPT": 2, "INVALID_ARGUMENT": 2, "READ_ONLY": 1,
    "DISK_FULL": 1, "IO_ERROR": 1, "CANCELLED": 1, "VERIFICATION_FAILED": 1,
    "NOTHING_TO_ROLL_BACK": 1, "NO_SNAPSHOT": 1, "SNAPSHOT_INVALID": 1, "WOULD_LOSE_DATA": 1,
    "RESTORE_FAILED": 1, "INTERNAL_ERROR": 1,
}
ENGINE = {"status": status, "preview": preview_cleanup, "migrate": migrate, "rollback": rollback,
          "cleanup": run_cleanup}
CLI_VERB = {"status": ["status"], "preview": ["cleanup", "--dry-run"], "migrate": ["migrate"],
            "rollback": ["rollback"], "cleanup": ["cleanup"]}
WRITERS = ("migrate", "rollback", "cleanup")
PAGE = 4096


# ---- the library files -----------------------------------------------------------------

@pytest.fixture(scope="module")
def v10(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bad-src") / "v10.db"
    create_demo_library(str(path), recordings=300, seed=5, journal_mode="delete")
    return path


@pytest.fixture(scope="module")
def v11(tmp_path_factory: pytest.TempPathFactory, v10: Path) -> Path:
    path = checker.copy_library(v10, tmp_path_factory.mktemp("bad-src11") / "v11.db")
    assert migrate(str(path)).success
    return path


def _bytes_of(mutate: Callable[[bytearray], bytes | bytearray]):
    def make(path: Path, v10: Path, v11: Path) -> Path:
        path.write_bytes(bytes(mutate(bytearray(v10.read_bytes()))))
        return path
    return make


def _flip(offsets: range, mask: int = 0xFF):
    def mutate(data: bytearray) -> bytearray:
        for i in offsets:
            data[i] ^= mask
        return data
    return mutate


def _versioned(version: int):
    def make(path: Path, v10: Path, v11: Path) -> Path:
        checker.copy_library(v10, path)
        set_version(path, version)
        return path
    return make


def _btree_page(data: bytearray) -> int:
    """The number (1-based) of a leaf table b-tree page in the middle of the file."""
    pages = len(data) // PAGE
    for n in range(pages // 2, pages):
        if data[(n - 1) * PAGE] == 0x0D:
            return n
    raise AssertionError("no leaf page")


def _scribble_btree_header(data: bytearray) -> bytearray:
    start = (_btree_page(data) - 1) * PAGE
    for i in range(start + 1, start + 12):  # freeblock, cell count, content area, pointers
        data[i] ^= 0xA5
    return data


def _directory(path: Path, v10: Path, v11: Path) -> Path:
    path.mkdir()
    return path


def _missing(path: Path, v10: Path, v11: Path) -> Path:
    return path


def _stray_wal(path: Path, v10: Path, v11: Path) -> Path:
    """A WAL library with another library's -wal beside it (a file restored from a backup
    next to the -wal of the copy it replaced)."""
    other = path.with_name("other.db")
    create_demo_library(str(other), recordings=20, seed=99, journal_mode="wal")
    _commit_and_die(other, "INSERT INTO config (key, value) VALUES ('other', 'library')")
    create_demo_library(str(path), recordings=40, seed=5, journal_mode="wal")
    shutil.move(str(other) + "-wal", str(path) + "-wal")
    for suffix in ("", "-shm"):
        Path(str(other) + suffix).unlink(missing_ok=True)
    return path


def _newer_wal_over_old_backup(path: Path, v10: Path, v11: Path) -> Path:
    """The library file restored from an older backup, and the -wal of the newer library it
    replaced left beside it: the frames were made on top of changes the old file lacks."""
    newer = path.with_name("newer.db")
    create_demo_library(str(newer), recordings=300, seed=3, journal_mode="wal")
    shutil.copy(newer, path)  # the backup
    conn = checker._open(newer)
    conn.execute("UPDATE transcripts SET summary = summary || ' v2' WHERE rowid % 3 = 0")
    conn.execute("DELETE FROM embeddings WHERE rowid % 2 = 0")
    conn.close()  # checkpointed into newer.db
    _commit_and_die(newer, "UPDATE transcripts SET full_text = full_text || ' v3' WHERE rowid % 5 = 0")
    shutil.move(str(newer) + "-wal", str(path) + "-wal")
    for suffix in ("", "-shm"):
        Path(str(newer) + suffix).unlink(missing_ok=True)
    return path


def _commit_and_die(path: Path, sql: str) -> None:
    code = ("import apsw, os, sys\nc = apsw.Connection(sys.argv[1])\n"
            "c.execute('PRAGMA wal_autocheckpoint=0')\nc.execute(sys.argv[2])\nos._exit(0)\n")
    subprocess.run([sys.executable, "-c", code, str(path), sql], check=True, timeout=60)


BAD: dict[str, tuple[Callable, dict[str, str]]] = {
    # name: (maker, {op: expected code}); ops not listed are not expected to fail
    "not a database (random bytes)": (_bytes_of(lambda d: os.urandom(3 * PAGE)), dict.fromkeys(ENGINE, "NOT_A_LIBRARY")),
    "not a database (text)": (_bytes_of(lambda d: b"meeting notes\n" * 100), dict.fromkeys(ENGINE, "NOT_A_LIBRARY")),
    "empty file": (_bytes_of(lambda d: b""), dict.fromkeys(ENGINE, "NOT_A_LIBRARY")),
    "truncated to half": (_bytes_of(lambda d: d[: len(d) // 2]), dict.fromkeys(ENGINE, "LIBRARY_CORRUPT")),
    "truncated inside a page": (_bytes_of(lambda d: d[: 3 * PAGE + 100]), dict.fromkeys(ENGINE, "LIBRARY_CORRUPT")),
    "header: magic string": (_bytes_of(_flip(range(0, 6))), dict.fromkeys(ENGINE, "NOT_A_LIBRARY")),
    "header: page size": (_bytes_of(_flip(range(16, 18), 0x0F)), dict.fromkeys(ENGINE, "NOT_A_LIBRARY")),
    "header: schema format": (_bytes_of(_flip(range(47, 48), 0x08)), dict.fromkeys(ENGINE, "LIBRARY_CORRUPT")),
    "header: database size": (_bytes_of(_flip(range(28, 30), 0x0F)), dict.fromkeys(ENGINE, "LIBRARY_CORRUPT")),
    # status and the preview only read what they show; the writers run quick_check first
    "flipped bytes inside a b-tree page": (_bytes_of(_scribble_btree_header), dict.fromkeys(WRITERS, "LIBRARY_CORRUPT")),
    "a directory": (_directory, dict.fromkeys(ENGINE, "NOT_A_LIBRARY")),
    "a missing path": (_missing, dict.fromkeys(ENGINE, "LIBRARY_NOT_FOUND")),
    "V9 library": (_versioned(9), dict.fromkeys(ENGINE, "LIBRARY_TOO_OLD")),
    "V12 library": (_versioned(12), dict.fromkeys(ENGINE, "LIBRARY_TOO_NEW")),
    "stray -wal of another library": (_stray_wal, dict.fromkeys(ENGINE, "LIBRARY_CORRUPT")),
    # status and the preview do not check integrity: see test_readers_leave_a_stale_wal_alone
    "stale -wal of a newer state": (_newer_wal_over_old_backup, dict.fromkeys(WRITERS, "LIBRARY_CORRUPT")),
}
READERS_MAY_CHANGE = {"stale -wal of a newer state"}


def files_of(folder: Path) -> dict[str, bytes | None]:
    """Every file below `folder` with its bytes (directories as None). A WAL library's -shm
    is SQLite's shared-memory index, rebuilt from the -wal by any reader: not content."""
    out = {}
    for p in sorted(folder.rglob("*")):
        if not p.name.endswith("-shm"):
            out[str(p.relative_to(folder))] = None if p.is_dir() else p.read_bytes()
    return out


def plain(message: str, library: Path) -> list[str]:
    bad = [w for w in ("Traceback", "apsw", "sqlite3", "Error(", 'File "', str(library.parent)) if w in message]
    return bad + ([] if len(message) > 20 else ["too short"])


def cli(verb: list[str], library: Path, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", *verb, "--library", str(library), "--json"],
                          capture_output=True, text=True, timeout=120, **kw)


def version_on_disk(path: Path) -> int | None:
    """What a reader finds (without changing anything), or None when it cannot say."""
    try:
        conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY, vfs="unix")
    except apsw.Error:
        return None
    try:
        return conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
    except apsw.Error:
        return None
    finally:
        conn.close()


def check_refusal(op: str, code: str, path: Path, folder: Path, *, through_cli: bool,
                  version: int | None | str = "on disk") -> None:
    before = files_of(folder)
    result = ENGINE[op](str(path))
    assert not result.success
    assert result.errors[0].code == code, (op, result.errors)
    assert not plain(result.errors[0].message, path), result.errors[0].message
    assert files_of(folder) == before, f"{op} changed the files"
    if version == "on disk" and path.is_file() and not Path(str(path) + "-wal").exists():
        version = version_on_disk(path)
    if version != "on disk":
        assert result.version == version, f"{op} reported version {result.version}, the file holds {version}"
    tally("bad-library runs (engine)")
    if through_cli:
        proc = cli(CLI_VERB[op], path)
        data = json.loads(proc.stdout)
        assert data["errors"][0]["code"] == code, (op, data)
        assert proc.returncode == DOCUMENTED_EXIT[code], (op, code, proc.returncode)
        assert not plain(data["errors"][0]["message"], path)
        assert files_of(folder) == before, f"CLI {op} changed the files"
        tally("bad-library runs (CLI, exit code checked)")


@pytest.mark.parametrize("case", list(BAD))
def test_bad_library(tmp_path: Path, v10: Path, v11: Path, case: str) -> None:
    make, expected = BAD[case]
    folder = tmp_path / "lib"
    folder.mkdir()
    path = make(folder / "library.db", v10, v11)
    for op in ENGINE:
        if op in expected:
            check_refusal(op, expected[op], path, folder, through_cli=op in ("migrate", "rollback"))
        elif case not in READERS_MAY_CHANGE:
            before = files_of(folder)
            ENGINE[op](str(path))  # reads only: whatever it says, it changes nothing
            assert files_of(folder) == before
    tally("bad libraries (distinct kinds)")


def test_stray_wal_is_left_alone_so_removing_it_recovers_the_library(tmp_path: Path, v10: Path, v11: Path) -> None:
    """The damage is in the stray -wal only: the engine must not copy it into the file."""
    path = _stray_wal(tmp_path / "library.db", v10, v11)
    for op in ENGINE:
        assert ENGINE[op](str(path)).errors[0].code == "LIBRARY_CORRUPT"
    Path(str(path) + "-wal").unlink()
    Path(str(path) + "-shm").unlink(missing_ok=True)
    assert checker.integrity(path) == []
    assert migrate(str(path)).success


@pytest.mark.parametrize("op", ["status", "preview"])
def test_readers_leave_a_stale_wal_alone(tmp_path: Path, v10: Path, v11: Path, op: str) -> None:
    folder = tmp_path / "lib"
    folder.mkdir()
    path = _newer_wal_over_old_backup(folder / "library.db", v10, v11)
    before = files_of(folder)
    ENGINE[op](str(path))
    assert files_of(folder) == before


# ---- stale -wal files that are the library's own or garbage: recovered, nothing lost ---

@pytest.mark.parametrize("op", WRITERS)
def test_hot_wal_of_a_crashed_writer_is_kept(tmp_path: Path, op: str) -> None:
    """A -wal holding a commit of a writer that died before its checkpoint is part of the
    library: every operation sees it, and nothing of it is lost."""
    path = tmp_path / "library.db"
    create_demo_library(str(path), recordings=40, seed=5, journal_mode="wal")
    if op == "rollback":
        assert migrate(str(path)).success
    _commit_and_die(path, "INSERT INTO config (key, value) VALUES ('committed', 'before the crash')")
    assert os.path.getsize(str(path) + "-wal") > 0
    result = ENGINE[op](str(path))
    if op == "rollback":  # the row came after the upgrade: restoring would lose it
        assert [e.code for e in result.errors] == ["WOULD_LOSE_DATA"]
        assert "config" in result.would_lose
    else:
        assert result.success, result.errors
    conn = checker._open(path)
    kept = conn.execute("SELECT value FROM config WHERE key = 'committed'").fetchall()
    conn.close()
    assert kept == [("before the crash",)]
    assert checker.integrity(path) == []
    tally("stale -wal files recovered")


@pytest.mark.parametrize("mode", ["wal", "delete"])
@pytest.mark.parametrize("junk", ["garbage", "zeros"])
def test_junk_wal_beside_the_library_is_ignored(tmp_path: Path, mode: str, junk: str) -> None:
    path = tmp_path / "library.db"
    create_demo_library(str(path), recordings=40, seed=5, journal_mode=mode)
    original = checker.dump(path)
    Path(str(path) + "-wal").write_bytes(os.urandom(5000) if junk == "garbage" else bytes(PAGE))
    assert status(str(path)).success
    assert checker.dump(path) == original
    result = migrate(str(path))
    assert result.success, result.errors
    assert checker.integrity(path) == []
    tally("stale -wal files recovered")


# ---- held by another process past the busy timeout -----------------------------------

HOLD = """
import sys, apsw
conn = apsw.Connection(sys.argv[1])
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
"""


@pytest.mark.parametrize("mode", ["wal", "delete"])
def test_held_by_another_process_past_the_busy_timeout(tmp_path: Path, mode: str) -> None:
    folder = tmp_path / "lib"
    folder.mkdir()
    v10_path, v11_path = folder / "v10.db", folder / "v11.db"
    for path in (v10_path, v11_path):
        create_demo_library(str(path), recordings=60, seed=5, journal_mode=mode)
    assert migrate(str(v11_path)).success
    for path, ops in ((v10_path, ("migrate", "cleanup")), (v11_path, ("rollback", "cleanup"))):
        holder = subprocess.Popen([sys.executable, "-c", HOLD, str(path)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert holder.stdout.readline().strip() == "locked"
            for op in ops:
                started = time.monotonic()
                # each refusal waits out the busy timeout: the CLI once per library and mode
                check_refusal(op, "IN_PROGRESS", path, folder, through_cli=op == ops[0] and mode == "wal")
                assert time.monotonic() - started < 10
            assert status(str(path)).success  # reading is not blocked
        finally:
            holder.kill()  # a crash: the OS drops the lock with the process
            holder.wait()
        assert checker.integrity(path) == []
        assert ENGINE[ops[0]](str(path)).success  # no stale lock
    tally("bad libraries (distinct kinds)")


# ---- snapshots at rollback ---------------------------------------------------------------

def _pre_upgrade(path: Path) -> Path:
    manifest = snapshots.latest(str(path), snapshots.PRE_UPGRADE)
    return snapshots.file_for(str(path), manifest.id)


SNAPSHOT_DAMAGE = {
    "snapshot file missing": (lambda f: f.unlink(), "NO_SNAPSHOT"),
    "manifest missing": (lambda f: f.with_suffix(".json").unlink(), "NO_SNAPSHOT"),
    "manifest not JSON": (lambda f: f.with_suffix(".json").write_text("{"), "NO_SNAPSHOT"),
    "snapshot truncated": (lambda f: f.write_bytes(f.read_bytes()[:PAGE * 2]), "SNAPSHOT_INVALID"),
    "snapshot byte flipped": (lambda f: f.write_bytes(bytes(_flip(range(PAGE * 3, PAGE * 3 + 1))(
        bytearray(f.read_bytes())))), "SNAPSHOT_INVALID"),
    "snapshot emptied": (lambda f: f.write_bytes(b""), "SNAPSHOT_INVALID"),
    "snapshot replaced by another valid library": (None, "SNAPSHOT_INVALID"),
}


@pytest.mark.parametrize("damage", list(SNAPSHOT_DAMAGE))
def test_missing_or_corrupt_snapshot_at_rollback(tmp_path: Path, v11: Path, damage: str) -> None:
    folder = tmp_path / "lib"
    folder.mkdir()
    path = checker.copy_library(v11, folder / "library.db")
    harm, code = SNAPSHOT_DAMAGE[damage]
    snap = _pre_upgrade(path)
    if harm is None:
        other = folder / "other.db"
        create_demo_library(str(other), recordings=10, seed=3, journal_mode="delete")
        shutil.move(str(other), str(snap))
    else:
        harm(snap)
    check_refusal("rollback", code, path, folder, through_cli=True)
    assert checker.disk_version(path) == 11
    tally("bad libraries (distinct kinds)")


# ---- read-only, too little disk: real filesystems ---------------------------------------

def _mount(where: Path, options: str) -> bool:
    where.mkdir(exist_ok=True)
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)],
                          capture_output=True).returncode == 0


@pytest.fixture
def tmpfs(tmp_path: Path):
    mounts = []

    def make(name: str, size: str) -> Path:
        where = tmp_path / name
        if not _mount(where, f"size={size}"):
            pytest.skip("mounting a tmpfs needs root")
        mounts.append(where)
        return where
    yield make
    for where in mounts:
        subprocess.run(["umount", "-l", str(where)], check=False)


def test_read_only_filesystem(tmpfs, v10: Path, v11: Path) -> None:
    disk = tmpfs("ro", "64m")
    checker.copy_library(v10, disk / "v10.db")
    checker.copy_library(v11, disk / "library.db")
    if subprocess.run(["mount", "-o", "remount,ro", str(disk)], capture_output=True).returncode:
        pytest.skip("cannot remount read-only")
    for op in WRITERS:
        check_refusal(op, "READ_ONLY", disk / ("v10.db" if op != "rollback" else "library.db"), disk,
                      through_cli=True)
    assert status(str(disk / "library.db")).success
    tally("bad libraries (distinct kinds)")


AS_NOBODY = """
import os, sys
import json, app.cli  # everything the CLI needs is loaded before the privileges go
os.setgroups([])
os.setgid(65534)
os.setuid(65534)
sys.exit(app.cli.main(sys.argv[1:]))
"""


def test_read_only_file_for_an_ordinary_user(v10: Path, v11: Path) -> None:
    """chmod does not stop root: run the CLI as `nobody` on 0444 libraries."""
    if os.geteuid() != 0:
        pytest.skip("needs root to switch to another user")
    folder = Path(tempfile.mkdtemp(prefix="ro-user-"))
    try:
        state = folder / "state"
        state.mkdir()
        for name, src in (("v10.db", v10), ("library.db", v11)):
            checker.copy_library(src, folder / name)
        for p in folder.rglob("*"):
            os.chmod(p, 0o777 if p.is_dir() else 0o444)
        os.chmod(folder, 0o777)  # the folder is writable: only the file is read-only
        env = {**os.environ, "XDG_STATE_HOME": str(state), "XDG_DATA_HOME": str(state)}
        before = files_of(folder)
        for op, name, version in (("migrate", "v10.db", 10), ("cleanup", "v10.db", 10),
                                  ("rollback", "library.db", 11)):
            proc = subprocess.run([sys.executable, "-c", AS_NOBODY, *CLI_VERB[op], "--library",
                                   str(folder / name), "--json"], capture_output=True, text=True,
                                  env=env, timeout=120)
            data = json.loads(proc.stdout)
            assert data["errors"][0]["code"] == "READ_ONLY", (op, data, proc.stderr)
            assert proc.returncode == DOCUMENTED_EXIT["READ_ONLY"]
            assert data["version"] == version, data
            tally("bad-library runs (CLI, exit code checked)")
        now = files_of(folder)
        assert {k: v for k, v in now.items() if not k.startswith("state")} == \
            {k: v for k, v in before.items() if not k.startswith("state")}
        tally("bad libraries (distinct kinds)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("op", WRITERS)
def test_too_little_disk_for_the_snapshot(tmp_path: Path, tmpfs, op: str) -> None:
    big = tmp_path / "big.db"
    create_demo_library(str(big), recordings=3000, seed=5, journal_mode="delete")  # ~8 MB
    if op == "rollback":
        assert migrate(str(big)).success
    # room for the library and its snapshots, and 3 MB: not for another copy
    used = sum(p.stat().st_size for p in tmp_path.rglob("*") if p.is_file())
    disk = tmpfs("small", f"{used // 1024 + 3 * 1024}k")
    path = checker.copy_library(big, disk / "library.db")
    check_refusal(op, "DISK_FULL", path, disk, through_cli=True)
    result = ENGINE[op](str(path))
    assert "MB" in result.errors[0].message
    tally("bad libraries (distinct kinds)")
