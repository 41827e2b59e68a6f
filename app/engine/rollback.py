"""rollback: put the library back as it was just before its upgrade.

Under the lock: find and hash-check the newest pre-upgrade snapshot, work out what a
restore would discard (rows the user changed or added since the upgrade) while a safety
snapshot of the current state is taken beside it (in its own thread), refuse unless
forced (and drop the safety snapshot), then copy the snapshot over the library through
the backup API (atomic) and check the result against the manifest. If that check fails,
the safety snapshot is put back.
"""

from __future__ import annotations

import logging

import apsw

from app.engine import changes, errors, library, snapshots
from app.engine.operation import Context, run
from app.engine.progress import ProgressRegistry
from app.engine.results import RollbackResult
from app.engine.steps import REGISTRY, Registry, Step
from app.engine.transaction import WriteTransaction, note_commit

log = logging.getLogger(__name__)


def rollback(library_path: str, force: bool = False,
             registry: ProgressRegistry | None = None, steps: Registry | None = None) -> RollbackResult:
    """Restore the pre-upgrade snapshot. `force` restores even when it would discard changes."""
    return run(RollbackResult(), library_path, lambda ctx, res: _rollback(ctx, res, force, steps or REGISTRY),
               writes=True, registry=registry)


def _rollback(ctx: Context, result: RollbackResult, force: bool, steps: Registry) -> None:
    if not isinstance(force, bool):
        raise errors.InvalidArgument("force must be true or false.")
    conn = library.connect(ctx.library)
    try:
        info = library.inspect(conn, ctx.library)
        result.version_before = info.version
        steps.require_supported(info.version)
        # A library at the oldest version has not been upgraded (an upgrade records a
        # later one); above it, the pre-upgrade snapshot decides.
        if info.version <= steps.oldest:
            # Another process may be upgrading it right now: say so, not "nothing to do".
            with WriteTransaction(conn, ctx.tracker):
                pass
            raise errors.NothingToRollBack()
        ctx.tracker.update("checking")
        target = _target(conn, ctx.library)
        result.restored_snapshot_id = target.id
        library.require_free_space(ctx.library, info.size_bytes)

        _attach(conn, ctx.library, target)
        try:
            with WriteTransaction(conn, ctx.tracker):
                if library.read_version(conn) <= steps.oldest:
                    raise errors.NothingToRollBack()
                _require_changed(conn, target)
                with snapshots.taking(ctx.library, snapshots.PRE_ROLLBACK, ctx.tracker,
                                      info.journal_mode, writes=False) as safety_copy:
                    # The comparison only reads: the safety copy runs beside it.
                    safety_copy.begin()
                    try:
                        # The steps an upgrade from the snapshot ran, up to the version now.
                        chain = [s for s in steps.chain(target.version) if s.target <= info.version]
                        _refuse_to_lose(ctx, result, target, conn, force, chain)
                        safety = safety_copy.wait()
                    except BaseException:
                        safety_copy.discard()  # only a restore needs it, and none will run
                        raise
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
    finally:
        conn.close()


def _refuse_to_lose(ctx: Context, result: RollbackResult, target: snapshots.Manifest,
                    conn: apsw.Connection, force: bool, chain: list[Step]) -> None:
    """Find every change made since the upgrade; WOULD_LOSE_DATA unless `force`."""
    result.would_lose = changes.changed_original_tables(conn, chain)
    result.would_lose.update(changes.changed_upgrade_rows(
        ctx.library, str(snapshots.file_for(ctx.library, target.id)), chain, ctx.tracker))
    if result.would_lose and not force:
        raise _would_lose(result.would_lose)


def _target(conn: apsw.Connection, library_path: str) -> snapshots.Manifest:
    """The newest pre-upgrade snapshot that the library differs from. An upgrade that
    failed or was cancelled keeps its snapshot, of the library as it still is: restoring
    it would change nothing, so the snapshot before it is the one to go back to. A library
    whose stored version was already the latest (the app wrote it before migrating any
    data) may have no other: then there is nothing to roll back."""
    candidates = [m for m in snapshots.list_manifests(library_path) if m.kind == snapshots.PRE_UPGRADE]
    if not candidates:
        raise errors.NoSnapshot()
    for manifest in reversed(candidates):
        snapshots.validate(library_path, manifest)  # a damaged one is never used, nor skipped
        _attach(conn, library_path, manifest)
        try:
            with conn:  # one read transaction: one state, whatever another process commits
                same = _same(conn, manifest)
        finally:
            conn.execute("DETACH DATABASE snap")
        if not same:
            return manifest
    raise _nothing_since()


def _nothing_since() -> errors.NothingToRollBack:
    return errors.NothingToRollBack(
        "The library is exactly as it was before its last upgrade attempt, which did not "
        "finish, so there is nothing to go back from. Nothing was changed.")


def _same(conn: apsw.Connection, target: snapshots.Manifest) -> bool:
    """Whether the library (main) holds exactly what the snapshot (attached as `snap`)
    holds. The row counts decide at once in the usual case; only when they agree are the
    schema and the tables compared."""
    if library.row_counts(conn) != target.row_counts:
        return False
    (schema_differs,) = conn.execute(
        "SELECT EXISTS (SELECT type, name, tbl_name, sql FROM main.sqlite_schema "
        "EXCEPT SELECT type, name, tbl_name, sql FROM snap.sqlite_schema) OR EXISTS ("
        "SELECT type, name, tbl_name, sql FROM snap.sqlite_schema "
        "EXCEPT SELECT type, name, tbl_name, sql FROM main.sqlite_schema)").fetchone()
    return not schema_differs and not changes.changed_original_tables(conn, [])


def _require_changed(conn: apsw.Connection, target: snapshots.Manifest) -> None:
    """`_target`'s answer, again under the write lock: another process may have written."""
    if _same(conn, target):
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


def _attach(conn: apsw.Connection, library_path: str, target: snapshots.Manifest) -> None:
    # ATTACH cannot run inside a transaction, so it comes before BEGIN. Nothing writes to it.
    conn.execute("ATTACH DATABASE ? AS snap", (str(snapshots.file_for(library_path, target.id)),))


def _would_lose(lost: dict[str, int]) -> errors.WouldLoseData:
    parts = ", ".join(f"{table} ({n})" for table, n in sorted(lost.items()))
    return errors.WouldLoseData(
        "The library has changed since the upgrade, and restoring it would discard those "
        f"changes: {parts}. Nothing was changed. Restore with force to discard them anyway.",
        lost=lost)


def _check_restored(conn: apsw.Connection, target: snapshots.Manifest, journal_mode: str) -> None:
    library.require_intact(conn)
    if library.read_version(conn) != target.version or library.row_counts(conn) != target.row_counts:
        raise errors.RestoreFailed()
    if library.journal_mode(conn) != journal_mode:
        conn.execute(f"PRAGMA journal_mode = {journal_mode}")
