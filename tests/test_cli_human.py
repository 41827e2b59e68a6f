"""The command line as a person reads it: real processes over real library files.

Each verb's human output is compared with a golden file in tests/golden/ (NAME.txt), after
replacing only what must vary between runs: the test's folders (<tmp>, <data>, <state>),
snapshot ids' times (pre-upgrade-YYYYMMDDTHHMMSSffffffZ), local times (YYYY-MM-DD HH:MM),
durations (n.nn s) and the Python and app versions. The placeholders are as wide as what
they replace, so the goldens' tables stay aligned; runs of spaces still compare as two,
since a duration's width can vary. Besides the goldens, every output is checked for what a
person must never see (Python reprs, True/False/None, a progress bar off a terminal, a
traceback), a failure for its shape (the error first, no zero counters) and each for its
next step.

To regenerate the golden files after an intended change of wording:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest -q -p no:cacheprovider tests/test_cli_human.py

then read the diff (git diff tests/golden) before committing it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from app.cli import _parser
from app.cli_next import ERROR_STEPS, for_error
from app.cli_text import Invocation
from app.engine import errors, snapshots
from app.engine.cleanup import run_cleanup
from app.engine.locations import log_dir
from app.engine.migrate import migrate
from app.engine.operation import _all_error_classes
from app.engine.rollback import rollback
from app.logsetup import LOG_FILE
from tests.conftest import Library, build_v10, fill, set_version

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
LIB = "'<tmp>/My Library ✓.db'"  # the library in a command, shell-quoted, as normalised
ENV = {"COLUMNS": "100", "TZ": "UTC", "NO_COLOR": "1"}


def cli(*args: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **ENV, **(env or {})}, cwd=cwd)


# ---- what every human output is checked for ------------------------------------------

REPR = re.compile(r"\{'|\[\{|'\w+': |\b(?:True|False|None)\b")
ZERO_COUNTER = re.compile(r"^\s+\S.*\s0$", re.MULTILINE)


def assert_no_repr(text: str) -> None:
    found = REPR.search(text)
    assert found is None, f"a Python repr in the output: {found.group(0)!r} in {text!r}"


def assert_failure_shape(text: str, code: str) -> None:
    """The error first, with its code; no counters of work that did not happen."""
    assert text.startswith(f"Error {code}: "), text
    assert ZERO_COUNTER.search(text) is None, f"a zero counter in a failure: {text!r}"


def normalise(text: str, tmp_path: Path) -> str:
    for real, name in ((os.environ["XDG_DATA_HOME"], "<data>"), (os.environ["XDG_STATE_HOME"], "<state>"),
                       (str(tmp_path), "<tmp>")):
        text = text.replace(real, name)
    text = text.replace(f"{platform.python_version()} on {platform.system()}", "<python>")
    text = re.sub(r"(App version\s+)\S+", r"\1<version>", text)
    text = re.sub(r"(pre-(?:upgrade|rollback|cleanup))-\d{8}T\d{12}Z", r"\1-YYYYMMDDTHHMMSSffffffZ", text)
    text = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d", "YYYY-MM-DD HH:MM", text)
    return re.sub(r"\b\d+ min \d+ s\b|\b\d+(?:\.\d+)? s\b", "n.nn s", text)


def _spaced(text: str) -> list[str]:
    return [re.sub(" {2,}", "  ", line.rstrip()) for line in text.strip("\n").splitlines()]


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / f"{name}.txt"
    if UPDATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text.rstrip("\n") + "\n", encoding="utf-8")
        return
    assert path.is_file(), f"no golden file {path}: run with UPDATE_GOLDEN=1 to write it"
    assert _spaced(text) == _spaced(path.read_text(encoding="utf-8")), \
        f"{name}: the output differs from {path}:\n{text}"


# ---- the library and the cases -------------------------------------------------------

@pytest.fixture
def lib(tmp_path: Path) -> Library:
    """A V10 library with every kind of problem cleanup fixes."""
    library = build_v10(tmp_path / "My Library ✓.db")
    fill(library, 40)
    library.add_recording("r90001", filename="REC00001.WAV", date_recorded="2024-03-01 09:00:00")
    library.add_recording("r90002", filename="REC-LOST-MEETING.WAV", meeting_id="gone-meeting")
    library.insert("transcripts", id="t-orphan", recording_id="gone", full_text="x")
    return library


def _upgraded(lib: Library) -> None:
    assert migrate(str(lib)).success


def _changed_since_upgrade(lib: Library) -> None:
    _upgraded(lib)
    lib.execute("UPDATE action_items SET status = 'completed' WHERE rowid = 1")


def _rolled_back(lib: Library) -> str:
    """Upgraded then rolled back: the id of the safety copy of the upgraded library."""
    _upgraded(lib)
    result = rollback(str(lib))
    assert result.success and result.safety_snapshot_id
    return result.safety_snapshot_id


def _way_back(lib: Library) -> str:
    _upgraded(lib)
    manifest = snapshots.latest(str(lib), snapshots.PRE_UPGRADE)
    assert manifest is not None
    return manifest.id


@dataclass
class Case:
    setup: Callable[[Library, Path], list[str]]  # prepares; returns the arguments (--library added after)
    code: int = 0
    error: str | None = None       # a failure's code, first in the output
    expect: tuple[str, ...] = ()   # lines or phrases the (normalised) output holds
    library: bool = True           # add --library and the library's path


CASES: dict[str, Case] = {
    "status_v10": Case(lambda lib, _: ["status"],
                       expect=(f"Upgrade it with: python -m app migrate --library {LIB}",)),
    "status_v11": Case(lambda lib, _: (_upgraded(lib), ["status"])[1],
                       expect=(f"Everything is upgraded. To undo the upgrade: python -m app rollback --library {LIB}",)),
    "cleanup_dry_run": Case(lambda lib, _: ["cleanup", "--dry-run"],
                            expect=(f"Fix them with: python -m app cleanup --library {LIB}",
                                    "REC00001.WAV (2 copies)")),
    "cleanup": Case(lambda lib, _: ["cleanup"],
                    expect=(f"Undo with: python -m app rollback --to pre-cleanup-YYYYMMDDTHHMMSSffffffZ --library {LIB}",
                            f"Next, upgrade it: python -m app migrate --library {LIB}")),
    "cleanup_nothing": Case(lambda lib, _: (run_cleanup(str(lib)), ["cleanup"])[1],
                            expect=("Nothing to clean up",)),
    "migrate": Case(lambda lib, _: ["migrate"], expect=(f"Undo with: python -m app rollback --library {LIB}",)),
    "migrate_again": Case(lambda lib, _: (_upgraded(lib), ["migrate"])[1], expect=("Nothing to do.",)),
    "rollback": Case(lambda lib, _: (_upgraded(lib), ["rollback"])[1],
                     expect=(f"To upgrade again: python -m app migrate --library {LIB}",
                             f"To bring it back: python -m app rollback --to pre-rollback-YYYYMMDDTHHMMSSffffffZ --library {LIB}")),
    "rollback_refused": Case(lambda lib, _: (_changed_since_upgrade(lib), ["rollback"])[1], 1, "WOULD_LOSE_DATA",
                             expect=("To restore anyway and discard those changes: python -m app rollback "
                                     f"--force --library {LIB}", "  action items  1")),
    "rollback_to": Case(lambda lib, _: ["rollback", "--to", _rolled_back(lib)],
                        expect=("Library restored from snapshot pre-rollback-YYYYMMDDTHHMMSSffffffZ (before a restore",)),
    "rollback_nothing": Case(lambda lib, _: ["rollback"], 1, "NOTHING_TO_ROLL_BACK",
                             expect=(f"See where the library stands: python -m app status --library {LIB}",)),
    "snapshots_list": Case(lambda lib, _: (_upgraded(lib), ["snapshots"])[1],
                           expect=(f"Restore one with: python -m app rollback --to ID --library {LIB}",)),
    "snapshots_none": Case(lambda lib, _: ["snapshots"], expect=("There are no snapshots",)),
    "snapshots_delete_refused": Case(lambda lib, _: ["snapshots", "delete", _way_back(lib)], 1, "SNAPSHOT_NEEDED",
                                     expect=("To delete it anyway, and give up undoing the upgrade: python -m app "
                                             f"snapshots delete pre-upgrade-YYYYMMDDTHHMMSSffffffZ --force --library {LIB}",)),
    "snapshots_delete": Case(lambda lib, _: ["snapshots", "delete", _rolled_back(lib)],
                             expect=("Deleted snapshot pre-rollback-YYYYMMDDTHHMMSSffffffZ",)),
    "snapshots_prune": Case(lambda lib, _: (_upgraded(lib), ["snapshots", "prune"])[1], expect=("Nothing to remove",)),
    "missing_given": Case(lambda lib, tmp: ["status", "--library", str(tmp / "missing.db")], 2, "LIBRARY_NOT_FOUND",
                          library=False,
                          expect=("No library at <tmp>/missing.db (given with --library).",
                                  "To try this tool on a demo library first: python -m app demo-library demo.db")),
    "missing_default": Case(lambda lib, _: ["status"], 2, "LIBRARY_NOT_FOUND", library=False,
                            expect=("No library at <data>/MeetingRecorder/library.db (the default location).",)),
    "not_a_library": Case(lambda lib, tmp: ((tmp / "notes.txt").write_text("notes"),
                                            ["migrate", "--library", str(tmp / "notes.txt")])[1],
                          2, "NOT_A_LIBRARY", library=False,
                          expect=("Library: <tmp>/notes.txt (given with --library)",)),
    "too_new": Case(lambda lib, _: (set_version(lib.path, 12), ["migrate"])[1], 2, "LIBRARY_TOO_NEW",
                    expect=("Library: <tmp>/My Library ✓.db (given with --library)",)),
    "demo_library": Case(lambda lib, tmp: ["demo-library", str(tmp / "demo.db"), "--recordings", "20"],
                         library=False,
                         expect=("See where it stands: python -m app status --library <tmp>/demo.db",)),
}


@pytest.mark.parametrize("name", list(CASES))
def test_human_output(name: str, lib: Library, tmp_path: Path) -> None:
    case = CASES[name]
    args = case.setup(lib, tmp_path) + (["--library", str(lib)] if case.library else [])
    proc = cli(*args)
    text = normalise(proc.stdout, tmp_path)
    assert proc.returncode == case.code, proc.stdout + proc.stderr
    assert proc.stderr == "", proc.stderr  # no bar off a terminal, no traceback
    assert_no_repr(text)
    if case.error:
        assert_failure_shape(text, case.error)
    for line in case.expect:
        assert line in text, (line, text)
    check_golden(name, text)


def test_in_progress_says_to_wait_and_run_again(lib: Library, tmp_path: Path) -> None:
    holder = lib.connect()  # this process holds the write lock; the command runs in another
    holder.execute("BEGIN IMMEDIATE")
    try:
        proc = cli("migrate", "--library", str(lib))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    text = normalise(proc.stdout, tmp_path)
    assert proc.returncode == 75
    assert_failure_shape(text, "IN_PROGRESS")
    assert f"then run it again: python -m app migrate --library {LIB}" in text
    check_golden("in_progress", text)


def test_report_golden(lib: Library, tmp_path: Path) -> None:
    """The report after operations run through the command line (they write the log)."""
    for args in (["cleanup"], ["migrate"], ["status"]):
        assert cli(*args, "--library", str(lib), "--json").returncode == 0
    lib.execute("UPDATE action_items SET status = 'completed' WHERE rowid = 1")
    assert cli("rollback", "--library", str(lib), "--json").returncode == 1
    proc = cli("report", "--library", str(lib))
    text = normalise(proc.stdout, tmp_path)
    assert proc.returncode == 0 and proc.stderr == ""
    assert_no_repr(text)
    assert "WOULD_LOSE_DATA" in text and "captures created" in text
    assert "<tmp>" not in text and "My Library" not in text  # no path, not even the file's name
    check_golden("report", text)


def test_json_output_is_unchanged_and_path_free(tmp_path: Path) -> None:
    """The human text names the location; --json keeps the engine's own message."""
    missing = str(tmp_path / "missing.db")
    data = json.loads(cli("status", "--library", missing, "--json").stdout)
    assert data["errors"] == [{"code": "LIBRARY_NOT_FOUND", "message": errors.LibraryNotFound.default_message,
                               "count": None}]
    assert missing in cli("status", "--library", missing).stdout


