"""Sanitisation fuzz: every error path, with library paths holding spaces, unicode, the home
directory, Windows drive and UNC forms, `file://` URIs and %-encoded segments. No message
that reaches the window (results, progress events) or that `--json` prints contains the
path, a folder of it, or the home directory.

The folder names are drawn by hypothesis (any unicode but "/" and NUL), each carrying a
marker so a leak is found even when the redaction removed only part of it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.engine import library as enginelib
from app.engine import snapshots
from app.engine.cleanup import preview_cleanup, run_cleanup
from app.samples.demo import create_demo_library
from app.engine.migrate import migrate
from app.engine.progress import ProgressRegistry
from app.engine.rollback import rollback
from app.engine.status import status
from app.engine.transaction import process_lock
from tests.conftest import set_version
from tests.reliability import checker
from tests.reliability.conftest import FULL
from tests.reliability.faultvfs import Fault, FaultVFS
from tests.reliability.scenarios import tally

pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")

MARK = "Qz"  # starts every generated folder name: a leak of any part of it shows

FORMS: dict[str, Callable[[Path, str], str]] = {
    # form: (base folder, folder name) -> the library path as the user gives it
    "spaces": lambda b, s: str(b / f"My {s} Folder" / "Team library.db"),
    "unicode": lambda b, s: str(b / f"Zoë {s} 秘密" / "bibliothèque ✓.db"),
    "home": lambda b, s: str(Path.home() / f".reliability-{uuid.uuid4().hex[:8]}" / s / "library.db"),
    "windows drive": lambda b, s: f"C:\\Users\\{s}\\AppData\\Roaming\\library.db",
    "windows drive, slashes": lambda b, s: f"C:/Users/{s}/My Library.db",
    "UNC": lambda b, s: f"\\\\fileserver\\{s}\\team lib.db",
    "file URI": lambda b, s: f"file://{b}/{s}/library.db",
    "%-encoded": lambda b, s: str(b / quote(f"{s} docs") / "lib%20rary.db"),
}


def on_disk(cwd: Path, given: str) -> Path:
    """Where a path as given lands on this system (all relative forms resolve in `cwd`)."""
    return cwd / given if not os.path.isabs(given) else Path(given)


def needles(given: str, segment: str, base: Path) -> set[str]:
    found = {given, os.path.dirname(given), segment, quote(segment), str(base), str(Path.home()),
             given.replace("\\", "/"), quote(given)}
    found |= {part for part in segment.split() if len(part) >= 3}
    return {n for n in found if len(n) >= 3 and n not in ("/", "<path>")}


# ---- error paths: (setup(path) -> None, run(path) -> result) -----------------------------

def _copy(template: Path):
    def setup(path: Path) -> None:
        checker.copy_library(template, path)
    return setup


def _write(data: bytes):
    def setup(path: Path) -> None:
        path.write_bytes(data)
    return setup


def _versioned(template: Path, version: int):
    def setup(path: Path) -> None:
        checker.copy_library(template, path)
        set_version(path, version)
    return setup


def _upgraded(template11: Path, harm: Callable[[Path], None] | None = None):
    def setup(path: Path) -> None:
        checker.copy_library(template11, path)
        if harm:
            harm(path)
    return setup


def _no_snapshot(path: Path) -> None:
    shutil.rmtree(snapshots.snapshot_dir(str(path)))


def _bad_snapshot(path: Path) -> None:
    m = snapshots.latest(str(path), snapshots.PRE_UPGRADE)
    f = snapshots.file_for(str(path), m.id)
    f.write_bytes(f.read_bytes()[:8192])


def _user_change(path: Path) -> None:
    conn = checker._open(path)
    conn.execute("UPDATE action_items SET status = 'completed' WHERE rowid = 1")
    conn.close()


def _held(run):
    def go(path: str, registry: ProgressRegistry):
        with process_lock(path):
            return run(path, registry=registry)
    return go


def _faulted(run, n: int, error: str):
    def go(path: str, registry: ProgressRegistry):
        with FaultVFS(Fault(n=n, error=error)):
            return run(path, registry=registry)
    return go


def _internal(run, secret_path: str):
    def go(path: str, registry: ProgressRegistry):
        real = enginelib.inspect

        def boom(*_a, **_k):
            raise RuntimeError(f"cannot read {secret_path}: boom")  # a bug with the path in it
        enginelib.inspect = boom
        try:
            return run(path, registry=registry)
        finally:
            enginelib.inspect = real
    return go


def _cancelled(run):
    def go(path: str, registry: ProgressRegistry):
        registry.subscribe(lambda e: registry.cancel_all() if e.phase == "snapshot" else None)
        return run(path, registry=registry)
    return go


def _disk_full(run):
    def go(path: str, registry: ProgressRegistry):
        real = shutil.disk_usage
        shutil.disk_usage = lambda _p: real("/")._replace(free=1024 * 1024)
        try:
            return run(path, registry=registry)
        finally:
            shutil.disk_usage = real
    return go


def error_paths(v10: Path, v11: Path, messy: Path) -> dict[str, tuple]:
    """name: (setup, operation, expected code); operation(path, registry) -> result."""
    plain = lambda f: (lambda p, registry: f(p, registry=registry))  # noqa: E731
    return {
        "not found": (None, plain(migrate), "LIBRARY_NOT_FOUND"),
        "not found (status)": (None, plain(status), "LIBRARY_NOT_FOUND"),
        "directory": ("dir", plain(status), "NOT_A_LIBRARY"),
        "not a database": (_write(os.urandom(4096)), plain(migrate), "NOT_A_LIBRARY"),
        "empty": (_write(b""), plain(preview_cleanup), "NOT_A_LIBRARY"),
        "truncated": (lambda p: p.write_bytes(v10.read_bytes()[:10000]), plain(run_cleanup), "LIBRARY_CORRUPT"),
        "too old": (_versioned(v10, 9), plain(migrate), "LIBRARY_TOO_OLD"),
        "too new": (_versioned(v10, 12), plain(status), "LIBRARY_TOO_NEW"),
        "nothing to roll back": (_copy(v10), plain(rollback), "NOTHING_TO_ROLL_BACK"),
        "no snapshot": (_upgraded(v11, _no_snapshot), plain(rollback), "NO_SNAPSHOT"),
        "snapshot invalid": (_upgraded(v11, _bad_snapshot), plain(rollback), "SNAPSHOT_INVALID"),
        "would lose data": (_upgraded(v11, _user_change), plain(rollback), "WOULD_LOSE_DATA"),
        "in progress": (_copy(v10), _held(migrate), "IN_PROGRESS"),
        "I/O error": (_copy(v10), _faulted(migrate, 5, "ioerr"), "IO_ERROR"),
        "disk full (write)": (_copy(messy), _faulted(run_cleanup, 7, "full"), "DISK_FULL"),
        "disk full (free space)": (_copy(v10), _disk_full(migrate), "DISK_FULL"),
        "cancelled": (_copy(v11), _cancelled(lambda p, registry: rollback(p, force=True, registry=registry)),
                      "CANCELLED"),
        "internal error": (_copy(v10), "internal", "INTERNAL_ERROR"),
    }


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("sanitise")
    v10 = root / "v10.db"
    create_demo_library(str(v10), recordings=20, seed=4, journal_mode="delete")
    v11 = checker.copy_library(v10, root / "v11.db")
    assert migrate(str(v11)).success
    return v10, v11, v10  # the demo library also has something to clean


def run_case(base: Path, segment: str, form: str, case: str, templates) -> list[str]:
    """Set up the library at the path form, run the error path, return every leak found."""
    v10, v11, messy = templates
    setup, operation, code = error_paths(v10, v11, messy)[case]
    given = FORMS[form](base, segment)
    path = on_disk(base, given)
    home_folder = path.parents[1] if form == "home" else None
    cwd = os.getcwd()
    os.chdir(base)
    try:
        if setup == "dir":
            path.mkdir(parents=True)
        elif setup is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            setup(path)
        if operation == "internal":
            operation = _internal(lambda p, registry: migrate(p, registry=registry), given)
        registry = ProgressRegistry()
        events: list = []
        registry.subscribe(events.append)
        result = operation(given, registry)
    finally:
        os.chdir(cwd)
        if home_folder is not None:
            shutil.rmtree(home_folder, ignore_errors=True)
    assert [e.code for e in result.errors][:1] == [code], (case, form, result.errors)
    # status's library_name is the file's own name, by design (on this OS a Windows-form
    # path is one file name: see the report); everything else must be clean
    outgoing = [result.model_dump(mode="json", exclude={"library_name"})] + \
        [e.model_dump(mode="json") for e in events]
    leaks = []
    for data in outgoing:
        text = json.dumps(data, ensure_ascii=False)
        for needle in needles(given, segment, base):
            if needle in text or json.dumps(needle, ensure_ascii=False)[1:-1] in text:
                leaks.append(f"{case} / {form}: {needle!r} in {text[:300]}")
    tally("sanitisation: error runs checked")
    return leaks


segments = st.text(
    alphabet=st.characters(blacklist_characters="/\x00", blacklist_categories=("Cs",)),
    min_size=1, max_size=12,
).map(lambda s: MARK + s).filter(lambda s: s.strip() == s and not s.endswith("."))


@settings(max_examples=600 if FULL else 120, deadline=None, derandomize=not FULL,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(segment=segments, form=st.sampled_from(list(FORMS)), case=st.sampled_from(
    list(error_paths(Path("a"), Path("b"), Path("c")))))
def test_no_error_message_carries_the_path(templates, segment: str, form: str, case: str) -> None:
    base = Path(tempfile.mkdtemp(prefix="sanitise-"))
    try:
        leaks = run_case(base, segment, form, case, templates)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    assert not leaks, leaks[:3]


@pytest.mark.parametrize("form", list(FORMS))
@pytest.mark.parametrize("case", ["not found", "in progress", "I/O error", "internal error",
                                  "would lose data", "snapshot invalid"])
def test_every_form_on_the_main_error_paths(templates, tmp_path: Path, form: str, case: str) -> None:
    """The same check, deterministic: each path form on the error paths most likely to leak."""
    leaks = run_case(tmp_path, f"{MARK} Zoë Núñez 100%", form, case, templates)
    assert not leaks, leaks[:3]


@pytest.mark.parametrize("form", list(FORMS))
def test_cli_json_output_never_carries_the_path(templates, tmp_path: Path, form: str) -> None:
    v10, v11, _ = templates
    segment = f"{MARK} Zoë Núñez 100%"
    given = FORMS[form](tmp_path, segment)
    path = on_disk(tmp_path, given)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        path.write_bytes(b"not a library " * 100)
        missing = given[:-3] + "-missing.db"
        for verb, target in ((["migrate"], given), (["rollback"], given), (["cleanup"], missing),
                             (["status"], missing), (["cleanup", "--dry-run"], given)):
            proc = subprocess.run([sys.executable, "-m", "app", *verb, "--library", target, "--json"],
                                  capture_output=True, text=True, cwd=tmp_path, timeout=120)
            data = json.loads(proc.stdout)
            assert not data["success"] and proc.returncode == 2
            for needle in needles(given, segment, tmp_path) | needles(target, segment, tmp_path):
                assert needle not in proc.stdout and json.dumps(needle)[1:-1] not in proc.stdout, (needle, proc.stdout)
                assert needle not in proc.stderr, (needle, proc.stderr)
            tally("sanitisation: CLI runs checked")
    finally:
        if form == "home":
            shutil.rmtree(path.parents[1], ignore_errors=True)


def test_negative_control_a_leaking_message_is_found(templates, tmp_path: Path) -> None:
    """The leak check can fail: a message built with the path is reported."""
    given = FORMS["unicode"](tmp_path, f"{MARK}x")
    text = json.dumps({"message": f"could not open {given}"})
    assert any(n in text or json.dumps(n)[1:-1] in text for n in needles(given, f"{MARK}x", tmp_path))


@pytest.mark.parametrize("form", list(FORMS))
def test_the_support_report_never_carries_the_path(templates, tmp_path: Path, form: str) -> None:
    """The report (engine, CLI human and --json) of a library at each path form, after a
    success and a refusal are in the log: no part of the path, the folder or the home
    directory, in any of the three."""
    from app.engine.report import build_report

    v10, _, _ = templates
    segment = f"{MARK} Zoë Núñez 100%"
    given = FORMS[form](tmp_path, segment)
    path = on_disk(tmp_path, given)
    path.parent.mkdir(parents=True, exist_ok=True)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        checker.copy_library(v10, path)

        def cli(*args: str) -> subprocess.CompletedProcess:  # the CLI writes the log's lines
            return subprocess.run([sys.executable, "-m", "app", *args, "--library", given],
                                  capture_output=True, text=True, cwd=tmp_path, timeout=120)
        assert cli("migrate").returncode == 0
        assert cli("migrate").returncode == 0  # again: ALREADY_UPGRADED
        assert cli("rollback", "--to", "pre-upgrade-20000101T000000000000Z").returncode == 1  # NO_SNAPSHOT
        outputs = [build_report(given).model_dump_json()]
        for extra in ([], ["--json"]):
            proc = cli("report", *extra)
            assert proc.returncode == 0, proc.stdout + proc.stderr
            outputs.append(proc.stdout + proc.stderr)
    finally:
        os.chdir(cwd)
        if form == "home":
            shutil.rmtree(path.parents[1], ignore_errors=True)
    assert '"migrate"' in outputs[0] and "migrate" in outputs[1]  # the log's lines are in it
    for text in outputs:
        for needle in needles(given, segment, tmp_path):
            assert needle not in text and json.dumps(needle, ensure_ascii=False)[1:-1] not in text, (needle, text[:400])
        tally("sanitisation: support reports checked")
