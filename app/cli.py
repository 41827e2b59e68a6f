"""The command line: the arguments, and one engine call per verb.

Every verb opens nothing itself: it calls one engine operation, with Ctrl-C asking that
operation to cancel (and roll back) and, where someone watches stderr, a progress bar
(`app.cli_progress`). It prints the result: exactly one JSON object with --json (the result
model, which scripts rely on), the human text of `app.cli_output` otherwise; and it turns
the result's first error code into the exit code: 0 success, 1 the operation failed, 2 bad
usage or input, 75 IN_PROGRESS. Without a verb it opens the desktop window (`app.desktop`).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import textwrap
from collections.abc import Callable, Sequence

from rich.console import Console

from app import __version__, logsetup
from app.cli_output import human
from app.cli_progress import ProgressDisplay
from app.cli_text import Invocation, error_line, program, render, step_line
from app.engine import errors
from app.engine.backups import delete_snapshot, list_snapshots, prune_snapshots
from app.engine.cleanup import preview_cleanup, run_cleanup
from app.engine.locations import default_library, log_dir
from app.engine.migrate import migrate
from app.engine.operation import exit_code
from app.engine.progress import REGISTRY
from app.engine.report import build_report
from app.engine.results import OperationResult
from app.engine.rollback import rollback
from app.engine.status import status
from app.engine.steps import REGISTRY as STEPS


def cmd_status(args: argparse.Namespace) -> OperationResult:
    return status(args.library)


def cmd_migrate(args: argparse.Namespace) -> OperationResult:
    return migrate(args.library)


def cmd_rollback(args: argparse.Namespace) -> OperationResult:
    return rollback(args.library, force=args.force, snapshot_id=args.to)


def cmd_snapshots(args: argparse.Namespace) -> OperationResult:
    if args.action == "delete":
        return delete_snapshot(args.library, args.snapshot_id, args.force)
    if args.action == "prune":
        return prune_snapshots(args.library)
    return list_snapshots(args.library)


def cmd_cleanup(args: argparse.Namespace) -> OperationResult:
    return preview_cleanup(args.library) if args.dry_run else run_cleanup(args.library)


def cmd_report(args: argparse.Namespace) -> OperationResult:
    return build_report(args.library)


def cmd_demo_library(args: argparse.Namespace) -> int:
    """Write a realistic V10 demo library to a new file (no engine operation: no result)."""
    from app.samples.demo import create_demo_library

    inv = Invocation(args.path, given=True, words=("demo-library",))
    try:
        summary = create_demo_library(args.path, recordings=args.recordings, seed=args.seed,
                                      journal_mode=args.journal_mode)
    except errors.EngineError as exc:
        _print_result(render([error_line(exc.code, exc.message)]))
        return exc.exit_code
    _print_result(render([f"Wrote a demo library with {summary.recordings:,} recordings to {args.path}.",
                          step_line("See where it stands", inv.command("status"))]))
    return errors.EXIT_OK


# ---- the arguments ---------------------------------------------------------------------

def _description() -> str:
    return (f"Upgrade the meeting recorder's library to the new format (version {STEPS.latest}), go back to "
            "how it was if you need to, clean up problems in it, and manage the snapshots (backups) kept "
            "beside it. Without a command, it opens the window.")


def _epilog() -> str:
    prog = program()
    return (f"Start with:\n"
            f"  {prog} status             where the library stands, and what to do next\n"
            f"  {prog} cleanup --dry-run  problems worth fixing before the upgrade\n"
            f"  {prog} migrate            the upgrade (a snapshot is saved first; undo with rollback)\n"
            f"Each command works on the app's own library unless --library names another "
            f"({default_library()}).\n"
            f"Every command adds a line to the log: {log_dir() / logsetup.LOG_FILE}")


class _HelpFormatter(argparse.HelpFormatter):
    """Help wrapped at spaces only, so a path in it stays whole to copy; a text of several
    lines (the examples at the end) is kept as written."""

    def _split_lines(self, text: str, width: int) -> list[str]:
        return textwrap.wrap(" ".join(text.split()), width, break_on_hyphens=False, break_long_words=False)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if "\n" in text:
            return text
        return "\n".join(indent + line for line in self._split_lines(text, width - len(indent)))


VERBS: list[tuple[str, Callable[[argparse.Namespace], OperationResult], str]] = [
    ("status", cmd_status, "show the library's version, recordings and snapshots, and what to do next"),
    ("migrate", cmd_migrate, "upgrade the library (a snapshot is saved first; all or nothing)"),
    ("rollback", cmd_rollback, "go back: restore the library as it was before the upgrade, or a chosen snapshot"),
    ("cleanup", cmd_cleanup, "fix duplicate recordings, transcripts without a recording and links to "
                             "meetings that no longer exist (a snapshot is saved first)"),
    ("snapshots", cmd_snapshots, "list the snapshots (backups) beside the library, delete one, or prune "
                                 "those no longer kept"),
    ("report", cmd_report, "print a support report: versions, counts and recent operations, with no paths, "
                           "names or recording contents"),
]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=program(), description=_description(), epilog=_epilog(),
                                     formatter_class=_HelpFormatter)
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--verbose", action="store_true",
                        help=f"also write debug details to the log file ({log_dir() / logsetup.LOG_FILE}); "
                             "give it before the command")
    # Without a command: the window. These three belong to it alone (separate dests, so a
    # verb's own --library is never shadowed; given with a verb they are a usage error).
    window = parser.add_argument_group("the window (no command)")
    window.add_argument("--library", dest="window_library", metavar="PATH",
                        help="the library to open (default: the app's own library)")
    window.add_argument("--debug", action="store_true", default=None,
                        help="developer tools and remote debugging on 127.0.0.1 (never on otherwise)")
    window.add_argument("--gui", choices=("qt", "gtk"), default=None, help="the GUI toolkit (default: qt)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    verbs = {name: _verb(sub, name, func, text) for name, func, text in VERBS}
    _rollback_options(verbs["rollback"])
    _snapshots_options(verbs["snapshots"])
    verbs["cleanup"].add_argument("--dry-run", action="store_true",
                                  help="only show what would be fixed, with examples; change nothing")
    _demo_parser(sub)
    return parser


def _verb(sub: argparse._SubParsersAction, name: str, func: Callable, text: str) -> argparse.ArgumentParser:
    """A verb's parser, with the two options every verb has."""
    p = sub.add_parser(name, help=text, description=text[:1].upper() + text[1:] + ".",
                       formatter_class=_HelpFormatter)
    # None when not given: the output then says "the default location", and commands it
    # suggests need no --library either.
    p.add_argument("--library", metavar="PATH", default=None,
                   help=f"the library file (default: the app's own, {default_library()})")
    p.add_argument("--json", action="store_true",
                   help="print exactly one JSON object, for scripts (no progress bar, no other text)")
    p.set_defaults(func=func)
    return p


