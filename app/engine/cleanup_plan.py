"""What "Fix these" would do, counted step by step, and the preview's samples in words a
user recognises. Reads only.

The clean-up preview (`cleanup.preview_cleanup`) counts the problems; a user who is asked
to confirm the fix needs to know what it does to them: which transcripts move to the
recording kept, how many go with the duplicates, how many search embeddings go, and which
meeting links are cleared (a link held by a duplicate that is removed goes with it, so it
is counted once, as a recording removed). This module counts those in one read
transaction, with the clean-up's own ranking of duplicates (`cleanup.rank_duplicates`,
into temp storage, which is this connection's, not the library's) and SQL that mirrors
each step of `cleanup.STEPS`. tests/test_cleanup_plan.py checks the counts against what
`run_cleanup` then reports.

The samples name recordings by their file name (the last part only: a stored name may
hold the user's folders) and date, and transcripts by their suggested title and date,
instead of internal ids. Text is read as bytes and decoded with U+FFFD: a library's text
need not be UTF-8.
"""

from __future__ import annotations

import re

import apsw
from pydantic import BaseModel, Field

from app.engine import library
from app.engine.cleanup import ORPHANED_TRANSCRIPTS, rank_duplicates
from app.engine.operation import Context, run
from app.engine.progress import ProgressRegistry
from app.engine.results import OperationResult
from app.engine.steps import REGISTRY

OPERATION = "cleanup-plan"


class FixCounts(BaseModel):
    """What each step of the fix would change, under `CleanupResult`'s names where it has one."""

    duplicate_recordings_removed: int = 0
    transcripts_moved: int = 0
    duplicate_transcripts_removed: int = 0  # transcripts of removed duplicates that do not move
    orphaned_transcripts_removed: int = 0
    embeddings_removed: int = 0
    invalid_meeting_refs_fixed: int = 0  # on recordings that stay
    meeting_refs_on_duplicates: int = 0  # go with their recording: not cleared twice


class Label(BaseModel):
    """A sample as a user knows it: a file name and a date, or a title and a date."""

    filename: str | None = None
    title: str | None = None
    date: str | None = None


class CleanupPlan(OperationResult):
    operation: str = OPERATION
    fix: FixCounts = Field(default_factory=FixCounts)
    # Sample id (as the preview gives it) -> its label, per finding.
    recordings: dict[str, Label] = Field(default_factory=dict)
    transcripts: dict[str, Label] = Field(default_factory=dict)


def plan_cleanup(library_path: str, sample_ids: dict[str, list[str]] | None = None,
                 registry: ProgressRegistry | None = None) -> CleanupPlan:
    """The fix's counts, and labels for `sample_ids` ({"recordings": [...], "transcripts": [...]})."""
    ids = sample_ids or {}
    return run(CleanupPlan(), library_path, lambda ctx, res: _plan(ctx, res, ids), writes=False, registry=registry)


def _plan(ctx: Context, result: CleanupPlan, ids: dict[str, list[str]]) -> None:
    with library.reading(ctx.library) as conn:
        conn.execute("BEGIN")
        try:
            result.version = library.read_version(conn)
            REGISTRY.require_supported(result.version)
            result.fix = fix_counts(conn)
            result.recordings = recording_labels(conn, ids.get("recordings", []))
            result.transcripts = transcript_labels(conn, ids.get("transcripts", []))
        except apsw.Error as exc:
            raise library.translate(exc, OPERATION) from exc
        finally:
            conn.execute("ROLLBACK")  # drops the temp ranking with it


def _columns(conn: apsw.Connection, table: str) -> set[str]:
    return {c.lower() for c in library.column_names(conn, table)}


def _one(conn: apsw.Connection, sql: str) -> int:
    return conn.execute(sql).fetchone()[0]