# ---- the checks themselves can fail ----------------------------------------------------

@pytest.mark.parametrize("old", [
    "  recordings: {'pending': 3000, 'migrated': 0}", "  steps: [{'name': 'x', 'error': None}]",
    "  can migrate: True", "  verified: False", "  snapshot id: None",
])
def test_negative_control_the_repr_check_catches_a_repr(old: str) -> None:
    with pytest.raises(AssertionError):
        assert_no_repr(old)


def test_negative_control_the_failure_checks_catch_the_old_shape() -> None:
    old = "status: FAILED\n  recordings: 0\n  error [LIBRARY_NOT_FOUND]: No library was found."
    with pytest.raises(AssertionError):
        assert_failure_shape(old, "LIBRARY_NOT_FOUND")
    with pytest.raises(AssertionError):  # error first, but a zero counter after it
        assert_failure_shape("Error LIBRARY_NOT_FOUND: gone.\n  Upgraded  0", "LIBRARY_NOT_FOUND")


def test_negative_control_a_changed_output_fails_its_golden() -> None:
    if UPDATE:
        pytest.skip("the golden files are being written")
    text = (GOLDEN / "status_v10.txt").read_text(encoding="utf-8")
    with pytest.raises(AssertionError):
        check_golden("status_v10", text.replace("Upgrade it with", "Upgrade with"))
    check_golden("status_v10", text.replace("  ", "     "))  # padding alone is not a change


