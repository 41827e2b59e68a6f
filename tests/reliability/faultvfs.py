"""A fault-injecting SQLite VFS: SQLite's own I/O-error and crash testing, in Python.

`FaultVFS` inherits the default (unix) VFS and is registered as the DEFAULT VFS while it
is active, so the engine's plain `apsw.Connection(path, flags=...)` goes through it
without any change to the engine. Every xWrite, xSync and xTruncate of every file SQLite
opens (library, -journal, -wal, snapshot files and their journals) is counted; the
`Fault` decides what happens at the Nth counted call:

- ``raise``: fail with SQLITE_IOERR (``apsw.IOError``) or SQLITE_FULL (``apsw.FullError``),
  once (only call N) or persistently (N and every later call: a disk that stays broken);
- ``drop``: report success but do not write (a lying disk: the negative control, which
  the checker must catch);
- ``exit``: end the process at once with ``os._exit`` (a crash at exactly that point;
  only in a child process).

Use it as a context manager around the operation; the normal VFS is the default again
when it exits, so the result is checked through the normal VFS.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field

import apsw

BASE = "unix"
OPS = ("write", "sync", "truncate")
CRASH_EXIT_CODE = 86


@dataclass
class Fault:
    """What to do at the `n`th counted call (1-based) of the kinds in `ops`."""

    n: int
    ops: tuple[str, ...] = OPS
    action: str = "raise"          # raise | drop | exit
    error: str = "ioerr"           # ioerr | full
    persistent: bool = False       # raise: fail call n and every counted call after it
    file_filter: str | None = None  # only count calls on files whose name ends with this

    def describe(self) -> str:
        what = "+".join(self.ops)
        extra = f" on *{self.file_filter}" if self.file_filter else ""
        if self.action == "raise":
            how = f"{self.error} {'from N on' if self.persistent else 'once'}"
        else:
            how = self.action
        return f"{how} at {what} #{self.n}{extra}"


@dataclass
class Trace:
    """What the shim saw: every counted call, and whether a fault fired."""

    calls: list[tuple[str, str]] = field(default_factory=list)  # (op, file basename)
    fired: int = 0          # how many calls were failed / dropped
    first_fired: tuple[str, str] | None = None


class _File(apsw.VFSFile):
    def __init__(self, vfs: "FaultVFS", name, flags) -> None:
        self._vfs = vfs
        if name is None:
            self._name = "<temp>"
        elif isinstance(name, str):
            self._name = name
        else:
            self._name = name.filename()
        super().__init__(BASE, name, flags)

    def xWrite(self, data, offset: int) -> None:
        if self._vfs._hit("write", self._name):
            return None  # dropped
        return super().xWrite(data, offset)

    def xSync(self, flags: int) -> None:
        if self._vfs._hit("sync", self._name):
            return None
        return super().xSync(flags)

    def xTruncate(self, newsize: int) -> None:
        if self._vfs._hit("truncate", self._name):
            return None
        return super().xTruncate(newsize)


class FaultVFS(apsw.VFS):
    """Register with `with FaultVFS(fault) as vfs:`; `vfs.trace` tells what happened."""

    _serial = 0
    _guard = threading.Lock()

    def __init__(self, fault: Fault | None = None) -> None:
        self.fault = fault
        self.trace = Trace()
        self.count = 0
        self._lock = threading.Lock()
        with FaultVFS._guard:
            FaultVFS._serial += 1
            self.vfs_name = f"faultvfs-{os.getpid()}-{FaultVFS._serial}"
        self._registered = False

    # -- registration -------------------------------------------------------------------
    def __enter__(self) -> "FaultVFS":
        super().__init__(self.vfs_name, base=BASE, makedefault=True)
        self._registered = True
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._registered:
            self.unregister()
            self._registered = False
        assert apsw.vfs_names()[0] != self.vfs_name

    # -- the shim -----------------------------------------------------------------------
    def xOpen(self, name, flags):
        return _File(self, name, flags)

    def _hit(self, op: str, filename: str) -> bool:
        """Count the call; raise, drop (return True) or exit when the fault says so."""
        fault = self.fault
        base = os.path.basename(filename)
        with self._lock:
            if fault is None or op not in fault.ops or (
                    fault.file_filter and not filename.endswith(fault.file_filter)):
                self.trace.calls.append((op, base))
                return False
            self.count += 1
            self.trace.calls.append((op, base))
            n = self.count
            due = n == fault.n or (fault.persistent and n > fault.n)
            if not due:
                return False
            self.trace.fired += 1
            if self.trace.first_fired is None:
                self.trace.first_fired = (op, base)
        if fault.action == "exit":
            os._exit(CRASH_EXIT_CODE)
        if fault.action == "drop":
            return True
        if fault.error == "full":
            raise apsw.FullError("injected: database or disk is full")
        raise apsw.IOError("injected: disk I/O error")


def count_calls(run, ops: tuple[str, ...] = OPS, file_filter: str | None = None) -> int:
    """How many counted calls `run()` makes with a shim that never fails (sweep bound)."""
    probe = Fault(n=10**9, ops=ops, file_filter=file_filter)
    with FaultVFS(probe) as vfs:
        run()
    return vfs.count
