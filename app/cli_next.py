"""What to do next after a failure, one entry per error code that has one.

The engine's messages say what happened ("Nothing was changed"); these say what the user
can do about it, with the command that does it (the same command again, with --force, the
snapshots list, the support report). The window has its own, shorter list (frontend/app.js):
the words match where the situation is the same. A code with no useful step (the message
says all there is) has no entry.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.text import Text

from app.cli_text import Invocation, program, step_line
from app.engine.locations import log_dir
from app.engine.snapshots import snapshot_dir
from app.logsetup import LOG_FILE

Step = tuple[str, str | None]  # (what to do, in words; the command that does it)


def _report(inv: Invocation) -> str:
    return inv.command("report")


def _snapshots(inv: Invocation) -> str:
    return inv.command("snapshots")


def _not_found(inv: Invocation) -> list[Step]:
    where = ("Check the path, or give the library's file with --library PATH" if inv.given else
             "The meeting recorder has not made its library here yet: give the library's file with --library PATH")
    return [(where, None), ("To try this tool on a demo library first", f"{program()} demo-library demo.db")]


def _unsafe(inv: Invocation) -> list[Step]:
    return [(f"Move the snapshots folder ({snapshot_dir(inv.library)}) out of the way, then run it again",
             inv.again())]


def _support(lead: str) -> Callable[[Invocation], list[Step]]:
    """Steps that end in the support report: something this tool cannot fix by itself."""
    def steps(inv: Invocation) -> list[Step]:
        return [(f"{lead} If it happens again, send a support report (it holds no paths, names or "
                 f"recording contents)", _report(inv))]
    return steps


def _internal(inv: Invocation) -> list[Step]:
    return _support(f"Details are in the log file, {log_dir() / LOG_FILE}.")(inv)


ERROR_STEPS: dict[str, Callable[[Invocation], list[Step]]] = {
    "IN_PROGRESS": lambda inv: [("Wait until the other operation (in the window or another copy of the app) "
                                 "has finished, then run it again", inv.again())],
    "LIBRARY_NOT_FOUND": _not_found,
    "NOT_A_LIBRARY": lambda inv: [("Give the meeting recorder's library file with --library PATH "
                                   "(the app calls it library.db)", None)],
    "LIBRARY_UNSUPPORTED": _support("Open the library once in the meeting recorder app, then run it again."),
    "LIBRARY_TOO_OLD": lambda inv: [("Open the library once in the current meeting recorder app, then run",
                                     inv.again())],
    "LIBRARY_CORRUPT": lambda inv: [("Put back a copy from your own backups, or see the snapshots beside it",
                                     _snapshots(inv))],
    "INVALID_ARGUMENT": lambda inv: [("See what the command takes", f"{program()} {inv.words[0]} --help")],
    "READ_ONLY": lambda inv: [("Make sure you can write to the library, its folder and its snapshots folder, "
                               "then run it again", inv.again())],
    "SNAPSHOTS_UNSAFE": _unsafe,
    "DISK_FULL": lambda inv: [("Free some disk space on the library's drive, then run it again", inv.again())],
    "IO_ERROR": lambda inv: [("Check the disk (or the network drive the library is on), then run it again",
                              inv.again())],
    "CANCELLED": lambda inv: [("Run it again whenever you like", inv.again())],
    "VERIFICATION_FAILED": _support("Nothing was saved."),
    "NOTHING_TO_ROLL_BACK": lambda inv: [("See where the library stands", inv.command("status"))],
    "NO_SNAPSHOT": lambda inv: [("See which snapshots there are", _snapshots(inv))],
    "SNAPSHOT_INVALID": lambda inv: [("See which snapshots can still be restored", _snapshots(inv))],
    "SNAPSHOT_FOREIGN": lambda inv: [("Choose a snapshot of this library", _snapshots(inv))],
    "SNAPSHOT_NEEDED": lambda inv: [("To delete it anyway, and give up undoing the upgrade",
                                     inv.again("--force"))],
    "WOULD_LOSE_DATA": lambda inv: [("To restore anyway and discard those changes", inv.again("--force"))],
    "RESTORE_FAILED": _support("The library is as it was just before the restore."),
    "DATABASE_ERROR": _support("Nothing was changed; run it again."),
    "INTERNAL_ERROR": _internal,
}


def for_error(code: str, inv: Invocation) -> list[Text]:
    """The next steps after a failure with `code`; none for a code that has none."""
    return [step_line(lead, command) for lead, command in ERROR_STEPS.get(code, lambda _: [])(inv)]


__all__ = ["ERROR_STEPS", "for_error"]
