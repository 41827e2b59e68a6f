"""The command line's progress bar (`app.cli_progress`): drawn on a terminal, once an
operation has run for more than its delay; never for a quick one, never off a terminal,
never with --json. In-process with a fake clock, and in real processes whose stderr is a
pseudo-terminal, as in a shell.
"""

from __future__ import annotations

import io
import json
import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from app.cli_progress import ProgressDisplay
from app.engine.progress import ProgressEvent
from app.samples.demo import create_demo_library

ENV = {"COLUMNS": "100", "NO_COLOR": "1"}


def _event(phase: str, percent: float, processed: int | None = None, total: int | None = None,
           eta: float | None = None) -> ProgressEvent:
    return ProgressEvent(tracker_id="t-1", operation="migrate", phase=phase, percent=percent,
                         processed=processed, total=total, eta_seconds=eta)


def _display(clock: list[float]) -> tuple[ProgressDisplay, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100, color_system=None)
    return ProgressDisplay(console, clock=lambda: clock[0]), out


def test_a_quick_operation_draws_no_bar() -> None:
    clock = [0.0]
    display, out = _display(clock)
    display(_event("preflight", 0))
    clock[0] = 0.25
    display(_event("complete", 100))
    display.close()
    assert out.getvalue() == "" and not display.drawn


def test_a_long_operation_draws_its_phase_count_and_time_left() -> None:
    clock = [0.0]
    display, out = _display(clock)
    display(_event("preflight", 0))
    clock[0] = 0.5
    display(_event("migrating", 50, 500, 1000, eta=3.4))
    display(_event("complete", 100))
    display.close()
    text = out.getvalue()
    assert display.drawn and "Upgrading recordings (500 of 1,000)" in text and "about 3 s left" in text
    assert "Finished" in text and "100%" in text


def _on_a_terminal(*args: str) -> tuple[subprocess.CompletedProcess, str]:
    """Run with stderr on a pseudo-terminal (as in a shell); return it and what stderr showed."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, "-m", "app", *args], stdout=subprocess.PIPE, stderr=slave,
                                stdin=subprocess.DEVNULL, text=True, env={**os.environ, **ENV})
    finally:
        os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    out, _ = proc.communicate(timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, ""), b"".join(chunks).decode("utf-8", "replace")


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A library whose upgrade takes well over the bar's delay (about a second here)."""
    path = tmp_path_factory.mktemp("big") / "big.db"
    create_demo_library(str(path), recordings=10_000, seed=1)
    return path


def test_on_a_terminal_a_long_upgrade_draws_a_bar_and_status_does_not(big: Path, tmp_path: Path) -> None:
    library = shutil.copy(big, tmp_path / "big.db")
    proc, shown = _on_a_terminal("status", "--library", str(library))
    assert proc.returncode == 0 and shown == ""
    proc, shown = _on_a_terminal("migrate", "--library", str(library))
    assert proc.returncode == 0 and proc.stdout.startswith("Upgrade complete")
    assert "Upgrading recordings" in shown and "%" in shown and "Finished" in shown, shown


def test_never_a_bar_with_json_even_on_a_terminal(big: Path, tmp_path: Path) -> None:
    library = shutil.copy(big, tmp_path / "big.db")
    proc, shown = _on_a_terminal("migrate", "--library", str(library), "--json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["success"] is True
    assert shown == ""
