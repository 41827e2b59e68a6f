"""Opening and closing: closing mid-upgrade, --debug, and the command line's window path."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from app import __version__
from app.samples.demo import create_demo_library
from app.engine.status import status
from tests.conftest import logical_dump
from tests.window_driver import ROOT, run_window


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    path = tmp_path / "library.db"
    create_demo_library(str(path), recordings=300)
    return path


def test_closing_mid_upgrade_asks_then_cancels_rolls_back_and_exits_clean(demo: Path, tmp_path: Path) -> None:
    before = logical_dump(demo)
    run = run_window("close", tmp_path, ["--library", str(demo)], library=str(demo))
    seen = run.seen
    assert "error" not in seen, seen["error"] + repr(run)
    assert "cancels it" in seen["asked"] and seen["focus"] == "close-confirm-no"
    assert seen["kept_open"] is True                 # "Keep working" kept the window
    assert seen["open_while_rolling_back"] is True   # it closes only once the upgrade has stopped
    assert seen["closed"] is True
    assert run.proc.returncode == 0 and seen["exit_code"] == 0, run
    assert run.leftovers == []                       # no process left behind
    assert seen["threads_at_exit"] == []             # no worker thread still running
    assert seen["listeners_at_exit"] == 0            # the window's listener left the registry
    assert logical_dump(demo) == before and status(str(demo)).version == 10


def test_debug_prints_the_remote_debugging_address_and_opens_no_inspector(demo: Path, tmp_path: Path) -> None:
    run = run_window("debug", tmp_path, ["--library", str(demo), "--debug"], library=str(demo))
    assert "error" not in run.seen, run.seen["error"] + repr(run)
    assert run.proc.returncode == 0 and run.leftovers == [], run  # no inspector kept it alive
    printed = re.findall(r"Developer tools: (http://127\.0\.0\.1:(\d+))", run.proc.stdout)
    assert printed and printed[0][1] == run.seen["port"], run.proc.stdout
    assert "anyone who can log in to this computer can connect" in run.proc.stdout
    # Only the devtools' own pages may open a session: a web page elsewhere may not (without
    # the app's --remote-allow-origins, QtWebEngine answered 101 to this one too).
    answers = run.seen["origin_answers"]
    assert answers["https://evil.example"].split()[1] == "403", answers
    assert answers[f"http://127.0.0.1:{run.seen['port']}"].split()[1] == "101", answers
    assert "Browser" in run.seen["devtools"]  # the address answers as Chromium's devtools
    assert run.seen["listening_on"] == ["0100007F"]  # 127.0.0.1 only, not every interface
    assert run.seen["visible_windows"] == [f"Upgrade library {__version__}"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_an_inherited_debugging_environment_opens_no_port_without_debug(demo: Path, tmp_path: Path) -> None:
    """Another program (or a shell profile) exported Qt's debugging variable and a Chromium
    switch: without --debug, neither opens a port. (The debug test above shows the same
    /proc probe seeing the port --debug opens.)"""
    first, second = _free_port(), _free_port()
    env = {"QTWEBENGINE_REMOTE_DEBUGGING": str(first),
           "QTWEBENGINE_CHROMIUM_FLAGS": f"--remote-debugging-port={second} --remote-allow-origins=*"}
    run = run_window("no_debug_port", tmp_path, ["--library", str(demo)], library=str(demo), env=env,
                     ports=[first, second])
    assert "error" not in run.seen, run.seen["error"] + repr(run)
    assert run.proc.returncode == 0 and run.leftovers == [], run
    assert run.seen["listening"] == [], run.seen
    assert run.seen["remote_debugging"] is None and "remote" not in run.seen["chromium_flags"]
    assert "Developer tools" not in run.proc.stdout


def test_the_window_never_leaves_its_page(demo: Path, tmp_path: Path) -> None:
    """A script of the page (or anything that drives it) sends the window to another server
    on 127.0.0.1, to another file of its own server, and opens a new window: nothing is
    requested, nothing opens (not even the system browser), the page stays, the API with
    it. The control run, with pywebview's own rule put back, sees the window leave."""
    browser = tmp_path / "browser-was-opened"
    opener = tmp_path / "browser.sh"
    opener.write_text(f"#!/bin/sh\ntouch {browser}\n")
    opener.chmod(0o755)
    env = {"BROWSER": str(opener)}
    run = run_window("navigate", tmp_path, ["--library", str(demo)], library=str(demo), env=env)
    assert "error" not in run.seen, run.seen["error"] + repr(run)
    assert run.proc.returncode == 0 and run.leftovers == [], run
    seen = run.seen
    assert seen["hits"] == [] and not browser.exists(), seen
    assert seen["after_other_server"] == seen["own"] == seen["after_own_server"], seen
    assert "migrate" in seen["api_names"]

    (tmp_path / "control").mkdir()
    control = run_window("navigate_control", tmp_path / "control", ["--library", str(demo)], library=str(demo),
                         env=env)
    assert "error" not in control.seen, control.seen["error"] + repr(control)
    assert "/evil" in control.seen["hits"] and control.seen["after_other_server"] != control.seen["own"]


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=60,
                          cwd=ROOT, env={**os.environ, **(env or {})})


@pytest.mark.parametrize("args", [
    ("--library", "x.db", "status"), ("--debug", "migrate"), ("--gui", "qt", "rollback"),
    ("--gui", "tk"),
])
def test_window_options_are_usage_errors_with_a_command_or_a_bad_value(args) -> None:
    proc = cli(*args)
    assert proc.returncode == 2, proc.stderr
    assert "usage:" in proc.stderr


def test_no_display_gets_words_and_the_command_line_not_a_crash(tmp_path: Path) -> None:
    env = {"DISPLAY": "", "WAYLAND_DISPLAY": "", "QT_QPA_PLATFORM": "", "XDG_DATA_HOME": str(tmp_path)}
    proc = cli(env=env)
    assert proc.returncode == 1
    assert "no display" in proc.stderr and "Traceback" not in proc.stderr
    assert "status" in proc.stdout and "migrate" in proc.stdout  # the overview of the verbs
    assert not (tmp_path / "MeetingRecorder").exists()  # nothing created


def test_no_display_with_a_library_shows_that_library_not_the_default(tmp_path: Path) -> None:
    from tests.conftest import build_v10, fill

    lib = build_v10(tmp_path / "Mine.db")
    fill(lib, 12)
    env = {"DISPLAY": "", "WAYLAND_DISPLAY": "", "QT_QPA_PLATFORM": "", "XDG_DATA_HOME": str(tmp_path / "xdg")}
    proc = cli("--library", str(lib), env=env)
    assert proc.returncode == 1 and "no display" in proc.stderr
    assert str(lib) in proc.stdout and "Total" in proc.stdout and "12" in proc.stdout  # its status
    assert "default location" not in proc.stdout
    typo = cli("--library", str(tmp_path / "typo.db"), env=env)
    assert "LIBRARY_NOT_FOUND" in typo.stdout and str(tmp_path / "typo.db") in typo.stdout
    assert "default location" not in typo.stdout
    assert not (tmp_path / "typo.db").exists() and not (tmp_path / "xdg").exists()  # nothing created


def test_debug_is_off_unless_asked_for() -> None:
    """Debug mode exposes the page to any local process: only the flag turns it on."""
    from app.cli import _parser

    assert _parser().parse_args([]).debug is None
    assert _parser().parse_args(["--debug"]).debug is True
    for path in (ROOT / "app").rglob("*.py"):
        assert "debug=True" not in path.read_text(), path