def test_status_columns_are_aligned(lib: Library) -> None:
    """The one thing the goldens' space folding hides: numbers end in one column."""
    out = cli("status", "--library", str(lib)).stdout.splitlines()
    start = out.index("Recordings") + 1
    rows = out[start:start + 4]
    assert len({len(row) for row in rows}) == 1 and all(row[-1].isdigit() for row in rows), rows


def test_every_error_code_but_one_has_a_next_step_that_pastes() -> None:
    """LIBRARY_TOO_NEW alone has none: its message says all there is (use the app that made it)."""
    codes = {cls.code for cls in _all_error_classes()}
    assert codes - set(ERROR_STEPS) == {"LIBRARY_TOO_NEW"} and set(ERROR_STEPS) <= codes
    inv = Invocation("/home/zoë/My Library.db", True, ("rollback", "--to", "pre-upgrade-20260101T120000000000Z"))
    for code in ERROR_STEPS:
        for line in (text.plain for text in for_error(code, inv)):
            assert_no_repr(line)
            assert "My Library" not in line or "'/home/zoë/My Library.db'" in line, (code, line)


# ---- help ------------------------------------------------------------------------------

def _options_without_help(parser: argparse.ArgumentParser, where: str = "") -> list[str]:
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                missing += _options_without_help(sub, f"{where}{name} ")
        elif not isinstance(action, argparse._HelpAction) and not action.help:
            missing.append(f"{where}{'/'.join(action.option_strings) or action.dest}")
    return missing


def test_every_option_of_every_verb_has_help() -> None:
    assert _options_without_help(_parser()) == []
    choices = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))._choices_actions
    assert all(c.help for c in choices) and len(choices) == 7


def test_negative_control_an_option_without_help_is_found() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quiet", action="store_true")
    assert _options_without_help(parser) == ["--quiet"]


def test_help_says_what_the_program_is_for_and_where_the_log_is(tmp_path: Path) -> None:
    proc = cli("--help")
    text = proc.stdout
    for phrase in ("Upgrade the meeting recorder's library", "go back", "clean up", "snapshots", "report"):
        assert phrase in text, phrase
    assert "one function per verb" not in text
    assert str(log_dir() / LOG_FILE) in text.replace("\n", "")  # --verbose says where the log is
    check_golden("help", normalise(text, tmp_path))
