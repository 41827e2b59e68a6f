"""The support report (`app.engine.report`, `python -m app report`).

What it holds is read from a real library and a real log; what it must never hold is
checked the way tests/reliability/test_sanitisation.py checks results: a library under a
folder named after the user, with unicode and a per-cent sign in it, operations run through
the command line (failing ones too), then the report in both forms searched for every
spelling of the path, its folders, the home folder, the user name and the transcript text.
"""

from __future__ import annotations

import getpass
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.engine.locations import log_dir
from app.engine.report import RECENT, build_report, recent_operations
from app.engine.results import SupportReport
from tests.conftest import Library, build_v10, fill, set_version

TRANSCRIPT = "Qz-CONFIDENTIAL merger talk with Núñez"  # text no report may carry


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "100"})


def audit_line(library: str, operation: str = "migrate", success: bool = True, **extra: object) -> str:
    data = {"time": "2026-01-02T10:00:00.000+00:00", "operation": operation, "library": library,
            "success": success, "version_before": 10, "version_after": 11, "counts": {"captures_created": 3},
            "duration_seconds": 0.5, "errors": [], "warnings": [], **extra}
    return f"2026-01-02 10:00:00,000 INFO app.audit {json.dumps(data)}"


# ---- the log's tail --------------------------------------------------------------------

def test_recent_operations_newest_last_across_rotated_files_for_this_library_only(tmp_path: Path) -> None:
    (tmp_path / "upgrade.log.2").write_text("\n".join(audit_line("library.db", f"old-{i}") for i in range(5)))
    (tmp_path / "upgrade.log.1").write_text("\n".join(
        [audit_line("library.db", "cleanup"), audit_line("other.db", "migrate"), "a traceback line",
         "2026 INFO app.audit {not json", audit_line("library.db", "report")]))
    (tmp_path / "upgrade.log").write_text("\n".join(
        [audit_line("library.db", "migrate"), audit_line("library.db", "rollback", False, errors=["WOULD_LOSE_DATA"])]))
    found = recent_operations("library.db", tmp_path, limit=4)
    assert [e.operation for e in found] == ["old-4", "cleanup", "migrate", "rollback"]
    assert found[-1].errors == ["WOULD_LOSE_DATA"] and not found[-1].success
    assert len(recent_operations("library.db", tmp_path)) == 8  # all there are, fewer than RECENT
    assert recent_operations("nothing.db", tmp_path) == [] and recent_operations("x", tmp_path / "none") == []


def test_the_report_shows_at_most_the_last_twenty(tmp_path: Path) -> None:
    (tmp_path / "upgrade.log").write_text("\n".join(audit_line("library.db", f"op-{i}") for i in range(30)))
    found = recent_operations("library.db", tmp_path)
    assert len(found) == RECENT == 20 and found[0].operation == "op-10" and found[-1].operation == "op-29"


# ---- the report ------------------------------------------------------------------------

def test_report_of_a_library(make_library, tmp_path: Path) -> None:
    library = make_library()
    fill(library, 30)
    (tmp_path / "log").mkdir()
    (tmp_path / "log" / "upgrade.log").write_text(audit_line("library.db"))
    report = build_report(str(library), log_folder=tmp_path / "log")
    assert report.success and report.operation == "report"
    assert (report.version, report.journal_mode, report.recordings.total) == (10, "wal", 30)
    assert report.library_bytes > 0 and report.snapshot_count == 0 and report.python_version
    assert [e.operation for e in report.recent_operations] == ["migrate"]


def test_report_of_a_library_this_tool_does_not_upgrade_still_says_what_it_is(make_library) -> None:
    library = make_library()
    set_version(library.path, 12)
    report = build_report(str(library))
    assert report.success and report.version == 12 and report.latest_version == 11


def test_report_of_a_missing_library_fails_but_keeps_the_log_tail(tmp_path: Path) -> None:
    (tmp_path / "upgrade.log").write_text(audit_line("gone.db", "migrate", False, errors=["IO_ERROR"]))
    report = build_report(str(tmp_path / "gone.db"), log_folder=tmp_path)
    assert not report.success and report.errors[0].code == "LIBRARY_NOT_FOUND"
    assert report.app_version and [e.errors for e in report.recent_operations] == [["IO_ERROR"]]


