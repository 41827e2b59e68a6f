"""The packaging recipe and the system-library check, fast (nothing here builds the bundle;
`make package-test` does, and runs the built app).

- The PyInstaller spec is executed against stand-ins for PyInstaller's API: it must collect
  `app.sql` and `app.frontend` as package data (found through the import system, from the
  staged project), make them importable, analyse the staged project, and build one folder.
- packaging/check_system.py passes on this machine for what CI needs (offscreen Qt), and,
  as negative controls, reports a library a file links to but the machine lacks, with the
  right Debian package, on a tiny .so built here with gcc.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import types
from importlib import resources
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
SPEC = PACKAGING / "meeting-library-upgrade.spec"
CHECK = PACKAGING / "check_system.py"
DATA = {"app.sql": {"v10.sql", "v11-knowledge-captures.sql", "v11-indexes.sql"},
        "app.frontend": {"index.html", "style.css", "dom.js", "format.js", "words.js", "cleanup.js", "backups.js",
                         "support.js", "progress.js", "dialogs.js", "app.js"}}


# ---- the spec ----------------------------------------------------------------------------

class Recorder:
    """Stand-ins for the names PyInstaller gives a spec; each call is recorded."""

    def __init__(self) -> None:
        self.calls: dict[str, list] = {}

    def _record(self, name: str, result):
        def call(*args, **kwargs):
            self.calls.setdefault(name, []).append((args, kwargs))
            return result(*args, **kwargs) if callable(result) else result
        return call

    @staticmethod
    def collect_data_files(package: str, *args, **kwargs) -> list[tuple[str, str]]:
        # What PyInstaller returns: (source file, destination folder) for every non-.py file.
        dest = package.replace(".", "/")
        return [(str(f), dest) for f in resources.files(package).iterdir()
                if f.is_file() and not f.name.endswith((".py", ".pyc"))]

    def namespace(self, stage: Path) -> tuple[dict, dict]:
        hooks = types.ModuleType("PyInstaller.utils.hooks")
        hooks.collect_data_files = self._record("collect_data_files", self.collect_data_files)
        hooks.collect_submodules = self._record("collect_submodules", lambda name, *a, **k: [name, name + ".cli"])
        modules = {"PyInstaller": types.ModuleType("PyInstaller"),
                   "PyInstaller.utils": types.ModuleType("PyInstaller.utils"),
                   "PyInstaller.utils.hooks": hooks}
        analysis = types.SimpleNamespace(pure=["pure"], scripts=["scripts"], binaries=["bin"], datas=["data"])
        names = {"__name__": "__main__", "__file__": str(SPEC), "SPECPATH": str(PACKAGING),
                 "Analysis": self._record("Analysis", analysis), "PYZ": self._record("PYZ", "pyz"),
                 "EXE": self._record("EXE", "exe"), "COLLECT": self._record("COLLECT", "coll")}
        return modules, names


@pytest.fixture()
def spec_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Recorder:
    stage = tmp_path / "stage"
    (stage / "app" / "sql").mkdir(parents=True)
    (stage / "app" / "sql" / "__init__.py").write_text("")
    recorder = Recorder()
    modules, names = recorder.namespace(stage)
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(sys, "path", list(sys.path))  # the spec puts the stage first
    monkeypatch.setenv("APP_STAGE", str(stage))
    exec(compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec"), names)
    recorder.stage = stage  # type: ignore[attr-defined]
    return recorder


def test_spec_collects_the_schema_and_the_page_as_package_data(spec_run: Recorder) -> None:
    collected = [args[0] for args, _ in spec_run.calls["collect_data_files"]]
    assert set(DATA) <= set(collected)

    ((_, analysis),) = spec_run.calls["Analysis"]
    datas = analysis["datas"]
    for package, names in DATA.items():
        dest = package.replace(".", "/")
        assert {Path(src).name for src, d in datas if d == dest} >= names, package
    # Importable in the bundle, so importlib.resources.files("app.sql") works frozen.
    assert set(DATA) <= set(analysis["hiddenimports"])
    assert "app" in [args[0] for args, _ in spec_run.calls["collect_submodules"]]


def test_spec_analyses_the_staged_project_into_one_folder(spec_run: Recorder) -> None:
    ((scripts,), analysis) = spec_run.calls["Analysis"][0]
    assert analysis["pathex"] == [str(spec_run.stage)]  # type: ignore[attr-defined]
    assert [Path(s) for s in scripts] == [PACKAGING / "entry.py"]
    assert {"PyQt5", "PySide6", "pytest", "PyQt6.QtQml", "PyQt6.QtQuick"} <= set(analysis["excludes"])

    ((_, exe),) = spec_run.calls["EXE"]
    assert exe["exclude_binaries"] is True and exe["name"] == "meeting-library-upgrade"
    ((_, collect),) = spec_run.calls["COLLECT"]
    assert collect["name"] == "meeting-library-upgrade"


def test_the_entry_script_runs_app_cli_main() -> None:
    source = (PACKAGING / "entry.py").read_text(encoding="utf-8")
    assert "from app.cli import main" in source and "raise SystemExit(main())" in source
    run = subprocess.run([sys.executable, str(PACKAGING / "entry.py"), "--version"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and re.search(r" \d+\.\d+\.\d+$", run.stdout.strip()), run


def test_spec_refuses_to_run_without_a_staged_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = Recorder()
    modules, names = recorder.namespace(tmp_path)
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setenv("APP_STAGE", str(tmp_path / "nothing"))
    with pytest.raises(SystemExit, match="packaging/build.py"):
        exec(compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec"), names)
    assert "Analysis" not in recorder.calls


# ---- the system-library check ------------------------------------------------------------

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux") or shutil.which("ldd") is None,
                                reason="ldd-based check: Linux only")


def check(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(CHECK), *args], capture_output=True, text=True, timeout=30,
                          env=env if env is not None else dict(os.environ))


def offscreen_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "XDG_SESSION_TYPE")}
    return {**env, "QT_QPA_PLATFORM": "offscreen"}


@linux_only
def test_check_system_passes_here_for_offscreen_qt() -> None:
    # How long it takes is not asserted here (a loaded machine would fail it): speed is measured, not tested.
    run = check(env=offscreen_env())
    assert run.returncode == 0, run.stderr
    assert run.stdout == ""  # the apt-get line appears only when something is missing
    assert "all there" in run.stderr


@pytest.fixture(scope="module")
def gcc() -> str:
    path = shutil.which("gcc") or shutil.which("cc")
    if path is None:
        pytest.skip("no C compiler to build a fake library")
    return path


def fake_library(gcc: str, folder: Path, needed: str) -> Path:
    """A tiny .so whose DT_NEEDED names `needed`, which only a stub (not left on any
    search path) provided at link time."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "x.c"
    source.write_text("int fake_symbol(void) { return 0; }\n")
    stub = folder / "stub" / "libstub.so"
    stub.parent.mkdir(exist_ok=True)
    subprocess.run([gcc, "-shared", "-fPIC", "-o", str(stub), f"-Wl,-soname,{needed}", str(source)],
                   check=True, capture_output=True, timeout=60)
    fake = folder / "libfake.so"
    subprocess.run([gcc, "-shared", "-fPIC", "-o", str(fake), str(source), "-Wl,--no-as-needed", str(stub)],
                   check=True, capture_output=True, timeout=60)
    shutil.rmtree(stub.parent)
    return fake


