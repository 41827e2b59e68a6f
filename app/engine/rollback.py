"""rollback: put the library back as it was just before its upgrade (or as a chosen
snapshot holds it).

Under the lock: find the way back (the newest pre-upgrade snapshot of this library that
the library differs from) or the chosen snapshot, check its hash and its identity (another
library's is refused, force or not), work out what a
restore would discard (rows the user changed or added since the upgrade) while a safety
snapshot of the current state is taken beside it (in its own thread), or, when the
snapshot knows what its upgrade left (`fingerprint`), only when the safety copy's hash
says the library holds something else; refuse unless
forced (and drop the safety snapshot), then copy the snapshot over the library through
the backup API (atomic) and check the result against the manifest. If that check fails,
the safety snapshot is put back.
"""

from __future__ import annotations

import logging

import apsw

from app.engine import changes, errors, library, snapshots
from app.engine.snapshots import fingerprint, identity, retention, store
from app.engine.operation import Context, run
from app.engine.progress import ProgressRegistry, ProgressTracker
from app.engine.results import RollbackResult
from app.engine.steps import REGISTRY, Registry, Step
from app.engine.transaction import WriteTransaction, note_commit, relocked

log = logging.getLogger(__name__)


def rollback(library_path: str, force: bool = False, snapshot_id: str | None = None,
             registry: ProgressRegistry | None = None, steps: Registry | None = None) -> RollbackResult:
    """Restore the way back (the pre-upgrade snapshot), or the snapshot `snapshot_id`.
    `force` restores even when it would discard changes; never a snapshot of another
    library."""
    return run(RollbackResult(), library_path,
               lambda ctx, res: _rollback(ctx, res, force, snapshot_id, steps or REGISTRY),
               writes=True, registry=registry)


def _require_arguments(force: object, snapshot_id: object) -> None:
    if not isinstance(force, bool):
        raise errors.InvalidArgument("force must be true or false.")
    if snapshot_id is not None and not (isinstance(snapshot_id, str) and snapshots.ID_PATTERN.fullmatch(snapshot_id)):
        raise errors.InvalidArgument("That is not a snapshot id (they look like pre-upgrade-20260101T120000000000Z).")