def test_a_path_that_got_into_the_log_is_scrubbed_out_of_the_report(make_library, tmp_path: Path) -> None:
    """The second line of defence: the log holds codes only, but if a path ever got in..."""
    library = make_library()
    home = str(Path.home())
    (tmp_path / "upgrade.log").write_text(audit_line(
        "library.db", operation=f"{home}/Zoë/secret.db", errors=[f"C:\\Users\\zoe\\{library.path.name}"]))
    report = build_report(str(library), log_folder=tmp_path)
    text = report.model_dump_json()
    assert home not in text and "Zoë" not in text and "zoe" not in text and "<path>" in text


def test_the_report_contract_holds_its_keys() -> None:
    assert set(SupportReport.model_fields) == {
        "operation", "success", "errors", "warnings", "duration_seconds", "version", "app_version",
        "python_version", "system", "oldest_version", "latest_version", "journal_mode", "recordings",
        "library_bytes", "snapshot_count", "snapshots_bytes", "snapshots", "recent_operations"}


# ---- sanitisation ----------------------------------------------------------------------

@pytest.fixture(params=["tmp", "home"])
def base(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path]:
    """Where the user's folder is: a temporary folder, or the real home folder."""
    if request.param == "tmp":
        yield tmp_path
        return
    folder = Path.home() / f".report-test-{uuid.uuid4().hex[:8]}"
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _users_library(base: Path) -> tuple[Library, Path, str]:
    user = getpass.getuser()
    folder = base / f"{user}'s files" / "Zoë Núñez 秘密 100% ✓"
    folder.mkdir(parents=True)
    library = build_v10(folder / f"{user} library.db")
    fill(library, 30)
    library.add_recording("r-secret", filename=f"{user} merger call.wav")
    library.add_transcript("t-secret", "r-secret", full_text=TRANSCRIPT, summary=TRANSCRIPT,
                           action_items=json.dumps([TRANSCRIPT]))
    return library, folder, user


def _needles(library: Library, folder: Path, user: str, base: Path) -> set[str]:
    found = {str(library.path), str(folder), folder.name, folder.parent.name, library.path.name, str(base),
             str(Path.home()), user, "Zoë", "Núñez", "秘密", TRANSCRIPT, "merger", "SELECT", "Traceback"}
    return {n for n in found if len(n) >= 3}


def leaks(text: str, needles: set[str]) -> list[str]:
    return [n for n in needles if n in text or json.dumps(n)[1:-1] in text]


def test_report_never_carries_a_path_a_name_or_transcript_text(base: Path) -> None:
    library, folder, user = _users_library(base)
    path = str(library.path)
    for args, code in ((["status"], 0), (["cleanup", "--dry-run"], 0), (["cleanup"], 0), (["migrate"], 0),
                       (["snapshots"], 0), (["rollback", "--to", "pre-upgrade-Z"], 2)):
        assert cli(*args, "--library", path).returncode == code, args
    library.execute("UPDATE action_items SET status = 'completed' WHERE rowid = 1")
    assert cli("rollback", "--library", path).returncode == 1  # WOULD_LOSE_DATA
    way_back = [s["id"] for s in json.loads(cli("snapshots", "--library", path, "--json").stdout)["snapshots"]]
    assert cli("snapshots", "delete", way_back[0], "--library", path).returncode == 1  # SNAPSHOT_NEEDED
    assert cli("migrate", "--library", str(folder / "missing.db")).returncode == 2

    human = cli("report", "--library", path)
    as_json = cli("report", "--library", path, "--json")
    assert human.returncode == 0 == as_json.returncode and human.stderr == "" == as_json.stderr
    data = json.loads(as_json.stdout)
    assert data["recent_operations"][-1]["errors"] == ["SNAPSHOT_NEEDED"]  # the failures are in it
    assert "WOULD_LOSE_DATA" in human.stdout and "captures created" in human.stdout
    needles = _needles(library, folder, user, base)
    assert leaks(human.stdout, needles) == [] and leaks(as_json.stdout, needles) == []
    assert leaks(json.dumps(data, ensure_ascii=False), needles) == []
    log_text = (log_dir() / "upgrade.log").read_text(encoding="utf-8")
    assert library.path.name in log_text  # the log names the file: the report leaves even that out


def test_negative_control_a_leak_is_found(tmp_path: Path) -> None:
    library, folder, user = _users_library(tmp_path)
    needles = _needles(library, folder, user, tmp_path)
    assert leaks(f"error opening {library.path}", needles)
    assert leaks(json.dumps({"where": str(folder)}), needles)
    assert leaks(f"Summary: {TRANSCRIPT}", needles)