def _rollback_options(back: argparse.ArgumentParser) -> None:
    back.add_argument("--force", action="store_true",
                      help="restore even if it discards changes made since the upgrade")
    back.add_argument("--to", metavar="ID", default=None,
                      help="the snapshot to restore (an id from the snapshots command; default: the way "
                           "back to before the upgrade)")


def _snapshots_options(snaps: argparse.ArgumentParser) -> None:
    snaps.add_argument("action", nargs="?", choices=("list", "delete", "prune"), default="list",
                       help="list (default), delete ID, or prune (remove what is no longer kept, and "
                            "snapshots that cannot be restored into this library)")
    snaps.add_argument("snapshot_id", nargs="?", metavar="ID", help="with delete: the snapshot to delete")
    snaps.add_argument("--force", action="store_true",
                       help="with delete: delete even the way back (the upgrade can then not be undone)")


def _demo_parser(sub: argparse._SubParsersAction) -> None:
    text = "write a demo library (version 10, made-up meetings and recordings) to try this tool on"
    demo = sub.add_parser("demo-library", help=text, description=text[:1].upper() + text[1:] + ".",
                          formatter_class=_HelpFormatter)
    demo.add_argument("path", metavar="PATH", help="the new library file; nothing may be there yet")
    demo.add_argument("--recordings", type=int, default=200, metavar="N",
                      help="how many recordings it holds (default: 200)")
    demo.add_argument("--seed", type=int, default=0, metavar="S",
                      help="the random seed: the same seed and count make the same library (default: 0)")
    demo.add_argument("--journal-mode", choices=("wal", "delete"), default="wal",
                      help="SQLite's journal mode for the file: wal, as the app writes it, or delete "
                           "(default: wal)")
    demo.set_defaults(func=None)


