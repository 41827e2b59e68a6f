"""The words and shapes of the command line's human output, shared by every formatter.

A formatter (`app.cli_output`) returns blocks: sentences (printed unwrapped, so a command
in them can be copied whole), and rich tables (aligned columns). `render` turns them into
the text printed on stdout: plain when stdout is not a terminal, with a little colour when
it is (never when NO_COLOR is set: rich reads it). Numbers are for people: sizes in KB and
MB, counts with thousands separators, times in the user's own time zone. Commands in the
output are the ones a user can paste: paths shell-quoted with `shlex`.
"""

from __future__ import annotations

import io
import os
import shlex
import shutil
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from rich.console import Console
from rich.table import Table
from rich.text import Text

from app.engine.results import OperationResult

Block = str | Text | Table

# Where each phase of an operation is, in the window's words (frontend/app.js).
PHASE_WORDS = {
    "preflight": "Checking the library",
    "snapshot": "Saving a copy of the library",
    "schema": "Preparing the new format",
    "migrating": "Upgrading recordings",
    "cleaning": "Fixing problems",
    "checking": "Checking the saved copy",
    "restoring": "Putting the saved copy back",
    "verifying": "Verifying the result",
    "committing": "Saving",
    "complete": "Finished",
    "failed": "Stopped: nothing was changed",
    "cancelled": "Cancelled: nothing was changed",
}

# What each kind of snapshot is, in the window's words.
KIND_WORDS = {"pre-upgrade": "before the upgrade", "pre-rollback": "before a restore",
              "pre-cleanup": "before a clean-up"}


def program() -> str:
    """How the user starts this program: the bundle's own name, or `python -m app`."""
    return os.path.basename(sys.argv[0]) if getattr(sys, "frozen", False) else "python -m app"


@dataclass(frozen=True)
class Invocation:
    """What the user asked for: which library (and how it was named), and the command as
    typed (without --library and --json), so a next step can be the same command again."""

    library: str
    given: bool
    words: tuple[str, ...] = ()

    def command(self, *words: str) -> str:
        """A command line for this library, ready to paste: --library only when the user
        gave one (the default library needs none)."""
        return " ".join([program(), shlex.join([*words, *(("--library", self.library) if self.given else ())])])

    def again(self, *extra: str) -> str:
        """The same command again, with `extra` options."""
        return self.command(*self.words, *extra)

    def where(self) -> str:
        """The location looked at, and how it was chosen."""
        return f"{self.library} ({'given with --library' if self.given else 'the default location'})"


# ---- numbers for people ---------------------------------------------------------------

def count(n: int) -> str:
    return f"{n:,}"


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{count(n)} {one if n == 1 else (many or one + 's')}"


def size(n: int) -> str:
    """A size as a person reads it: 850 bytes, 844.0 KB, 1.6 MB."""
    if n < 1024:
        return plural(n, "byte")
    value = float(n)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1024
        if value < 1024 or unit == "TB":
            break
    return f"{value:,.1f} {unit}"


def local_time(iso: str) -> str:
    """An engine time (ISO 8601, UTC) in the user's own time zone."""
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:  # not a time this app wrote: shown as it is
        return iso


def seconds(value: float) -> str:
    """A duration: "0.06 s", "12.3 s", "2 min 5 s"."""
    if value < 1:
        return f"{value:.2f} s"
    if value < 60:
        return f"{value:.1f} s"
    minutes, rest = divmod(round(value), 60)
    return f"{minutes} min {rest} s"


def yes_no(flag: bool) -> str:
    return "yes" if flag else "no"


def words(name: str) -> str:
    """An engine name as words: action_items -> action items."""
    return name.replace("_", " ").replace("-", " ")


# ---- blocks ---------------------------------------------------------------------------

def error_line(code: str, message: str) -> Text:
    """The first line of a failure: the code a script or support matches on, the message."""
    text = Text()
    text.append(f"Error {code}:", style="bold red")
    text.append(f" {message}")
    return text


def step_line(lead: str, command: str | None = None) -> Text:
    """A next step: what to do, in words, and the command that does it."""
    text = Text(f"{lead}: " if command else lead)
    if command:
        text.append(command, style="bold")
    return text


def note_line(message: str) -> Text:
    return Text(f"Note: {message}", style="yellow")


def notes(result: OperationResult, *handled: str) -> list[Block]:
    """A result's warnings, as notes (none of them undid anything); `handled`: codes the
    formatter has said in its own words."""
    return [note_line(w.message) for w in result.warnings if w.code not in handled]


def facts(rows: Sequence[tuple[str, str]], indent: int = 0) -> Table:
    """Label and value pairs, aligned; numbers right-aligned under each other."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(justify="right" if all(_numeric(v) for _, v in rows) else "left")
    for label, value in rows:
        grid.add_row(" " * indent + label, value)
    return grid


def _numeric(value: str) -> bool:
    return value.replace(",", "").isdigit()


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], right: Sequence[int] = ()) -> Table:
    """A table with a header row, no borders: columns a person scans down."""
    grid = Table(box=None, show_edge=False, pad_edge=False, padding=(0, 1), header_style="bold")
    for index, header in enumerate(headers):
        grid.add_column(header, justify="right" if index in right else "left")
    for row in rows:
        grid.add_row(*row)
    return grid


def render(blocks: Sequence[Block], *, color: bool | None = None, width: int | None = None) -> str:
    """The blocks as the text to print. Sentences are never wrapped (a terminal wraps them
    itself, and a command in them stays one line to copy); tables fit the width."""
    color = sys.stdout.isatty() if color is None else color
    width = width or shutil.get_terminal_size((100, 24)).columns
    buffer = io.StringIO()
    console = Console(file=buffer, width=width, force_terminal=color, color_system="auto" if color else None,
                      markup=False, emoji=False, highlight=False)
    for block in blocks:
        console.print(block, soft_wrap=not isinstance(block, Table))
    return "\n".join(line.rstrip() for line in buffer.getvalue().rstrip("\n").splitlines())