def fix_counts(conn: apsw.Connection) -> FixCounts:
    """Each step's count, in the order `cleanup.STEPS` runs them."""
    rank_duplicates(conn)
    created = "t.created_at" if "created_at" in _columns(conn, "transcripts") else "NULL"
    # Step 1's choice: for a kept recording without a transcript, its duplicates' earliest one moves.
    conn.execute(f"""CREATE TEMP TABLE plan_moved AS
        SELECT (SELECT t.id FROM transcripts t JOIN dup_remove d ON d.id = t.recording_id
                WHERE d.keeper = k.keeper ORDER BY {created}, d.rn, t.id LIMIT 1) AS id
        FROM (SELECT DISTINCT keeper FROM dup_remove) k
        WHERE NOT EXISTS (SELECT 1 FROM transcripts t2 WHERE t2.recording_id = k.keeper)""")
    conn.execute("DELETE FROM temp.plan_moved WHERE id IS NULL")
    counts = FixCounts(
        duplicate_recordings_removed=_one(conn, "SELECT count(*) FROM dup_remove"),
        transcripts_moved=_one(conn, "SELECT count(*) FROM temp.plan_moved"),
        duplicate_transcripts_removed=_one(conn, "SELECT count(*) FROM transcripts WHERE recording_id IN (SELECT "
                                                 "id FROM dup_remove) AND id NOT IN (SELECT id FROM temp.plan_moved)"),
        orphaned_transcripts_removed=_one(conn, f"SELECT count(*) FROM ({ORPHANED_TRANSCRIPTS})"))
    if "transcript_id" in _columns(conn, "embeddings"):
        # A transcript stays when its recording stays, or when it moves to the recording kept.
        counts.embeddings_removed = _one(conn, """SELECT count(*) FROM embeddings e WHERE NOT EXISTS (
            SELECT 1 FROM transcripts t WHERE t.id = e.transcript_id
              AND (t.id IN (SELECT id FROM temp.plan_moved)
                   OR (t.recording_id NOT IN (SELECT id FROM dup_remove)
                       AND EXISTS (SELECT 1 FROM recordings r WHERE r.id = t.recording_id))))""")
    if "meeting_id" in _columns(conn, "recordings"):
        invalid = ("meeting_id IS NOT NULL AND NOT EXISTS "
                   "(SELECT 1 FROM meetings m WHERE m.id = recordings.meeting_id)")
        counts.invalid_meeting_refs_fixed = _one(
            conn, f"SELECT count(*) FROM recordings WHERE {invalid} AND id NOT IN (SELECT id FROM dup_remove)")
        counts.meeting_refs_on_duplicates = _one(
            conn, f"SELECT count(*) FROM recordings WHERE {invalid} AND id IN (SELECT id FROM dup_remove)")
    return counts


def _text(column: str) -> str:
    """A column read as stored, text as its bytes (decoded in Python, with U+FFFD)."""
    return f"CASE typeof({column}) WHEN 'text' THEN CAST({column} AS BLOB) ELSE {column} END"


def _readable(value: object) -> str | None:
    if value is None:
        return None
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return text.strip() or None


def _base_name(name: str | None) -> str | None:
    return None if name is None else re.split(r"[\\/]", name)[-1]


def recording_labels(conn: apsw.Connection, ids: list[str]) -> dict[str, Label]:
    """File name and recording date of each recording id that exists, by the id as text."""
    return {rid: Label(filename=_base_name(name), date=date)
            for rid, (name, date) in _named(conn, "recordings", ("filename", "date_recorded"), ids).items()}


def transcript_labels(conn: apsw.Connection, ids: list[str]) -> dict[str, Label]:
    """Suggested title and creation date of each transcript id that exists, by the id as text."""
    return {tid: Label(title=title, date=date)
            for tid, (title, date) in _named(conn, "transcripts", ("title_suggestion", "created_at"), ids).items()}


def _named(conn: apsw.Connection, table: str, columns: tuple[str, str], ids: list[str]) -> dict[str, tuple]:
    """The two `columns` (readable text; NULL for one the library lacks) of each row of
    `table` whose id is in `ids`, by the id as text."""
    have = _columns(conn, table)
    cols = ", ".join(_text(c) if c in have else "NULL" for c in columns)
    found = {}
    for key in dict.fromkeys(ids):
        row = conn.execute(f"SELECT {cols} FROM {table} WHERE id = ?", (key,)).fetchone()
        if row is not None:
            found[str(key)] = tuple(_readable(v) for v in row)
    return found
