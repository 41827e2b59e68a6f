"""Verification of the V11 step, inside its transaction, scoped to what this run made.

A library may hold captures from earlier attempts (the original per-row migration, the
user's own): they are not this run's to judge. So each check looks at this run's rows
(the stage, still there after publishing, and the recordings this run marked, by their
`migrated_at`), at counts against those read before the run, and at the schema the step
completes. Each check is a query that must return the expected count; a failed one names
itself in the log, and the user sees VERIFICATION_FAILED and a library exactly as before.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import apsw

from app.engine import completion, errors
from app.engine.steps.v11 import rows

log = logging.getLogger(__name__)

# The tables an upgrade writes pages of (V11 tables it fills, and recordings it marks).
WRITTEN_TABLES = ("knowledge_captures", "audio_sources", "action_items", "recordings")
COUNTED = ("knowledge_captures", "audio_sources", "action_items", "recordings")


@dataclass(frozen=True)
class Expected:
    """What the data pass says it wrote, and the counts from before it."""

    captures: int
    action_items: int
    adopted: int
    before: dict[str, int]
    migrated_at: str
    also: str | None  # the helper's attached stage, if any


def counts(conn: apsw.Connection) -> dict[str, int]:
    return {t: conn.execute(f"SELECT count(*) FROM main.{t}").fetchone()[0] for t in COUNTED}


def _one(conn: apsw.Connection, sql: str, params: tuple = ()) -> int:
    return conn.execute(sql, params).fetchone()[0]


def failed_checks(conn: apsw.Connection, expected: Expected, spec: completion.Spec) -> list[str]:
    e, at = expected, (expected.migrated_at,)
    captures = rows.staged("knowledge_captures", rows.CAPTURE_COLUMNS, e.also)
    audio = rows.staged("audio_sources", rows.AUDIO_COLUMNS, e.also)
    items = rows.staged("action_items", rows.ITEM_COLUMNS, e.also)
    after = counts(conn)
    checks = {
        "captures added": (after["knowledge_captures"], e.before["knowledge_captures"] + e.captures),
        "one audio source per new capture": (after["audio_sources"], e.before["audio_sources"] + e.captures),
        "action items added == parsed items": (after["action_items"], e.before["action_items"] + e.action_items),
        "no recording added or removed": (after["recordings"], e.before["recordings"]),
        "staged captures": (_one(conn, f"SELECT count(*) FROM ({captures})"), e.captures),
        "recordings marked by this run": (_one(conn, "SELECT count(*) FROM recordings "
                                               "WHERE migration_status = 'migrated' AND migrated_at = ?", at),
                                          e.captures + e.adopted),
        # Each recording this run marked names a capture that names it back. EXCEPT sorts
        # both sides and reads them in order; a lookup per recording took 3x longer. It
        # compares without column affinity: the ids as text (a library's ids need not be).
        "recording <-> capture links agree": (_one(conn, """SELECT count(*) FROM (
            SELECT CAST(id AS TEXT), migrated_to_capture_id FROM recordings
            WHERE migrated_at = ? AND migration_status = 'migrated'
            EXCEPT SELECT CAST(source_recording_id AS TEXT), id FROM knowledge_captures)""", at), 0),
        "no transcribed recording left to upgrade": (_one(conn, f"""SELECT count(*) FROM recordings r
            WHERE {rows.Layout.read(conn).pending()}
            AND EXISTS (SELECT 1 FROM transcripts t WHERE t.recording_id = r.id)"""), 0),
        "no untranscribed recording left pending": (_one(conn, """SELECT count(*) FROM recordings r
            WHERE coalesce(r.migration_status, 'pending') NOT IN ('migrated', 'skipped')
            AND NOT EXISTS (SELECT 1 FROM transcripts t WHERE t.recording_id = r.id)"""), 0),
        "new captures have title and time": (_one(conn, f"""SELECT count(*) FROM ({captures})
            WHERE title IS NULL OR trim(title) = '' OR captured_at IS NULL"""), 0),
        "new action items have content": (_one(conn, f"""SELECT count(*) FROM ({items})
            WHERE content IS NULL OR trim(content) = ''"""), 0),
        # Foreign keys of this run's rows (the library's own may dangle: not ours to judge).
        "new captures' meetings exist": (_one(conn, f"""SELECT count(*) FROM ({captures}) s
            WHERE s.meeting_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM meetings m WHERE m.id = s.meeting_id)"""), 0),
        "new captures' recordings exist": (_one(conn, f"""SELECT count(*) FROM ({captures}) s
            WHERE NOT EXISTS (SELECT 1 FROM recordings r WHERE r.id = s.source_recording_id)"""), 0),
        "new audio sources' captures exist": (_one(conn, f"""SELECT count(*) FROM ({audio}) s
            WHERE NOT EXISTS (SELECT 1 FROM knowledge_captures k WHERE k.id = s.knowledge_capture_id)"""), 0),
        "new action items' captures exist": (_one(conn, f"""SELECT count(*) FROM ({items}) s
            WHERE NOT EXISTS (SELECT 1 FROM knowledge_captures k WHERE k.id = s.knowledge_capture_id)"""), 0),
    }
    failed = [name for name, (got, want) in checks.items() if got != want]
    if lacking := completion.missing(conn, spec):
        failed.append("canonical schema present: lacks " + ", ".join(lacking))
    return failed


def verify_upgrade(conn: apsw.Connection, expected: Expected, spec: completion.Spec) -> None:
    failed = failed_checks(conn, expected, spec)
    if failed:
        log.error("upgrade verification failed: %s", failed)
        raise errors.VerificationFailed(checks=failed)