def _rollback(ctx: Context, result: RollbackResult, force: bool, snapshot_id: str | None, steps: Registry) -> None:
    _require_arguments(force, snapshot_id)
    conn = library.connect(ctx.library)
    checked = False
    try:
        # Integrity is checked on the safety copy below: one quick_check pass instead of two.
        info = library.inspect(conn, ctx.library, check_integrity=False)
        result.version_before = info.version
        steps.require_supported(info.version)
        # A library at the oldest version has not been upgraded (an upgrade records a
        # later one); above it, the pre-upgrade snapshot decides.
        if snapshot_id is None and info.version <= steps.oldest:
            # Another process may be upgrading it right now: say so, not "nothing to do".
            with WriteTransaction(conn, ctx.tracker):
                pass
            raise errors.NothingToRollBack()
        ctx.tracker.update("checking")
        library_id = identity.read(conn)
        target = (_chosen(conn, ctx.library, snapshot_id, library_id, ctx.tracker) if snapshot_id
                  else _way_back(conn, ctx.library, library_id, ctx.tracker))
        result.restored_snapshot_id = target.id
        base = _base(ctx.library, target, library_id)

        retention.attach(conn, ctx.library, base)
        try:
            with WriteTransaction(conn, ctx.tracker):
                if snapshot_id is None and library.read_version(conn) <= steps.oldest:
                    raise errors.NothingToRollBack()
                retention.make_room(ctx.library, info.size_bytes, snapshots.PRE_ROLLBACK,
                                    upgraded=info.version > steps.oldest, protect=(target.id, base.id))
                if base is target:
                    _require_changed(conn, target)
                # The steps an upgrade from the snapshot ran, up to the version now.
                chain = [s for s in steps.chain(base.version) if s.target <= info.version]
                unchanged = fingerprint.expected(target, base)
                with snapshots.taking(ctx.library, snapshots.PRE_ROLLBACK, ctx.tracker, info.journal_mode,
                                      library_id or identity.new_id(), writes=False,
                                      extra={"restored": target.id}) as safety_copy:
                    safety_copy.begin()
                    # Hashed afresh (it is about to be restored), beside the copy.
                    snapshots.validate(ctx.library, target, library_id, ctx.tracker, fresh=True)
                    if unchanged is None:  # the comparison only reads: the safety copy runs beside it
                        _refuse_to_lose(ctx, result, base, conn, force, chain)
                    safety = safety_copy.wait()
                    checked = True  # the copy's quick_check read every page of the library
                    if unchanged is not None and safety.content_sha256 != unchanged:
                        # Changed since: only the whole comparison says what a restore discards.
                        _refuse_to_lose(ctx, result, base, conn, force, chain)
                result.safety_snapshot_id = safety.id
                # The write lock is released when this transaction ends and re-taken by the
                # backup's first step; the files' signature proves nobody wrote in between.
                signature = snapshots.file_signature(ctx.library)
        finally:
            conn.execute("DETACH DATABASE snap")
        try:
            restored = snapshots.restore(conn, ctx.library, target, ctx.tracker, signature)
        except (errors.IOFault, errors.DiskFull, errors.DatabaseError) as exc:
            # SQLite can report a disk error from the very end of the backup, after the
            # copy was committed (truncating the file to the snapshot's size): the file,
            # read afresh, tells whether the restore happened.
            if not _restored(ctx.library, target):
                raise
            log.warning("restore reported %s after it had committed", exc.code)
            result.warnings.append(ctx.problem(exc.code, _RESTORED_WITH_ERROR))
            _close_quietly(conn)
            conn = library.connect(ctx.library)
            restored = snapshots.file_signature(ctx.library)
        ctx.tracker.update("verifying")
        try:
            _check_restored(conn, target, info.journal_mode)
        except errors.EngineError:
            if snapshots.file_signature(ctx.library) != restored:
                # The lock was free after the restore and another operation has changed
                # the restored library since: the restore happened, and putting the safety
                # snapshot back would destroy that operation's committed work.
                log.warning("the library changed after the restore; leaving it as it is")
                note_commit("restore")
                result.version = None  # re-read: it is what the other operation made it
                return
            log.error("restored library does not match %s; putting the safety snapshot back", target.id)
            snapshots.restore(conn, ctx.library, safety, ctx.tracker, restored)
            raise errors.RestoreFailed()
        note_commit("restore")
        result.version = target.version
        with relocked(conn) as held:
            if held:
                retention.prune_quietly(ctx.library, target.version > steps.oldest, (safety.id, target.id),
                                        holds=target.id)
    except errors.EngineError as exc:
        if not checked:
            _damage_first(conn, exc)
        raise
    finally:
        conn.close()


# Refusals that say nothing about the file's pages.
_NOT_ABOUT_THE_FILE = (errors.Cancelled, errors.InProgress, errors.InvalidArgument, errors.LibraryCorrupt)


def _damage_first(conn: apsw.Connection, refusal: errors.EngineError) -> None:
    """LIBRARY_CORRUPT instead of `refusal` when the library is damaged: what the user must
    hear first, as the pre-flight's check said it before it moved to the safety copy."""
    if not isinstance(refusal, _NOT_ABOUT_THE_FILE):
        library.require_intact(conn)


def _refuse_to_lose(ctx: Context, result: RollbackResult, base: snapshots.Manifest,
                    conn: apsw.Connection, force: bool, chain: list[Step]) -> None:
    """Find every change made since the upgrade; WOULD_LOSE_DATA unless `force`."""
    result.would_lose = changes.changed_original_tables(conn, chain)
    if chain:
        result.would_lose.update(changes.changed_upgrade_rows(
            ctx.library, str(snapshots.file_for(ctx.library, base.id)), chain, ctx.tracker))
    if result.would_lose and not force:
        raise _would_lose(result.would_lose)


