"""The command line: one function per verb, each one library call.

Every verb opens nothing itself: it calls one engine operation, prints the result (one
JSON object with --json, a readable summary otherwise, progress on stderr), and turns the
result's first error code into the exit code: 0 success, 1 the operation failed, 2 bad
usage or input, 75 IN_PROGRESS. Without a verb it opens the desktop window (`app.desktop`).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
from datetime import datetime
import sys
from collections.abc import Callable, Sequence

from app import __version__, logsetup
from app.engine import errors
from app.engine.backups import delete_snapshot, list_snapshots, prune_snapshots
from app.engine.cleanup import preview_cleanup, run_cleanup
from app.engine.locations import default_library
from app.engine.migrate import migrate
from app.engine.operation import exit_code
from app.engine.progress import REGISTRY, ProgressEvent
from app.engine.results import OperationResult, SnapshotsResult
from app.engine.rollback import rollback
from app.engine.status import status


def cmd_status(args: argparse.Namespace) -> OperationResult:
    """Show the library's version, recordings by migration status and snapshots."""
    return status(args.library)


def cmd_migrate(args: argparse.Namespace) -> OperationResult:
    """Finish the upgrade to the latest version (snapshot first; all or nothing)."""
    return migrate(args.library)


def cmd_rollback(args: argparse.Namespace) -> OperationResult:
    """Restore the library from its pre-upgrade snapshot (or, with --to, a chosen one)."""
    return rollback(args.library, force=args.force, snapshot_id=args.to)


def cmd_snapshots(args: argparse.Namespace) -> OperationResult:
    """List the snapshots beside the library, delete one, or prune those no longer kept."""
    if args.action == "delete":
        return delete_snapshot(args.library, args.snapshot_id, args.force)
    if args.action == "prune":
        return prune_snapshots(args.library)
    return list_snapshots(args.library)


def cmd_cleanup(args: argparse.Namespace) -> OperationResult:
    """Fix orphaned transcripts, duplicate recordings and invalid meeting references."""
    return preview_cleanup(args.library) if args.dry_run else run_cleanup(args.library)


def cmd_demo_library(args: argparse.Namespace) -> int:
    """Write a realistic V10 demo library to a new file."""
    from app.samples.demo import create_demo_library

    try:
        summary = create_demo_library(args.path, recordings=args.recordings, seed=args.seed,
                                      journal_mode=args.journal_mode)
    except errors.EngineError as exc:
        print(f"error [{exc.code}]: {exc.message}", file=sys.stderr)
        return exc.exit_code
    print(f"Wrote a demo library with {summary.recordings} recordings.")
    return errors.EXIT_OK


def _parser() -> argparse.ArgumentParser:
    prog = os.path.basename(sys.argv[0]) if getattr(sys, "frozen", False) else "python -m app"
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--verbose", action="store_true", help="log debug details to the log file")
    # Without a command: the window. These three belong to it alone (separate dests, so a
    # verb's own --library is never shadowed; given with a verb they are a usage error).
    window = parser.add_argument_group("the window (no command)")
    window.add_argument("--library", dest="window_library", metavar="PATH",
                        help="the library to open (default: the app's own library)")
    window.add_argument("--debug", action="store_true", default=None,
                        help="developer tools and remote debugging on 127.0.0.1 (never on otherwise)")
    window.add_argument("--gui", choices=("qt", "gtk"), default=None, help="the GUI toolkit (default: qt)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def verb(name: str, func: Callable, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--library", default=str(default_library()),
                       help="the library file (default: the app's own library)")
        p.add_argument("--json", action="store_true", help="print exactly one JSON object")
        p.set_defaults(func=func)
        return p

    verb("status", cmd_status, cmd_status.__doc__)
    verb("migrate", cmd_migrate, cmd_migrate.__doc__)
    back = verb("rollback", cmd_rollback, cmd_rollback.__doc__)
    back.add_argument("--force", action="store_true", help="restore even if it discards changes made since")
    back.add_argument("--to", metavar="ID", default=None,
                      help="the snapshot to restore (an id from the snapshots command; default: the way "
                           "back to before the upgrade)")
    snaps = verb("snapshots", cmd_snapshots, cmd_snapshots.__doc__)
    snaps.add_argument("action", nargs="?", choices=("list", "delete", "prune"), default="list",
                       help="list (default), delete ID, or prune (remove what is no longer kept, and "
                            "snapshots that cannot be restored into this library)")
    snaps.add_argument("snapshot_id", nargs="?", metavar="ID", help="the snapshot to delete")
    snaps.add_argument("--force", action="store_true",
                       help="with delete: delete even the way back (the upgrade can then not be undone)")
    verb("cleanup", cmd_cleanup, cmd_cleanup.__doc__).add_argument(
        "--dry-run", action="store_true", help="only show what would be fixed")

    demo = sub.add_parser("demo-library", help=cmd_demo_library.__doc__)
    demo.add_argument("path")
    demo.add_argument("--recordings", type=int, default=200)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--journal-mode", choices=("wal", "delete"), default="wal")
    demo.set_defaults(func=None)
    return parser


