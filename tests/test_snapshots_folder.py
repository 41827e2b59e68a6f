"""The snapshots folder is the app's own: found through the library's real path, refused
when it is a link, a file or someone else's (nothing written or deleted there), and a
folder that cannot be written is said to be that, not a broken library."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app.engine import snapshots
from app.engine.migrate import migrate
from app.engine.rollback import rollback
from app.engine.steps.v11 import split_pass
from app.samples.demo import create_demo_library
from tests.reliability import checker


@pytest.fixture
def library(tmp_path: Path) -> Path:
    path = tmp_path / "library.db"
    create_demo_library(str(path), recordings=60, journal_mode="delete")
    return path


def _cli(*args: str, user: int | None = None) -> tuple[int, dict]:
    prefix = [] if user is None else ["-c", AS_USER.format(uid=user)]
    cmd = [sys.executable, *prefix, *(["-m", "app"] if user is None else []), *args, "--json"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    return done.returncode, json.loads(done.stdout)


AS_USER = """
import os, sys
import importlib.readers  # what reading package data imports lazily: this Python is root's
import app.cli
os.setgroups([]); os.setgid({uid}); os.setuid({uid})
sys.exit(app.cli.main(sys.argv[1:]))
"""


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


@pytest.mark.parametrize("kind", ["link", "file"])
def test_a_snapshots_path_that_is_not_a_folder_of_ours_is_refused(library: Path, tmp_path: Path, kind: str) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "thesis-draft.sqlite").write_bytes(b"mine")
    (elsewhere / "upload.tmp").write_bytes(b"also mine")
    folder = snapshots.snapshot_dir(str(library))
    if kind == "link":
        folder.symlink_to(elsewhere, target_is_directory=True)
    else:
        folder.write_bytes(b"a file of the user's")
    before, theirs = library.read_bytes(), _files(elsewhere)
    code, out = _cli("migrate", "--library", str(library))
    assert code == 1 and out["errors"][0]["code"] == "SNAPSHOTS_UNSAFE"
    assert str(tmp_path) not in json.dumps(out)
    assert library.read_bytes() == before and _files(elsewhere) == theirs
    assert folder.is_symlink() if kind == "link" else folder.read_bytes() == b"a file of the user's"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to make a folder another user's")
def test_a_snapshots_folder_of_another_user_is_refused(library: Path) -> None:
    folder = snapshots.snapshot_dir(str(library))
    folder.mkdir()
    (folder / "pre-upgrade-x.sqlite.tmp").write_bytes(b"not ours to delete")
    os.chown(folder, 65534, 65534)
    result = migrate(str(library))
    assert [e.code for e in result.errors] == ["SNAPSHOTS_UNSAFE"]
    assert (folder / "pre-upgrade-x.sqlite.tmp").read_bytes() == b"not ours to delete"


def test_a_link_to_the_library_shares_its_snapshots(library: Path, tmp_path: Path) -> None:
    link = tmp_path / "public" / "link.db"
    link.parent.mkdir()
    link.symlink_to(library)
    original = checker.dump(library)
    assert migrate(str(link)).success
    assert not (link.parent / "link.db.snapshots").exists()
    assert any(snapshots.snapshot_dir(str(library)).glob("pre-upgrade-*.sqlite"))
    back = rollback(str(library))  # through the real path: the same way back
    assert back.success, back.errors
    assert checker.dump(library) == original


def test_a_library_named_like_a_uri_works_with_the_helper(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    create_demo_library("file:lib.db", recordings=300, journal_mode="wal")
    monkeypatch.setattr(split_pass, "MIN_RECORDINGS", 0)
    peaks = len(split_pass.peaks_mb)
    result = migrate("file:lib.db")
    assert result.success, result.errors
    assert len(split_pass.peaks_mb) == peaks + 1, "the helper did not run"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run as an ordinary user")
def test_a_snapshots_folder_that_cannot_be_written_is_read_only(shared: Path) -> None:
    library = shared / "library.db"
    create_demo_library(str(library), recordings=40, journal_mode="delete")
    folder = snapshots.snapshot_dir(str(library))
    folder.mkdir()
    for path in (shared, library, folder):
        os.chown(path, 65534, 65534)
    os.chmod(folder, 0o555)
    before = library.read_bytes()
    code, out = _cli("migrate", "--library", str(library), user=65534)
    assert code == 1 and out["errors"][0]["code"] == "READ_ONLY", out
    assert "snapshots folder" in out["errors"][0]["message"]
    assert library.read_bytes() == before


def test_a_manifest_with_an_id_the_app_never_makes_is_no_snapshot(library: Path) -> None:
    assert migrate(str(library)).success
    folder = snapshots.snapshot_dir(str(library))
    (real,) = folder.glob("pre-upgrade-*.json")
    data = json.loads(real.read_text())
    data["id"] = "pre-upgrade-Z"  # sorted by the text after the last '-', it would have won
    (folder / "pre-upgrade-Z.json").write_text(json.dumps(data))
    shutil.copy(folder / f"{real.stem}.sqlite", folder / "pre-upgrade-Z.sqlite")
    assert [m.id for m in snapshots.list_manifests(str(library))] == [real.stem]
    assert snapshots.latest(str(library), snapshots.PRE_UPGRADE).id == real.stem