def _way_back(conn: apsw.Connection, library_path: str, library_id: str | None,
              tracker: ProgressTracker) -> snapshots.Manifest:
    """The newest pre-upgrade snapshot of this library that the library differs from. An
    upgrade that failed leaves none behind, but one that crashed may have: it holds the
    library as it still is, so restoring it would change nothing, and the one before it is
    the one to go back to. A library whose stored version was already the latest (the app
    wrote it before migrating any data) may have no other: then there is nothing to roll
    back. Another library's snapshots are passed over; a damaged one of this library's is
    never used, nor skipped."""
    if library_id is None:  # every commit of this app gives the library its identity
        raise errors.NothingToRollBack(
            "This app has not upgraded the library yet, so there is nothing to go back from. "
            "Nothing was changed.")
    candidates = [m for m in snapshots.list_manifests(library_path) if m.kind == snapshots.PRE_UPGRADE]
    if not candidates:
        raise errors.NoSnapshot()
    foreign = 0
    for manifest in reversed(candidates):
        found = snapshots.problem(library_path, manifest, library_id, tracker, hashed=False)  # hashed before use
        if found == store.FOREIGN:
            foreign += 1
            continue
        if found is not None:
            snapshots.validate(library_path, manifest, library_id, tracker, hashed=False)  # raises, as it says why
        if not retention.same_as_library(conn, library_path, manifest):
            return manifest
    if foreign == len(candidates):
        raise errors.SnapshotForeign(_NONE_OF_ITS_OWN)
    raise _nothing_since()


_NONE_OF_ITS_OWN = ("The snapshots beside the library belong to another library (or to an earlier version "
                    "of this app), so none can be restored into this one. Nothing was changed.")


def _chosen(conn: apsw.Connection, library_path: str, snapshot_id: str, library_id: str | None,
            tracker: ProgressTracker) -> snapshots.Manifest:
    """The snapshot the user named: it must exist, validate and belong to this library."""
    manifest = next((m for m in snapshots.list_manifests(library_path) if m.id == snapshot_id), None)
    if manifest is None:
        raise errors.NoSnapshot("There is no snapshot with that id beside the library. Nothing was changed.")
    snapshots.validate(library_path, manifest, library_id, tracker, hashed=False)  # hashed before use
    if retention.same_as_library(conn, library_path, manifest):
        raise errors.NothingToRollBack("The library already holds exactly that snapshot. Nothing was changed.")
    return manifest


def _base(library_path: str, target: snapshots.Manifest, library_id: str | None) -> snapshots.Manifest:
    """What the library held right after the operation that followed `target`, as far as
    a snapshot tells: for a copy taken before a restore, the snapshot that restore put
    back (so a redo discards only what changed since); otherwise `target` itself (the
    upgrade's steps are replayed from it; after a clean-up its own fixes count as changes)."""
    restored = target.extra.get("restored")
    if target.kind == snapshots.PRE_ROLLBACK and restored:
        base = next((m for m in snapshots.list_manifests(library_path) if m.id == restored), None)
        if base is not None and snapshots.problem(library_path, base, library_id) is None:
            return base
    return target


def _nothing_since() -> errors.NothingToRollBack:
    return errors.NothingToRollBack(
        "The library is exactly as it was before its last upgrade attempt, which did not "
        "finish, so there is nothing to go back from. Nothing was changed.")


def _require_changed(conn: apsw.Connection, target: snapshots.Manifest) -> None:
    """`_way_back`'s answer, again under the write lock: another process may have written."""
    if retention.same(conn, target):
        raise _nothing_since()


_RESTORED_WITH_ERROR = ("The library was restored, but the disk reported an error at the very end. "
                        "Check the disk.")


def _restored(library_path: str, target: snapshots.Manifest) -> bool:
    """Whether the library, opened afresh, now holds exactly the snapshot's content."""
    try:
        with library.opened(library_path) as fresh:
            library.require_intact(fresh)
            return (library.read_version(fresh) == target.version
                    and library.row_counts(fresh) == target.row_counts)
    except (errors.EngineError, apsw.Error):
        return False


def _close_quietly(conn: apsw.Connection) -> None:
    try:
        conn.close()
    except apsw.Error:
        log.warning("closing the connection after a failed restore step failed", exc_info=True)


def _would_lose(lost: dict[str, int]) -> errors.WouldLoseData:
    parts = ", ".join(f"{table} ({n})" for table, n in sorted(lost.items()))
    return errors.WouldLoseData(
        "The library has changed since the upgrade, and restoring it would discard those "
        f"changes: {parts}. Nothing was changed. Restore with force (--force) to discard them anyway.",
        lost=lost)


def _check_restored(conn: apsw.Connection, target: snapshots.Manifest, journal_mode: str) -> None:
    library.require_intact(conn)
    if library.read_version(conn) != target.version or library.row_counts(conn) != target.row_counts:
        raise errors.RestoreFailed()
    if library.journal_mode(conn) != journal_mode:
        conn.execute(f"PRAGMA journal_mode = {journal_mode}")