class ProgressBar:
    """A one-line progress bar on stderr, fed by the progress registry."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last_phase = ""

    def __call__(self, event: ProgressEvent) -> None:
        if not self.tty and event.phase == self.last_phase:
            return
        self.last_phase = event.phase
        filled = int(event.percent // 5)
        count = f" {event.processed}/{event.total}" if event.total else ""
        eta = f" ~{event.eta_seconds:.0f}s left" if event.eta_seconds else ""
        line = f"[{'#' * filled}{' ' * (20 - filled)}] {event.percent:5.1f}% {event.phase}{count}{eta}"
        end = "\n" if not self.tty or event.phase in ("complete", "failed", "cancelled") else ""
        print(("\r" if self.tty else "") + line.ljust(70), end=end, file=sys.stderr, flush=True)


def _summary(result: OperationResult) -> str:
    data = result.model_dump(exclude={"errors", "warnings", "operation", "success"})
    lines = [f"{result.operation}: {'ok' if result.success else 'FAILED'}"]
    for key, value in data.items():
        if value in (None, [], {}):
            continue
        if isinstance(value, dict) and "count" in value:
            value = f"{value['count']}" + (f"  e.g. {json.dumps(value['sample'][:3], ensure_ascii=False)}"
                                           if value["sample"] else "")
        lines.append(f"  {key.replace('_', ' ')}: {value}")
    lines += [f"  warning [{w.code}]: {w.message}" for w in result.warnings]
    lines += [f"  error [{e.code}]: {e.message}" for e in result.errors]
    return "\n".join(lines)


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:,} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return ""


def _local_time(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:  # not a time this app wrote: shown as it is
        return iso


def _snapshot_table(result: SnapshotsResult) -> str:
    """The snapshots as a table a person reads: local times, sizes, what each is for."""
    if not result.success:
        return _summary(result)
    if not result.snapshots:
        return "There are no snapshots beside this library."
    rows = [("ID", "TAKEN", "VERSION", "SIZE", "CAN RESTORE")]
    rows += [(s.id, _local_time(s.created_at), str(s.version), _size(s.size_bytes), "yes" if s.valid else "NO")
             for s in result.snapshots]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    for s in result.snapshots:
        lines.append(f"{s.id}: {s.purpose}" + (f" {s.problem}" if s.problem else ""))
    lines.append(f"Together they take {_size(result.total_bytes)} "
                 f"(the library itself: {_size(result.library_bytes)}).")
    return "\n".join(lines)


def _human(result: OperationResult) -> str:
    return _snapshot_table(result) if isinstance(result, SnapshotsResult) else _summary(result)


def _window(args: argparse.Namespace) -> int:
    """No command: open the window on the given library, or on the app's own."""
    from app.desktop.shell import CannotOpen, open_window

    library = args.window_library or str(default_library())
    try:
        return open_window(library, is_default=args.window_library is None,
                           debug=args.debug is True, gui=args.gui or "qt")
    except CannotOpen as exc:
        print(f"The window cannot open: {exc}\n", file=sys.stderr)
        _overview()
        return errors.EXIT_FAILED


def _overview() -> int:
    """What the default library is and what can be done with it (where no window can open)."""
    library = default_library()
    _parser().print_help()
    if library.exists():
        print("\n" + _summary(status(str(library))))
    else:
        print("\nThere is no library at the default location yet. Try one out with:\n"
              "  python -m app demo-library demo.db && python -m app migrate --library demo.db")
    return errors.EXIT_OK


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
    unsubscribe = None if args.json else REGISTRY.subscribe(ProgressBar())
    # Ctrl-C asks the running operation to cancel and roll back, like the window's button.
    previous = signal.signal(signal.SIGINT, lambda *_: REGISTRY.cancel_all())
    try:
        result = args.func(args)
    finally:
        signal.signal(signal.SIGINT, previous)
        if unsubscribe:
            unsubscribe()
    _print_result(result.model_dump_json() if args.json else _human(result))
    return exit_code(result)


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
