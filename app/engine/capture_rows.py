"""The upgrade's data pass: V10 rows in, V11 rows out, in key order, in batches.

One read of the transcribed recordings (joined with their transcript and meeting) in
recording-id order; `rules.rows_for_recording` turns each into its capture, audio source
and action items; batches go with `executemany` into plain staging tables in temp storage
(appends, no index). Then one INSERT ... SELECT ... ORDER BY id per table moves them into
the V11 tables: their ids are UUIDs, and inserting them in key order keeps the primary-key
index writes sequential instead of scattered over the whole file (measured: the random
order was most of the upgrade's time). The same pass serves migrate (from `main` into the
V11 tables) and rollback (from a snapshot into a scratch database, to tell the upgrade's
rows from the user's).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import apsw

from app.engine import rules

BATCH = 2000  # recordings per batch: one cancel check and one progress event each

ELIGIBLE = """
SELECT r.id, r.filename, r.file_path, r.file_size, r.duration_seconds, r.date_recorded,
       r.meeting_id, r.correlation_confidence, r.correlation_method, r.on_local, r.is_imported,
       t.title_suggestion, t.summary, t.action_items, m.id IS NOT NULL
FROM {src}.recordings AS r
JOIN {src}.transcripts AS t ON t.recording_id = r.id
LEFT JOIN {src}.meetings AS m ON m.id = r.meeting_id
{where}
ORDER BY r.id
"""
COUNT = "SELECT count(*) FROM {src}.recordings r JOIN {src}.transcripts t ON t.recording_id = r.id"

CAPTURE_COLUMNS = ("id", "title", "summary", "meeting_id", "correlation_confidence",
                   "correlation_method", "source_recording_id", "captured_at")
AUDIO_COLUMNS = ("id", "knowledge_capture_id", "source_type", "local_path", "file_name",
                 "file_size", "duration_seconds", "format")
ITEM_COLUMNS = ("id", "knowledge_capture_id", "content", "assignee", "due_date", "priority",
                "status", "extracted_from")


@dataclass(frozen=True)
class Targets:
    """Where the rows go."""

    captures: str = "main.knowledge_captures"
    audio_sources: str = "main.audio_sources"
    action_items: str = "main.action_items"


STAGE = Targets("temp.stage_captures", "temp.stage_audio_sources", "temp.stage_action_items")
_STAGED = ((STAGE.captures, "knowledge_captures", CAPTURE_COLUMNS),
           (STAGE.audio_sources, "audio_sources", AUDIO_COLUMNS),
           (STAGE.action_items, "action_items", ITEM_COLUMNS))


@dataclass
class Counts:
    captures: int = 0
    action_items: int = 0
    dangling_meetings: int = 0

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.captures + other.captures, self.action_items + other.action_items,
                      self.dangling_meetings + other.dangling_meetings)


def _insert(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def total(conn: apsw.Connection, source: str = "main") -> int:
    return conn.execute(COUNT.format(src=source)).fetchone()[0]


def write_rows(conn: apsw.Connection, source: str = "main", targets: Targets = Targets(),
               on_batch: Callable[[int], None] = lambda processed: None,
               start: str | None = None, stop: str | None = None) -> Counts:
    """Read every transcribed recording of `source` and write its V11 rows to `targets`.

    `start` / `stop`: only recordings with `start <= id < stop` (either may be None).
    `on_batch(processed)` runs after each batch (progress, cancel checks); it may raise.
    Reading and writing share one connection: SQLite allows inserts into other tables
    while a SELECT is being stepped.
    """
    insert_capture = _insert(targets.captures, CAPTURE_COLUMNS)
    insert_audio = _insert(targets.audio_sources, AUDIO_COLUMNS)
    insert_item = _insert(targets.action_items, ITEM_COLUMNS)
    counts = Counts()
    captures: list[tuple] = []
    audio: list[tuple] = []
    items: list[tuple] = []
    make, rows_for = rules.Source._make, rules.rows_for_recording

    def flush() -> None:
        conn.executemany(insert_capture, captures)
        conn.executemany(insert_audio, audio)
        if items:
            conn.executemany(insert_item, items)
        counts.captures += len(captures)
        counts.action_items += len(items)
        captures.clear(), audio.clear(), items.clear()
        on_batch(counts.captures)

    bounds = [("r.id >= ?", start), ("r.id < ?", stop)]
    where = " AND ".join(clause for clause, value in bounds if value is not None)
    sql = ELIGIBLE.format(src=source, where=f"WHERE {where}" if where else "")
    for row in conn.execute(sql, [value for _, value in bounds if value is not None]):
        out = rows_for(make(row))
        captures.append(out.capture)
        audio.append(out.audio_source)
        items.extend(out.action_items)
        counts.dangling_meetings += out.dangling_meeting
        if len(captures) >= BATCH:
            flush()
    if captures:
        flush()
    return counts


def create_stage(conn: apsw.Connection, schema: str = "temp") -> Targets:
    """The staging tables (plain appends, no index), in `schema`: temp, or a helper's file."""
    for staged, _, columns in _STAGED:
        conn.execute(f"CREATE TABLE {schema}.{staged.split('.')[1]} ({', '.join(columns)})")
    return Targets(*(f"{schema}.{staged.split('.')[1]}" for staged, _, _ in _STAGED))


def stage(conn: apsw.Connection, source: str = "main",
          on_batch: Callable[[int], None] = lambda processed: None, stop: str | None = None) -> Counts:
    """Compute the V11 rows of `source` (of recordings below `stop`, if given) into the
    temp staging tables."""
    return write_rows(conn, source, create_stage(conn), on_batch, stop=stop)


def _staged(staged: str, columns: tuple[str, ...], also: str | None) -> str:
    """The staged rows, and those a helper staged in the attached schema `also` (recordings
    above the stage's own: the union stays in recording-id order)."""
    cols = ", ".join(columns)
    rows = f"SELECT {cols} FROM {staged}"
    return f"{rows} UNION ALL SELECT {cols} FROM {also}.{staged.split('.')[1]}" if also else rows


def publish(conn: apsw.Connection, target: str = "main", also: str | None = None) -> None:
    """Move the staged rows (and a helper's, see `_staged`) into the V11 tables of
    `target`, in key order; drop the stage."""
    for staged, table, columns in _STAGED:
        conn.execute(f"INSERT INTO {target}.{table} ({', '.join(columns)}) "
                     f"SELECT * FROM ({_staged(staged, columns, also)}) ORDER BY id")
    for staged, _, _ in _STAGED:
        conn.execute(f"DROP TABLE {staged}")


def mark_recordings(conn: apsw.Connection, migrated_at: str, also: str | None = None) -> int:
    """Rule 8 and rule 1's second half; returns how many recordings were skipped.

    Driven by the staged captures, which are in recording-id order. Call before `publish`.
    """
    captures = _staged(STAGE.captures, ("id", "source_recording_id"), also)
    conn.execute(f"""UPDATE recordings SET migration_status = 'migrated',
        migrated_to_capture_id = k.id, migrated_at = ?
        FROM ({captures}) AS k WHERE k.source_recording_id = recordings.id""", (migrated_at,))
    # Every recording with a transcript got a capture above; the rest have none to get.
    conn.execute("UPDATE recordings SET migration_status = 'skipped' WHERE migration_status = 'pending'")
    return conn.changes()
