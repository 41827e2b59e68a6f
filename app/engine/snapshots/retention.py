"""Which snapshots are kept, and pruning the rest.

With the defaults a user would choose (each snapshot is a whole library, so the folder
stays within `BOUND` times the library's size):
- the **way back** (the newest valid pre-upgrade snapshot the library differs from: what
  a plain rollback restores) is kept as long as the library is upgraded, whatever else
  happens; a retry never rotates it out;
- the newest valid pre-upgrade snapshot newer than that (it holds the library as it is: a
  restored library's way back again after a redo) is kept;
- of the safety copies (pre-rollback, pre-cleanup), the newest `KEEP_SAFETY` of each kind:
  they undo the last restore or the last fix; an earlier state is still reachable through
  the way back, and every copy more is a whole library more;
- nothing is written twice (`taking` reuses a snapshot that holds exactly the same bytes).
Snapshots that cannot be restored here (damaged, unreadable, another library's) are never
removed automatically (they may be someone's): they are shown, and `prune` with
`unusable=True` (the user's explicit `snapshots prune`) removes them.

Pruning runs after an operation's commit, under the library's lock, the manifest first
and then the copy (`store.remove`): a crash in between leaves a copy without a manifest,
which is no snapshot and goes with the next clean-up of leftovers.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

import apsw

from app.engine import changes, errors, library
from app.engine.steps import REGISTRY
from app.engine.snapshots import identity, store
from app.engine.snapshots.store import PRE_CLEANUP, PRE_ROLLBACK, PRE_UPGRADE, Manifest

log = logging.getLogger(__name__)

KEEP_SAFETY = 1
BOUND = 3

PURPOSE = {
    "way_back": "The library before its upgrade: restoring goes back to it.",
    PRE_UPGRADE: "The library before an earlier upgrade (not the way back now).",
    "earlier": "The library before an earlier upgrade: restoring once more after the way back goes to it.",
    "current": "The library as it is now, from before its upgrade: the way back again if the upgrade is redone.",
    PRE_ROLLBACK: "The upgraded library, saved before it was restored: restore it to redo that upgrade.",
    PRE_CLEANUP: "The library before a clean-up (“Fix these”) changed it.",
}


@dataclass
class Entry:
    manifest: Manifest
    problem: str | None = None
    way_back: bool = False
    keep: bool = False
    current: bool = False  # holds what the library holds now
    earlier: bool = False  # an earlier way back (before an upgrade finished again later)
    disk_bytes: int = 0


@dataclass
class Review:
    """Every snapshot of the folder, judged against the library as it is now."""

    entries: list[Entry] = field(default_factory=list)
    library_bytes: int = 0

    @property
    def way_back(self) -> Manifest | None:
        return next((e.manifest for e in self.entries if e.way_back), None)

    def droppable(self, unusable: bool = False) -> list[Entry]:
        return [e for e in self.entries if not e.keep and (e.problem is None or unusable)]


def attach(conn: apsw.Connection, library_path: str, manifest: Manifest) -> None:
    # ATTACH cannot run inside a transaction, so it comes before BEGIN. Nothing writes to it.
    conn.execute("ATTACH DATABASE ? AS snap", (str(store.file_for(library_path, manifest.id)),))


def same(conn: apsw.Connection, target: Manifest, exact: bool = True) -> bool:
    """Whether the library (main) holds exactly what the snapshot (attached as `snap`)
    holds. The row counts decide at once in the usual case; only when they agree are the
    schema and (when `exact`) the tables compared."""
    if library.row_counts(conn) != target.row_counts:
        return False
    (schema_differs,) = conn.execute(
        "SELECT EXISTS (SELECT type, name, tbl_name, sql FROM main.sqlite_schema "
        "EXCEPT SELECT type, name, tbl_name, sql FROM snap.sqlite_schema) OR EXISTS ("
        "SELECT type, name, tbl_name, sql FROM snap.sqlite_schema "
        "EXCEPT SELECT type, name, tbl_name, sql FROM main.sqlite_schema)").fetchone()
    return not schema_differs and (not exact or not changes.changed_original_tables(conn, []))


def same_as_library(conn: apsw.Connection, library_path: str, manifest: Manifest, exact: bool = True) -> bool:
    """`same`, in one read transaction of its own (one state, whatever another process
    commits)."""
    attach(conn, library_path, manifest)
    try:
        with conn:
            return same(conn, manifest, exact)
    finally:
        conn.execute("DETACH DATABASE snap")


def review(library_path: str, upgraded: bool, protect: tuple[str, ...] = (), exact: bool = True,
           holds: str | None = None) -> Review:
    """Judge every snapshot: whether it validates, which is the way back (only while the
    library is `upgraded`), which are kept. `protect`: ids an operation just made.
    `exact=False` (status and the list, which only show): a snapshot with the library's
    row counts and schema is taken to hold what the library holds, without comparing every
    row (pruning and deleting compare them). Reads the library through a connection of its
    own, outside any transaction. `holds`: the id of a snapshot known to hold exactly what
    the library holds (one just restored), taken as such without comparing."""
    with library.reading(library_path) as conn:
        return _review(conn, library_path, upgraded, protect, exact, holds)


def _review(conn: apsw.Connection, library_path: str, upgraded: bool, protect: tuple[str, ...],
            exact: bool, holds: str | None = None) -> Review:
    library_id = identity.read(conn)
    # Its size as SQLite counts it: a WAL library's file can be larger (until a
    # checkpoint after a restore) or smaller (pages still in the -wal) than its content.
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    page_size = conn.execute("PRAGMA page_size").fetchone()[0]
    found = Review(library_bytes=pages * page_size)
    found.entries = [Entry(m, store.problem(library_path, m, library_id), disk_bytes=_disk_bytes(library_path, m))
                     for m in store.list_manifests(library_path)]
    valid = [e for e in found.entries if e.problem is None]
    _way_back(conn, library_path, [e for e in valid if e.manifest.kind == PRE_UPGRADE], upgraded, exact, holds)
    for kind in (PRE_ROLLBACK, PRE_CLEANUP):
        by_use = sorted((e for e in valid if kind in (e.manifest.kind, *e.manifest.used_as)), key=_last_used)
        for entry in by_use[-KEEP_SAFETY:]:
            entry.keep = True
    for entry in found.entries:
        entry.keep = entry.keep or entry.manifest.id in protect
    _within_bound(found, protect)
    return found


def _way_back(conn: apsw.Connection, library_path: str, upgrades: list[Entry], upgraded: bool,
              exact: bool, holds: str | None) -> None:
    """Mark the way back (the newest pre-upgrade snapshot the library differs from), the
    older ones back to the first at the oldest version (an upgrade finished again later
    has its own way back, which must not cut off the one to before the first), and the
    newest one newer than the way back (it holds what the library holds now)."""
    newest_equal = None
    for index in range(len(upgrades) - 1, -1, -1):
        entry = upgrades[index]
        if entry.manifest.id != holds and not same_as_library(conn, library_path, entry.manifest, exact):
            if upgraded:
                entry.way_back = entry.keep = True
                for older in reversed(upgrades[:index]):
                    if entry.manifest.version <= REGISTRY.oldest:
                        break
                    older.keep = older.earlier = True
                    entry = older
            break
        newest_equal = newest_equal or entry
    if newest_equal is not None:
        newest_equal.keep = newest_equal.current = True


def _disk_bytes(library_path: str, manifest: Manifest) -> int:
    """What a snapshot takes on disk: its copy and its manifest."""
    try:
        return manifest.size_bytes + store.manifest_path(library_path, manifest.id).stat().st_size
    except OSError:  # gone meanwhile: it takes nothing
        return 0


def _last_used(entry: Entry) -> str:
    """When an operation last made or reused it (ids and stamps sort as times)."""
    return max(entry.manifest.id.rsplit("-", 1)[1], entry.manifest.used_at or "")


def _within_bound(found: Review, protect: tuple[str, ...]) -> None:
    """Give up kept copies while the kept ones take more than BOUND times the library:
    first a copy of what the library holds now (the library itself holds it), then safety
    copies, the one used longest ago first; never a way back, never one an operation just
    made (the next pruning judges it)."""
    budget = BOUND * found.library_bytes
    kept = [e for e in found.entries if e.keep]
    total = sum(e.disk_bytes for e in kept)
    for entry in sorted(kept, key=lambda e: (not e.current, _last_used(e))):
        if total <= budget:
            return
        if not (entry.way_back or entry.earlier) and entry.manifest.id not in protect:
            entry.keep = False
            total -= entry.disk_bytes


@dataclass
class Pruned:
    removed: list[str] = field(default_factory=list)
    freed_bytes: int = 0


def prune(library_path: str, upgraded: bool, protect: tuple[str, ...] = (),
          unusable: bool = False, holds: str | None = None) -> Pruned:
    """Remove what `review` does not keep. Call under the library's lock."""
    store.remove_leftovers(library_path)
    pruned = Pruned()
    for entry in review(library_path, upgraded, protect, holds=holds).droppable(unusable):
        if store.remove(library_path, entry.manifest):
            pruned.removed.append(entry.manifest.id)
            pruned.freed_bytes += entry.manifest.size_bytes
    return pruned


