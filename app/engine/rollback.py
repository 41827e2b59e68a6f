"""rollback: put the library back as it was just before its upgrade.

Under the lock: find and hash-check the newest pre-upgrade snapshot, work out what a
restore would discard (rows the user changed or added since the upgrade), refuse unless
forced, take a safety snapshot of the current state, then copy the snapshot over the
library through the backup API (atomic) and check the result against the manifest. If that
check fails, the safety snapshot is put back.
"""

from __future__ import annotations

import logging

import apsw

from app.engine import errors, library, snapshots, verify
from app.engine.library import quote_ident
from app.engine.operation import Context, run
from app.engine.progress import ProgressRegistry
from app.engine.results import RollbackResult
from app.engine.transaction import WriteTransaction

log = logging.getLogger(__name__)


def rollback(library_path: str, force: bool = False,
             registry: ProgressRegistry | None = None) -> RollbackResult:
    """Restore the pre-upgrade snapshot. `force` restores even when it would discard changes."""
    return run(RollbackResult(), library_path, lambda ctx, res: _rollback(ctx, res, force),
               writes=True, registry=registry)


def _rollback(ctx: Context, result: RollbackResult, force: bool) -> None:
    if not isinstance(force, bool):
        raise errors.InvalidArgument("force must be true or false.")
    conn = library.connect(ctx.library)
    try:
        info = library.inspect(conn, ctx.library)
        result.version_before = info.version
        if info.version != library.TARGET_VERSION:
            raise errors.NothingToRollBack()
        target = snapshots.latest(ctx.library, snapshots.PRE_UPGRADE)
        if target is None:
            raise errors.NoSnapshot()
        ctx.tracker.update("checking")
        snapshots.validate(ctx.library, target)
        result.restored_snapshot_id = target.id
        library.require_free_space(ctx.library, info.size_bytes)

        _attach(conn, ctx.library, target)
        try:
            with WriteTransaction(conn, ctx.tracker):
                if library.read_version(conn) != library.TARGET_VERSION:
                    raise errors.NothingToRollBack()
                result.would_lose = changes_since_upgrade(conn, target)
                if result.would_lose and not force:
                    raise _would_lose(result.would_lose)
                safety = snapshots.take(ctx.library, snapshots.PRE_ROLLBACK, ctx.tracker, info.journal_mode)
                result.safety_snapshot_id = safety.id
                # The write lock is released when this transaction ends and re-taken by the
                # backup's first step; the files' signature proves nobody wrote in between.
                signature = snapshots.file_signature(ctx.library)
        finally:
            conn.execute("DETACH DATABASE snap")
        snapshots.restore(conn, ctx.library, target, ctx.tracker, signature)
        ctx.tracker.update("verifying")
        try:
            _check_restored(conn, target, info.journal_mode)
        except errors.EngineError:
            log.error("restored library does not match %s; putting the safety snapshot back", target.id)
            snapshots.restore(conn, ctx.library, safety, ctx.tracker, snapshots.file_signature(ctx.library))
            raise errors.RestoreFailed()
        result.version = target.version
    finally:
        conn.close()


def _attach(conn: apsw.Connection, library_path: str, target: snapshots.Manifest) -> None:
    # ATTACH cannot run inside a transaction, so it comes before BEGIN. Nothing writes to it.
    conn.execute("ATTACH DATABASE ? AS snap", (str(snapshots.file_for(library_path, target.id)),))


def changes_since_upgrade(conn: apsw.Connection, target: snapshots.Manifest) -> dict[str, int]:
    """Per table, how many rows a restore would discard that the upgrade did not write."""
    lost: dict[str, int] = {}
    # Tables that were there before the upgrade (V10 and the library's own): every row
    # added, removed or changed since, compared on the columns the snapshot has.
    for table in sorted(library.table_names(conn, "snap")):
        if table == "schema_version":
            continue
        cols = ", ".join(quote_ident(c) for c in library.column_names(conn, table, "snap"))
        name = quote_ident(table)
        if table not in library.table_names(conn):
            lost[table] = conn.execute(f"SELECT count(*) FROM snap.{name}").fetchone()[0]
            continue
        n = conn.execute(
            f"SELECT (SELECT count(*) FROM (SELECT {cols} FROM main.{name} EXCEPT SELECT {cols} FROM snap.{name}))"
            f" + (SELECT count(*) FROM (SELECT {cols} FROM snap.{name} EXCEPT SELECT {cols} FROM main.{name}))"
        ).fetchone()[0]
        if n:
            lost[table] = n
    # Tables the user added after the upgrade.
    known = set(library.table_names(conn, "snap")) | set(library.V11_TABLES)
    for table in sorted(library.table_names(conn) - known):
        lost[table] = conn.execute(f"SELECT count(*) FROM main.{quote_ident(table)}").fetchone()[0]
    # The upgrade's own tables: anything but exactly what it wrote.
    recorded = target.upgrade_fingerprint
    if recorded is None:
        lost["upgrade record"] = 1  # cannot tell what changed: refuse unless forced
        return lost
    for table, (count, digest) in verify.fingerprint(conn).items():
        if recorded.get(table) != (count, digest):
            # A hash tells that rows changed, not how many: report the rows added or
            # removed, and at least one.
            then = recorded.get(table, (0, ""))[0]
            lost[table] = max(1, abs(count - then))
    return lost


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
