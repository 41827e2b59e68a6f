"""migrate: upgrade a V10 library to V11, all or nothing.

The flow: pre-flight (what the file is, whether it can be written, free space) -> the
write lock -> re-read the version -> a snapshot -> one transaction for the schema, the
data, the verification and the version row -> COMMIT only when verification holds ->
quick_check. Any error or a cancel rolls the transaction back and leaves the snapshot; a
retry reuses it when the library still matches it byte for byte.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import apsw

from app.engine import errors, library, rules, schema, snapshots, verify
from app.engine.operation import Context, run
from app.engine.progress import ProgressRegistry
from app.engine.results import MigrateResult
from app.engine.transaction import WriteTransaction

log = logging.getLogger(__name__)

BATCH = 500  # recordings per insert batch: one progress event and cancel check each

ELIGIBLE = """
SELECT r.id, r.filename, r.file_path, r.file_size, r.duration_seconds, r.date_recorded,
       r.meeting_id, r.correlation_confidence, r.correlation_method, r.on_local, r.is_imported,
       t.title_suggestion, t.summary, t.action_items, m.id IS NOT NULL AS meeting_exists
FROM recordings r
JOIN transcripts t ON t.recording_id = r.id
LEFT JOIN meetings m ON m.id = r.meeting_id
WHERE coalesce(r.migration_status, 'pending') = 'pending'
ORDER BY r.id
"""
COLUMNS = ("id", "filename", "file_path", "file_size", "duration_seconds", "date_recorded",
           "meeting_id", "correlation_confidence", "correlation_method", "on_local", "is_imported",
           "title_suggestion", "summary", "action_items")

INSERT_CAPTURE = """INSERT INTO knowledge_captures (id, title, summary, meeting_id,
  correlation_confidence, correlation_method, source_recording_id, captured_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?)"""
INSERT_AUDIO = """INSERT INTO audio_sources (id, knowledge_capture_id, source_type, local_path,
  file_name, file_size, duration_seconds, format) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"""
INSERT_ITEM = """INSERT INTO action_items (id, knowledge_capture_id, content, assignee, due_date,
  priority, status, extracted_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"""
MARK_MIGRATED = """UPDATE recordings SET migration_status = 'migrated',
  migrated_to_capture_id = k.id, migrated_at = ?
  FROM knowledge_captures AS k WHERE k.source_recording_id = recordings.id"""
MARK_SKIPPED = """UPDATE recordings SET migration_status = 'skipped'
  WHERE coalesce(migration_status, 'pending') = 'pending'
  AND NOT EXISTS (SELECT 1 FROM transcripts t WHERE t.recording_id = recordings.id)"""


def migrate(library_path: str, registry: ProgressRegistry | None = None) -> MigrateResult:
    """Upgrade the library at `library_path` to V11. Never raises for expected failures."""
    return run(MigrateResult(), library_path, _migrate, writes=True, registry=registry)


def _migrate(ctx: Context, result: MigrateResult) -> None:
    conn = library.connect(ctx.library)
    try:
        info = library.inspect(conn, ctx.library)
        result.version_before = info.version
        if info.version == library.TARGET_VERSION:
            _already_done(ctx, result)
            return
        library.require_free_space(ctx.library, info.size_bytes + info.size_bytes // 2)
        conn.execute("PRAGMA temp_store = MEMORY")  # not allowed once the transaction began
        with WriteTransaction(conn, ctx.tracker) as txn:
            version = library.read_version(conn)  # another process may have upgraded meanwhile
            if version == library.TARGET_VERSION:
                _already_done(ctx, result)
                return
            library.require_supported(version, (library.SOURCE_VERSION,))
            snapshot = snapshots.take(ctx.library, snapshots.PRE_UPGRADE, ctx.tracker, info.journal_mode)
            result.snapshot_id = snapshot.id
            _upgrade(conn, txn, ctx, result)
            snapshots.record_fingerprint(ctx.library, snapshot, verify.fingerprint(conn))
            ctx.tracker.update("committing")
            txn.commit()
        library.require_intact(conn)
        result.version = library.TARGET_VERSION
    finally:
        conn.close()


def _already_done(ctx: Context, result: MigrateResult) -> None:
    result.version = library.TARGET_VERSION
    result.verified = True
    result.warnings.append(ctx.problem(
        "ALREADY_UPGRADED", "The library is already at version 11. Nothing was changed."))


def _upgrade(conn: apsw.Connection, txn: WriteTransaction, ctx: Context, result: MigrateResult) -> None:
    """Schema, data, verification and version row, all inside the caller's transaction."""
    ctx.tracker.update("schema")
    schema.apply_v11(conn)

    total = conn.execute("SELECT count(*) FROM transcripts t JOIN recordings r ON r.id = t.recording_id").fetchone()[0]
    ctx.tracker.update("migrating", 0, total)
    processed = items = dangling = 0
    batch: list[rules.CaptureRows] = []
    for row in conn.execute(ELIGIBLE):
        rec = dict(zip(COLUMNS, row))
        batch.append(rules.rows_for_recording(rec, meeting_exists=bool(row[-1])))
        if len(batch) >= BATCH:
            items, dangling = _write(conn, batch, items, dangling)
            processed += len(batch)
            batch = []
            txn.check_cancel()
            ctx.tracker.update("migrating", processed, total)
    items, dangling = _write(conn, batch, items, dangling)
    processed += len(batch)
    ctx.tracker.update("migrating", processed, total)

    migrated_at = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    conn.execute(MARK_MIGRATED, (migrated_at,))
    conn.execute(MARK_SKIPPED)
    result.recordings_skipped = conn.changes()

    ctx.tracker.update("verifying")
    verify.verify_upgrade(conn, verify.Expected(captures=processed, action_items=items))
    conn.execute("INSERT INTO schema_version (version) VALUES (?)", (library.TARGET_VERSION,))
    result.verified = True
    result.captures_created = result.audio_sources_created = processed
    result.action_items_created = items
    result.dangling_meeting_refs = dangling
    if dangling:
        result.warnings.append(ctx.problem(
            "DANGLING_MEETING_REF",
            f"{dangling} recording(s) pointed at a meeting that no longer exists; their "
            "captures were made without a meeting.", count=dangling))


def _write(conn: apsw.Connection, batch: list[rules.CaptureRows], items: int, dangling: int) -> tuple[int, int]:
    if not batch:
        return items, dangling
    conn.executemany(INSERT_CAPTURE, [b.capture for b in batch])
    conn.executemany(INSERT_AUDIO, [b.audio_source for b in batch])
    item_rows = [item for b in batch for item in b.action_items]
    if item_rows:
        conn.executemany(INSERT_ITEM, item_rows)
    return items + len(item_rows), dangling + sum(b.dangling_meeting for b in batch)
