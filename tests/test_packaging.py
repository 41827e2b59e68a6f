"""The schema files ship inside the package and are found from an installed wheel,
not through a path relative to the source tree (the original lost them in its build)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_carries_the_sql_files_and_finds_them_when_installed(tmp_path: Path) -> None:
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path / "dist"), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    (wheel,) = (tmp_path / "dist").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for name in ("v10.sql", "v11-knowledge-captures.sql", "v11-indexes.sql"):
        assert f"app/sql/{name}" in names

    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    # The V11 step's spec is read by SQLite from the installed files: its objects are there.
    probe = ("import app.engine.schema as s, sys; from app.engine.steps import v11; "
             "print(s.__file__); print(len(s.read(v11.TABLES_FILE)) > 1000); "
             "sp = v11.spec(); print(len(sp.tables) + len(sp.columns) + len(sp.indexes))")
    run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path,
                         env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}, timeout=60)
    assert run.returncode == 0, run.stderr
    module_file, has_schema, objects = run.stdout.split()
    assert module_file.startswith(str(site))  # the installed copy, not the source tree
    assert has_schema == "True" and int(objects) > 30
