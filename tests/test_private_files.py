"""Nothing the app makes beside a private library, nor its log, is readable by another
local user, whatever the umask: checked with real files and a real second user (`nobody`,
the test switches to it in a child process; root only).

Negative control: a library that others may read gets snapshots others may read (the
copies are as private as the library, not more), so the check can tell the two apart.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.engine.steps.v11 import split_pass
from app.samples.demo import create_demo_library

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to act as another user")

NOBODY = 65534
READ_AS_NOBODY = """
import os, sys
os.setgroups([]); os.setgid(65534); os.setuid(65534)
readable = []
for path in sys.argv[1:]:
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            open(path, "rb").read(1)
        readable.append(path)
    except PermissionError:
        pass
print("\\n".join(readable))
"""


def readable_by_nobody(paths: list[Path]) -> list[str]:
    done = subprocess.run([sys.executable, "-c", READ_AS_NOBODY, *map(str, paths)],
                          capture_output=True, text=True, timeout=60, check=True)
    return [line for line in done.stdout.splitlines() if line]


def _app(args: list[str], state: Path, umask: int) -> None:
    done = subprocess.run([sys.executable, "-m", "app", *args, "--json"], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "XDG_STATE_HOME": str(state),
                                                "XDG_CACHE_HOME": str(state / "cache")},
                          preexec_fn=lambda: os.umask(umask))
    assert done.returncode == 0, done.stdout


def _made(folder: Path, library: Path, state: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p != library and p != state and not p.name.startswith(library.name + "-")]


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o077])
def test_snapshots_and_log_of_a_private_library_stay_private(shared: Path, umask: int) -> None:
    folder = shared  # others may look inside: only the files' own modes protect them
    library = folder / "library.db"
    create_demo_library(str(library), recordings=120, journal_mode="delete")
    os.chmod(library, 0o600)
    state = folder / "state"
    for args in (["migrate", "--library", str(library)], ["rollback", "--library", str(library)],
                 ["cleanup", "--library", str(library)]):
        _app(args, state, umask)
    made = _made(folder, library, state)
    assert any(p.suffix == ".sqlite" for p in made) and any(p.name.startswith("upgrade.log") for p in made)
    assert any(p.name == "verified.json" for p in made)  # the hashes already checked: the user's alone
    assert readable_by_nobody([library]) == []
    assert readable_by_nobody(made) == []


def test_a_library_others_may_read_gets_copies_others_may_read(shared: Path) -> None:
    """The negative control: the same check sees readable copies when they are."""
    tmp_path = shared
    library = tmp_path / "library.db"
    create_demo_library(str(library), recordings=60, journal_mode="delete")
    os.chmod(library, 0o644)
    _app(["migrate", "--library", str(library)], tmp_path / "state", 0o022)
    copies = list((tmp_path / "library.db.snapshots").iterdir())
    assert copies and readable_by_nobody(copies) == [str(p) for p in copies]


def test_the_helpers_scratch_file_is_private_from_its_first_byte(shared: Path) -> None:
    tmp_path = shared
    library = tmp_path / "library.db"
    create_demo_library(str(library), recordings=60, journal_mode="wal")
    os.chmod(library, 0o600)
    old = os.umask(0)
    try:
        helper = split_pass.Helper(tmp_path / "library.db.snapshots")
        assert helper.start(str(library), split_pass.undecodable.Raw(b"r"))
    finally:
        os.umask(old)
    try:
        assert helper.scratch is not None and helper.scratch.exists()
        assert readable_by_nobody([helper.scratch, helper.folder]) == []
    finally:
        helper.close()
