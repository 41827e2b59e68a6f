"""migrate: upgrade a V10 library to V11, all or nothing.

The flow: pre-flight (what the file is, whether it can be written, free space) -> the
write lock -> re-read the version -> one transaction for the schema, the data, the
indexes, the verification, a quick_check of the tables it wrote and the version row,
while a snapshot of the library as it was is taken (in its own thread in WAL mode, first in
rollback-journal mode; its quick_check doubles as the library's, the copy holding exactly
the library's pages; on a big WAL library, the data pass runs half in a helper process
and the copy after it, see `split_pass`) -> COMMIT only when all of them hold and the
snapshot is on disk.
Any error or a cancel rolls the transaction back and keeps a finished snapshot; a retry
reuses it when the library still matches it byte for byte.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import apsw

from app.engine import capture_rows, library, schema, snapshots, split_pass, verify
from app.engine.operation import Context, run
from app.engine.progress import ProgressRegistry
from app.engine.results import MigrateResult
from app.engine.transaction import WriteTransaction

log = logging.getLogger(__name__)

def migrate(library_path: str, registry: ProgressRegistry | None = None) -> MigrateResult:
    """Upgrade the library at `library_path` to V11. Never raises for expected failures."""
    return run(MigrateResult(), library_path, _migrate, writes=True, registry=registry)


def _migrate(ctx: Context, result: MigrateResult) -> None:
    conn = library.connect(ctx.library)
    helper = split_pass.Helper(snapshots.snapshot_dir(ctx.library))
    try:
        # Integrity is checked on the snapshot below: one quick_check pass instead of two.
        info = library.inspect(conn, ctx.library, check_integrity=False)
        result.version_before = info.version
        # The version decides only under the lock: another process may be upgrading or
        # rolling back right now, and then the answer is IN_PROGRESS, not a guess.
        with WriteTransaction(conn, ctx.tracker) as txn:
            version = result.version_before = library.read_version(conn)
            if version == library.TARGET_VERSION:
                _already_done(ctx, result)
                return
            library.require_supported(version, (library.SOURCE_VERSION,))
            library.require_free_space(ctx.library, info.size_bytes + info.size_bytes // 2)
            with snapshots.taking(ctx.library, snapshots.PRE_UPGRADE, ctx.tracker,
                                  info.journal_mode) as snapshot:
                try:
                    # Rollback-journal mode has no helper: a reader would stop the writer.
                    _upgrade(conn, txn, ctx, result, snapshot,
                             helper if info.journal_mode == "wal" else None)
                except BaseException:
                    result.snapshot_id = snapshot.settled_id()
                    raise
                result.snapshot_id = snapshot.wait().id
            ctx.tracker.update("committing")
            txn.commit()
        result.version = library.TARGET_VERSION
    finally:
        try:
            helper.detach(conn)  # the transaction is over: DETACH is allowed
            conn.close()
        finally:
            helper.close()  # after the connection: it may have the helper's file attached


def _already_done(ctx: Context, result: MigrateResult) -> None:
    result.version = library.TARGET_VERSION
    result.verified = True
    result.warnings.append(ctx.problem(
        "ALREADY_UPGRADED", "The library is already at version 11. Nothing was changed."))


def _upgrade(conn: apsw.Connection, txn: WriteTransaction, ctx: Context, result: MigrateResult,
             snapshot: snapshots.Taking, helper: split_pass.Helper | None) -> None:
    """Schema, data, indexes, verification and version row, inside the caller's transaction,
    while `snapshot` is taken; `helper` may compute part of the rows in a second process."""
    ctx.tracker.update("schema")
    schema.apply_v11(conn)

    total = capture_rows.total(conn)
    ctx.tracker.update("migrating", 0, total)

    def on_batch(processed: int) -> None:
        txn.check_cancel()
        snapshot.raise_if_failed()
        ctx.tracker.update("migrating", processed, total)

    # Two cores: the snapshot copies beside the data pass, unless a helper process takes
    # the second core for part of the data pass; then the copy runs beside what follows
    # (publish, indexes, verification, all in SQLite, on one core).
    start = split_pass.split_point(conn, total) if helper is not None else None
    if start is None:
        snapshot.begin()
    counts, helper_rows = split_pass.stage(conn, ctx.library, on_batch, helper, start)
    snapshot.begin()
    migrated_at = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    result.recordings_skipped = capture_rows.mark_recordings(conn, migrated_at, also=helper_rows)
    capture_rows.publish(conn, also=helper_rows)
    if helper is not None:
        helper.discard_scratch()
    ctx.tracker.update("migrating", total, total, message="building indexes")
    schema.apply_v11_indexes(conn)

    ctx.tracker.update("verifying")
    verify.verify_upgrade(conn, verify.Expected(captures=counts.captures, action_items=counts.action_items))
    # The pages this transaction wrote, checked before COMMIT (a failure still rolls back);
    # the snapshot's quick_check already covered every page the library held before.
    for table in verify.WRITTEN_TABLES:
        library.require_intact(conn, table)
    conn.execute("INSERT INTO schema_version (version) VALUES (?)", (library.TARGET_VERSION,))
    result.verified = True
    result.captures_created = result.audio_sources_created = counts.captures
    result.action_items_created = counts.action_items
    result.dangling_meeting_refs = counts.dangling_meetings
    if counts.dangling_meetings:
        result.warnings.append(ctx.problem(
            "DANGLING_MEETING_REF",
            f"{counts.dangling_meetings} recording(s) pointed at a meeting that no longer "
            "exists; their captures were made without a meeting.", count=counts.dangling_meetings))
