"""The data pass on both cores: a helper process computes the upper part of the rows.

The data rules are Python and hold the GIL, so a thread cannot run them beside the main
data pass; a second process can. On a big library, `Helper` starts one: it opens the
library read-only (a WAL reader sees the last commit, and in rollback-journal mode nothing
reaches the file before `publish`: either way the library exactly as it was before the
upgrade's transaction, held open meanwhile by the main process), computes
the V11 rows of the recordings with id >= `start` into staging tables of a scratch file of
its own, and exits. The main process computes the recordings below `start` meanwhile, then
attaches the scratch file and publishes both parts in key order. The helper never writes
the library; it stops at its next batch when its parent is gone.

The two talk through pipes: one JSON line on the helper's stdin (what to do); on its
stdout the recordings done after each batch, then `done CAPTURES ITEMS DANGLING UNDECODABLE PEAK_MB`
(its stderr goes to the same pipe, so it can never fill up unread). The helper only saves
time: when it cannot start or fails (what it printed goes to the log), the main process
computes its part too, and any error it meets there is the main process's own, typed as
usual.

    python -c "import sys, app.engine.steps.v11.split_pass as s; sys.exit(s.main())"
    (the frozen app: `meeting-library-upgrade --split-pass-helper`; not `-m`: the step's
    package imports this module, and runpy would run it a second time as __main__)
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import apsw

from app.engine import private
from app.engine.steps.v11 import rows as capture_rows, undecodable

log = logging.getLogger(__name__)

MIN_RECORDINGS = 40_000  # below this a second process costs more than it saves
# The helper's share of the recordings, by journal mode: measured so that the two parts
# end together. In rollback-journal mode the main process also copies the snapshot
# beside its part (in WAL mode the copy comes after the data pass), so the helper takes more.
HELPER_SHARE_WAL = 0.47
HELPER_SHARE_ROLLBACK_JOURNAL = 0.55
HELPER_FLAG = "--split-pass-helper"  # the frozen app's hidden entry for the helper
SCHEMA = "helper"        # the scratch file, attached to the main connection

# Peak memory of each helper that finished, for the benchmarks (a process's own VmHWM).
peaks_mb: list[int] = []


def helper_command() -> list[str]:
    if getattr(sys, "frozen", False):
        return [sys.executable, HELPER_FLAG]
    return [sys.executable, "-c", "import sys, app.engine.steps.v11.split_pass as s; sys.exit(s.main())"]


def stage(conn: apsw.Connection, library: str, on_batch: Callable[[int], None],
          helper: Helper | None, start: bytes | None) -> tuple[capture_rows.Counts, str | None]:
    """`capture_rows.stage` of the library's `main`, on both cores when a `helper` is
    given a `start` (see `split_point`); the helper reads the library file, which holds
    its last commit (this transaction writes only its temp stage until `publish`).
    Returns the counts and the attached schema holding the helper's rows, for
    `capture_rows.publish` (None: every row is in the temp stage)."""
    if helper is None or start is None or not helper.start(library, start):
        return capture_rows.stage(conn, on_batch=on_batch), None
    started = time.monotonic()
    own = capture_rows.stage(conn, on_batch=lambda n: on_batch(n + helper.processed), stop=start)
    own_done = time.monotonic()
    theirs = helper.finish(conn, lambda: on_batch(own.captures + helper.processed))
    if theirs is not None:
        # For tuning the helper's share: the two parts should end together.
        log.info("data pass: own part %.2f s, then waited %.2f s for the helper",
                 own_done - started, time.monotonic() - own_done)
        return own + theirs, SCHEMA
    # The helper failed (its output is in the log): this process computes that half too.
    rest = capture_rows.write_rows(conn, "main", capture_rows.STAGE,
                                   lambda n: on_batch(own.captures + n), start=start)
    return own + rest, None


def split_point(conn: apsw.Connection, total: int, journal_mode: str) -> bytes | None:
    """The recording id from which the helper takes over (None: no helper), as the bytes
    of its text (an id need not be UTF-8)."""
    if total < MIN_RECORDINGS:
        return None
    share = HELPER_SHARE_WAL if journal_mode == "wal" else HELPER_SHARE_ROLLBACK_JOURNAL
    row = conn.execute("SELECT typeof(recording_id), CAST(recording_id AS BLOB) FROM transcripts "
                       "ORDER BY recording_id LIMIT 1 OFFSET ?", (int(total * (1 - share)),)).fetchone()
    # Ids are text (the app's UUIDs); a library with other ids gets no helper.
    return undecodable.Raw(row[1]) if row and row[0] == "text" else None


class Helper:
    """The main process's handle on one helper process and its scratch file.

    `start()` launches it, `processed` is how far it got, `finish()` waits for it and
    attaches its rows as schema `SCHEMA`, `close()` (always, after the connection that
    attached the file is closed) stops it if it still runs and removes the file.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.scratch: Path | None = None
        self.processed = 0
        self._proc: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self._outcome: list[str] = []
        self._said: list[str] = []  # anything else it printed: a traceback, for the log
        self._attached = False

    def start(self, library: str, start: bytes) -> bool:
        """Launch the helper on the recordings from `start`; False when it cannot start."""
        # A `.tmp` file of the snapshots folder: a run that dies leaves it to the next
        # operation's clean-up of leftovers (snapshots.remove_leftovers).
        self.scratch = self.folder / f"split-pass-{os.getpid()}-{time.monotonic_ns()}.tmp"
        job = {"library": library, "scratch": str(self.scratch), "start": start.hex(), "parent": os.getpid()}
        try:
            private.make_dir(self.folder, library)
            # Made here, opened there without "create": a helper that starts after its
            # upgrade died (and the next run removed the file) finds nothing to write to.
            # As private as the library: it holds titles and action items.
            private.create_file(self.scratch, library)
            self._proc = subprocess.Popen(
                helper_command(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True, encoding="utf-8", errors="replace")
            assert self._proc.stdin is not None
            self._proc.stdin.write(json.dumps(job) + "\n")
            self._proc.stdin.close()
        except OSError:  # no process or no pipe: the main process does all the work
            log.warning("the data pass's helper could not start", exc_info=True)
            return False
        self._reader = threading.Thread(target=self._read, name="split-pass", daemon=True)
        self._reader.start()
        return True

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            words = line.split()
            if len(words) == 1 and words[0].isdigit():
                self.processed = int(words[0])
            elif words[:1] == ["done"]:
                self._outcome = words
            elif len(self._said) < 200:
                self._said.append(line.rstrip())

    def finish(self, conn: apsw.Connection, on_wait: Callable[[], None]) -> capture_rows.Counts | None:
        """Wait for the helper (calling `on_wait`, which may raise, every 0.1 s); attach
        its rows to `conn` and return its counts; None when it failed (logged)."""
        assert self._proc is not None and self._reader is not None
        while self._reader.is_alive():
            on_wait()
            self._reader.join(0.1)
        self._proc.wait()
        numbers = self._outcome[1:]
        if self._proc.returncode == 0 and len(numbers) == 5 and all(n.isdigit() for n in numbers):
            captures, items, dangling, undecodable, peak = map(int, numbers)
            peaks_mb.append(peak)
            conn.execute(f"ATTACH DATABASE ? AS {SCHEMA}", (str(self.scratch),))
            self._attached = True
            return capture_rows.Counts(captures, items, dangling, undecodable)
        log.warning("the data pass's helper failed (exit %s), the upgrade computes its part: %s",
                    self._proc.returncode, "\n".join(self._said))
        return None

    def discard_scratch(self) -> None:
        """The helper's rows are published: its file goes now, so that a crash after
        COMMIT leaves nothing behind (the connection that has it attached reads no more;
        POSIX lets it keep the file open). Where the OS refuses to remove an open file
        (Windows), `close()` removes it."""
        if self.scratch is not None:
            try:
                self.scratch.unlink(missing_ok=True)
            except OSError:  # still open, on Windows: close() comes back to it
                log.debug("the helper's scratch file stays until the upgrade ends", exc_info=True)

    def detach(self, conn: apsw.Connection) -> None:
        """Let go of the helper's file, once the transaction is over and before `conn`
        closes: letting go of a removed file frees its blocks, which apsw's `close()`
        would do holding the GIL (measured: 0.13 s for 492 MB with every other thread
        stopped, a 0.58 s gap between progress events at a million recordings); DETACH
        does it without."""
        if self._attached:
            self._attached = False
            try:
                conn.execute(f"DETACH DATABASE {SCHEMA}")
            except apsw.Error:  # close() lets go of it anyway, only holding the GIL
                log.debug("could not detach the helper's file", exc_info=True)

    def close(self) -> None:
        if self._proc is not None:
            if self._proc.poll() is None:
                self._proc.kill()
            self._proc.wait()
            if self._reader is not None:
                self._reader.join()  # ends with the pipe, now that the helper has exited
            if self._proc.stdout is not None:
                self._proc.stdout.close()
        if self.scratch is not None:
            self.scratch.unlink(missing_ok=True)


# ---- the helper process ---------------------------------------------------------------

def peak_rss_mb() -> int:
    """This process's own peak resident memory (VmHWM, Linux), in MB; 0 elsewhere.

    Not a child's rusage seen from its parent: on Linux a child's ru_maxrss keeps the
    parent's peak from before exec, which would charge the parent's memory to it.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024)
    except OSError:  # not Linux: no figure
        pass
    return 0


def _compute(library: str, scratch: str, start: bytes, parent: int) -> capture_rows.Counts:
    if os.getppid() != parent:
        raise SystemExit(3)
    conn = apsw.Connection(scratch, flags=apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_URI)
    try:
        conn.execute("PRAGMA journal_mode = OFF")  # a scratch file: never recovered, only discarded
        conn.execute("PRAGMA synchronous = OFF")
        targets = capture_rows.create_stage(conn, "main")
        conn.execute("ATTACH DATABASE ? AS lib", (Path(library).resolve().as_uri() + "?mode=ro",))

        def on_batch(processed: int) -> None:
            print(processed, flush=True)
            if os.getppid() != parent:  # the upgrade is gone: nobody will read the rows
                raise SystemExit(3)

        with conn:
            return capture_rows.write_rows(conn, "lib", targets, on_batch, start=start)
    finally:
        conn.close()


def main() -> int:
    """The helper's side: read the job from stdin, report on stdout. A failure's
    traceback goes to stderr (the main process logs it) and the exit code is not 0."""
    # Ctrl-C in a terminal reaches the whole process group: the upgrade decides (a cancel
    # kills this process), so this one does not die on its own with a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    job = json.loads(sys.stdin.readline())
    counts = _compute(job["library"], job["scratch"], undecodable.Raw.fromhex(job["start"]), job["parent"])
    print("done", counts.captures, counts.action_items, counts.dangling_meetings, counts.undecodable,
          peak_rss_mb(), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
