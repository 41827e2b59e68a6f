"""Build the one-folder app with PyInstaller: dist/meeting-library-upgrade/.

    .venv/bin/python packaging/build.py          (what `make package` runs)

1. The project is installed, not editable, into build/pyinstaller/stage/ (pip, from a
   copy of this source tree, no dependencies): the bundle then holds exactly what the wheel ships,
   `app.sql` and `app.frontend` included, as real packages. (Analysed through the
   editable install instead, PyInstaller cannot see `app.sql`/`app.frontend`: setuptools
   maps them with an import hook PyInstaller does not follow.)
2. PyInstaller runs packaging/meeting-library-upgrade.spec on it, with its work files in
   build/pyinstaller/ and the result in dist/.
3. It prints the time taken and the size of the folder, and a note when the build machine
   lacks a system library the desktop window links to (PyInstaller bundles the ones it
   finds; a missing one must then be on the machine that runs the bundle).

Needs PyInstaller (packaging/requirements.txt; `make package` installs it). Stdlib only
otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAME = "meeting-library-upgrade"
SPEC = ROOT / "packaging" / f"{NAME}.spec"
WORK = ROOT / "build" / "pyinstaller"
STAGE = WORK / "stage"
DIST = ROOT / "dist"
BUNDLE = DIST / NAME
EXECUTABLE = BUNDLE / NAME


def folder_size(path: Path) -> int:
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def stage_project() -> None:
    """Install this source tree (no deps) into STAGE: a clean copy of what the wheel holds.

    pip builds from a copy of the sources in the work folder, so setuptools' own build/lib
    and *.egg-info in the source tree (which `make test` uses too) are left alone."""
    source = WORK / "src"
    for folder in (STAGE, source):
        if folder.exists():
            shutil.rmtree(folder)
    STAGE.mkdir(parents=True)
    source.mkdir(parents=True)
    shutil.copy2(ROOT / "pyproject.toml", source)
    for name in ("app", "sql", "frontend"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--no-deps", "--no-build-isolation", "--no-compile", "--target", str(STAGE), str(source)],
        check=True, cwd=WORK)
    for package, files in (("sql", "*.sql"), ("frontend", "index.html")):
        if not list((STAGE / "app" / package).glob(files)):
            raise SystemExit(f"build: the staged project has no app/{package}/{files}; "
                             "check [tool.setuptools] in pyproject.toml")


def desktop_libraries_note() -> None:
    """PyInstaller copies the system libraries it finds into the bundle; one missing on the
    build machine (see check_system.py) must then be on every machine that runs the bundle."""
    check = subprocess.run([sys.executable, str(ROOT / "packaging" / "check_system.py"), "--mode", "desktop",
                            "--warn", "--quiet"], capture_output=True, text=True, timeout=60)
    install = check.stdout.strip()
    if install:
        print("build: note: this machine lacks system libraries the desktop window links to, so the "
              "bundle will not carry them and needs them on the machine that runs it:\n"
              + "\n".join(line for line in check.stderr.splitlines() if line.startswith("  "))
              + f"\nFor a bundle that carries them, first: {install}", file=sys.stderr)


def run_pyinstaller() -> None:
    env = dict(os.environ, APP_STAGE=str(STAGE))
    # cwd = the work folder: with `python -m`, the cwd is on sys.path, and the source tree's
    # own app/ (which has no app/sql) must not shadow the staged copy.
    subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
         "--distpath", str(DIST), "--workpath", str(WORK), str(SPEC)],
        check=True, cwd=WORK, env=env)


def main() -> int:
    try:
        import PyInstaller  # noqa: F401
    except ImportError:
        print("build: PyInstaller is not installed: pip install -r packaging/requirements.txt",
              file=sys.stderr)
        return 2
    started = time.monotonic()
    WORK.mkdir(parents=True, exist_ok=True)
    desktop_libraries_note()
    stage_project()
    run_pyinstaller()
    if not EXECUTABLE.is_file():
        print(f"build: PyInstaller finished but {EXECUTABLE} is missing", file=sys.stderr)
        return 1
    seconds = time.monotonic() - started
    print(f"Built {EXECUTABLE.relative_to(ROOT)} in {seconds:.0f} s; "
          f"the folder holds {folder_size(BUNDLE) / 2**20:.0f} MiB.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