def known_but_absent_soname() -> tuple[str, str] | None:
    """A soname from the check's own table that this machine does not have, if any."""
    sys.path.insert(0, str(PACKAGING))
    try:
        import check_system
    finally:
        sys.path.remove(str(PACKAGING))
    ldconfig = shutil.which("ldconfig") or "/sbin/ldconfig"
    try:
        cache = subprocess.run([ldconfig, "-p"], capture_output=True, text=True, timeout=10).stdout
    except OSError:
        return None
    present = {line.split()[0] for line in cache.splitlines()[1:] if line.strip()}
    preferred = ["libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libwayland-cursor.so.0", "libxcb-cursor.so.0"]
    for soname in preferred + sorted(check_system.PACKAGES):
        if soname not in present and check_system.PACKAGES.get(soname):
            return soname, check_system.PACKAGES[soname]
    return None


@linux_only
def test_check_system_reports_a_missing_library_and_its_debian_package(gcc: str, tmp_path: Path) -> None:
    found = known_but_absent_soname()
    if found is None:
        pytest.skip("this machine has every library the check knows about")
    soname, package = found
    fake = fake_library(gcc, tmp_path, soname)

    run = check("--files", str(fake))
    assert run.returncode == 1, run
    assert run.stdout == f"sudo apt-get install {package}\n"
    assert soname in run.stderr and "error" in run.stderr and str(fake) in run.stderr

    warned = check("--warn", "--files", str(fake))
    assert warned.returncode == 0 and warned.stdout == run.stdout and "warning" in warned.stderr


@linux_only
def test_check_system_names_an_unknown_missing_library(gcc: str, tmp_path: Path) -> None:
    fake = fake_library(gcc, tmp_path, "libnotthere.so.1")
    run = check("--files", str(fake))
    assert run.returncode == 1, run
    assert "libnotthere.so.1" in run.stderr and "apt-file search libnotthere.so.1" in run.stderr
    assert "libnotthere" not in run.stdout  # never guesses a package name


def test_check_system_checks_nothing_for_the_command_line_or_without_ldd(tmp_path: Path) -> None:
    for app_args in (["status", "--library", "x.db"], ["--version"], ["--gui", "gtk"]):
        run = check("--", *app_args, env={**os.environ, "DISPLAY": ":0"})
        assert run.returncode == 0 and run.stdout == "" and "nothing to check" in run.stderr, (app_args, run)
    run = check(env={**os.environ, "PATH": str(tmp_path)})  # no ldd on PATH
    assert run.returncode == 0 and run.stdout == "", run
    assert "ldd" in run.stderr or "not Linux" in run.stderr


def test_check_system_knows_when_there_is_no_font_at_all(tmp_path: Path) -> None:
    sys.path.insert(0, str(PACKAGING))
    try:
        import check_system
    finally:
        sys.path.remove(str(PACKAGING))
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    assert not check_system.has_a_font([str(tmp_path / "empty"), str(tmp_path / "absent")])
    (tmp_path / "empty" / "sub" / "Some.TTF").write_bytes(b"")
    assert check_system.has_a_font([str(tmp_path / "absent"), str(tmp_path / "empty")])
    assert check_system.package_for(check_system.NO_FONT) == "fonts-dejavu-core"