# Options that say what a verb does, as the user typed them: (dest, flag; None for a positional).
_WORDS = (("action", None), ("snapshot_id", None), ("to", "--to"), ("force", "--force"), ("dry_run", "--dry-run"))


def _invocation(args: argparse.Namespace) -> Invocation:
    """The library and the command as given, for the output's "run it again" commands."""
    words = [args.command]
    for dest, flag in _WORDS:
        value = getattr(args, dest, None)
        if value in (None, False) or (dest == "action" and value == "list"):
            continue
        words += [value] if flag is None else [flag] if value is True else [flag, value]
    given = args.library is not None
    return Invocation(args.library if given else str(default_library()), given, tuple(words))


# ---- running a verb ---------------------------------------------------------------------

def _window(args: argparse.Namespace) -> int:
    """No command: open the window on the given library, or on the app's own."""
    from app.desktop.shell import CannotOpen, open_window

    library = args.window_library or str(default_library())
    try:
        return open_window(library, is_default=args.window_library is None,
                           debug=args.debug is True, gui=args.gui or "qt")
    except CannotOpen as exc:
        print(f"The window cannot open: {exc}\n", file=sys.stderr)
        _overview(args.window_library)
        return errors.EXIT_FAILED


def _overview(given: str | None) -> None:
    """Where no window can open: what the window would have shown of the library given
    with --library (its status); without one, the commands and the app's own library."""
    if given is not None:
        print(render(human(status(given), Invocation(given, given=True, words=("status",)))))
        return
    library = default_library()
    _parser().print_help()
    if library.exists():
        print("\n" + render(human(status(str(library)), Invocation(str(library), given=False, words=("status",)))))
    else:
        print(f"\nThere is no library at the default location yet. Try one out with:\n"
              f"  {program()} demo-library demo.db && {program()} migrate --library demo.db")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is not None and (args.window_library, args.debug, args.gui) != (None, None, None):
        parser.error("--library, --debug and --gui before a command are for the window; "
                     "give a command's --library after the command")
    logsetup.configure(verbose=args.verbose)
    if args.command is None:
        return _window(args)
    if args.func is None:
        return cmd_demo_library(args)
    if args.command == "snapshots" and (args.action == "delete") != (args.snapshot_id is not None):
        parser.error("snapshots delete takes the id of the snapshot to delete (and only delete takes one)")
    inv = _invocation(args)
    args.library = inv.library
    result = _run(args)
    _print_result(result.model_dump_json() if args.json else render(human(result, inv)))
    return exit_code(result)


def _run(args: argparse.Namespace) -> OperationResult:
    """The verb's engine call. Ctrl-C asks the running operation to cancel and roll back,
    like the window's button; the bar is drawn only where someone watches stderr."""
    display = ProgressDisplay(Console(stderr=True)) if not args.json and sys.stderr.isatty() else None
    unsubscribe = REGISTRY.subscribe(display) if display else None
    previous = signal.signal(signal.SIGINT, lambda *_: REGISTRY.cancel_all())
    try:
        return args.func(args)
    finally:
        signal.signal(signal.SIGINT, previous)
        if unsubscribe:
            unsubscribe()
        if display:
            display.close()


def _print_result(text: str) -> None:
    """Print the outcome; a reader that went away (`| head`) changes nothing of it: the
    exit code and the log still tell it, and no traceback follows."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        # Python would flush stdout again at exit and complain: point it at nothing.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