def prune_quietly(library_path: str, upgraded: bool, protect: tuple[str, ...], holds: str | None = None) -> None:
    """`prune` after an operation committed: its outcome stands whatever pruning meets."""
    try:
        pruned = prune(library_path, upgraded, protect, holds=holds)
    except Exception:  # the operation committed: nothing after it may turn it into a failure
        log.warning("pruning snapshots failed; the next operation prunes again", exc_info=True)
        return
    if pruned.removed:
        log.info("pruned %d snapshot(s), %d bytes", len(pruned.removed), pruned.freed_bytes)


def make_room(library_path: str, needed: int, kind: str, upgraded: bool, protect: tuple[str, ...] = ()) -> None:
    """The free-space pre-flight, counting what pruning frees: when the disk lacks
    `needed` bytes, first remove what pruning would remove anyway, then the older safety
    copies of `kind` that the new one replaces; DISK_FULL (nothing removed) when even that
    is not enough."""
    margin = needed + library.SPACE_MARGIN
    free = library.free_space(library_path)
    if free >= margin:
        return
    found = review(library_path, upgraded, protect)
    candidates = found.droppable()
    if kind in (PRE_ROLLBACK, PRE_CLEANUP):
        candidates += [e for e in found.entries if e.keep and not e.way_back and e.problem is None
                       and e.manifest.kind == kind and e.manifest.id not in protect]
    if free + sum(e.manifest.size_bytes for e in candidates) < margin:
        raise errors.DiskFull.needing(margin, free)
    for entry in candidates:
        store.remove(library_path, entry.manifest)


def purpose(entry: Entry) -> str:
    role = next((r for r in ("way_back", "earlier", "current") if getattr(entry, r)), entry.manifest.kind)
    return PURPOSE.get(role, "")


__all__ = ["Review", "Entry", "review", "prune", "prune_quietly", "make_room", "same", "attach"]
