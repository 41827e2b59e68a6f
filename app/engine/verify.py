"""Verification of an upgrade, inside its transaction, scoped to what this run created.

Each check is a query that must return zero (or the expected count). A failed check names
itself in the log; the user sees VERIFICATION_FAILED and a library exactly as before.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import apsw

from app.engine import errors, schema
from app.engine.library import V11_TABLES, quote_ident

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Expected:
    """What the data pass says it wrote."""

    captures: int
    action_items: int


def _one(conn: apsw.Connection, sql: str) -> int:
    return conn.execute(sql).fetchone()[0]


def failed_checks(conn: apsw.Connection, expected: Expected) -> list[str]:
    counts = {
        "captures == migrated recordings": (
            "SELECT count(*) FROM knowledge_captures", expected.captures),
        "recordings marked migrated": (
            "SELECT count(*) FROM recordings WHERE migration_status = 'migrated'", expected.captures),
        "action items == parsed items": ("SELECT count(*) FROM action_items", expected.action_items),
        "one audio source per capture": ("SELECT count(*) FROM audio_sources", expected.captures),
        "no recording left pending": (
            "SELECT count(*) FROM recordings WHERE coalesce(migration_status, 'pending') = 'pending'", 0),
        "transcribed recordings are migrated": (
            "SELECT count(*) FROM recordings r WHERE r.migration_status <> 'migrated' "
            "AND EXISTS (SELECT 1 FROM transcripts t WHERE t.recording_id = r.id)", 0),
        "untranscribed recordings are skipped": (
            "SELECT count(*) FROM recordings r WHERE r.migration_status <> 'skipped' "
            "AND NOT EXISTS (SELECT 1 FROM transcripts t WHERE t.recording_id = r.id)", 0),
        "recording -> capture links agree": (
            "SELECT count(*) FROM recordings r WHERE r.migration_status = 'migrated' AND NOT EXISTS "
            "(SELECT 1 FROM knowledge_captures k WHERE k.id = r.migrated_to_capture_id "
            "AND k.source_recording_id = r.id)", 0),
        "captures have title and time": (
            "SELECT count(*) FROM knowledge_captures WHERE title IS NULL OR trim(title) = '' "
            "OR captured_at IS NULL", 0),
        "action items have content": (
            "SELECT count(*) FROM action_items WHERE content IS NULL OR trim(content) = ''", 0),
    }
    failed = [name for name, (sql, want) in counts.items() if _one(conn, sql) != want]
    for table in V11_TABLES:
        if conn.execute(f"PRAGMA foreign_key_check({quote_ident(table)})").fetchone() is not None:
            failed.append(f"foreign keys of {table}")
    if diffs := schema.differences(conn):
        failed.append("schema equals canonical: " + ", ".join(diffs))
    return failed


def verify_upgrade(conn: apsw.Connection, expected: Expected) -> None:
    failed = failed_checks(conn, expected)
    if failed:
        log.error("upgrade verification failed: %s", failed)
        raise errors.VerificationFailed(checks=failed)
