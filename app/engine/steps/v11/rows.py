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

from app.engine.library import quote_ident
from app.engine.steps.v11 import rules, undecodable

BATCH = 2000  # recordings per batch: one cancel check and one progress event each

# What the rules read, in `rules.Source` order. Of these only recordings(id, filename,
# date_recorded) and transcripts(recording_id) are required; an absent column reads NULL.
RECORDING_COLUMNS = ("id", "filename", "file_path", "file_size", "duration_seconds", "date_recorded",
                     "meeting_id", "correlation_confidence", "correlation_method", "on_local",
                     "is_imported")
TRANSCRIPT_COLUMNS = ("title_suggestion", "summary", "action_items")

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


STAGE = Targets("temp.stage_knowledge_captures", "temp.stage_audio_sources", "temp.stage_action_items")
_STAGED = ((STAGE.captures, "knowledge_captures", CAPTURE_COLUMNS),
           (STAGE.audio_sources, "audio_sources", AUDIO_COLUMNS),
           (STAGE.action_items, "action_items", ITEM_COLUMNS))


@dataclass
class Counts:
    captures: int = 0
    action_items: int = 0
    dangling_meetings: int = 0
    undecodable: int = 0  # recordings whose text was not all UTF-8

    def __add__(self, other: Counts) -> Counts:
        return Counts(self.captures + other.captures, self.action_items + other.action_items,
                      self.dangling_meetings + other.dangling_meetings, self.undecodable + other.undecodable)


def _insert(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


def total(conn: apsw.Connection, source: str = "main") -> int:
    """How many recordings the data pass will turn into captures."""
    return conn.execute(Layout.read(conn, source).count_sql()).fetchone()[0]


def write_rows(conn: apsw.Connection, source: str = "main", targets: Targets = Targets(),
               on_batch: Callable[[int], None] = lambda processed: None,
               start: str | bytes | None = None, stop: str | bytes | None = None) -> Counts:
    """Read every eligible recording of `source` and write its V11 rows to `targets`.

    `start` / `stop`: only recordings with `start <= id < stop` (either may be None).
    `on_batch(processed)` runs after each batch (progress, cancel checks); it may raise.
    Reading and writing share one connection: SQLite allows inserts into other tables
    while a SELECT is being stepped.

    Text that is not UTF-8 stops apsw's reading of a row: that row is read again with its
    text as bytes (`undecodable`), and the reading goes on after it.
    """
    layout = Layout.read(conn, source)
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

    after: str | bytes | None = None  # the last recording read
    while True:
        bounds = _bounds(start, stop, after)
        try:
            for row in conn.execute(layout.select_sql(bounds), [v for _, v in bounds]):
                after = row[0]
                out = rows_for(make(row))
                captures.append(out.capture)
                audio.append(out.audio_source)
                items.extend(out.action_items)
                counts.dangling_meetings += out.dangling_meeting
                if len(captures) >= BATCH:
                    flush()
            break
        except UnicodeDecodeError:  # the next row holds text that is not UTF-8
            bounds = _bounds(start, stop, after)
            row = conn.execute(layout.select_sql(bounds, raw=True) + " LIMIT 1", [v for _, v in bounds]).fetchone()
            # (type, value) pairs: the id as stored, text as its bytes (bound back as text)
            after = undecodable.Raw(row[1]) if row[0] == "text" else row[1]
            out = undecodable.rows_for(row)
            _insert_raw(conn, targets.captures, CAPTURE_COLUMNS, [out.capture])
            _insert_raw(conn, targets.audio_sources, AUDIO_COLUMNS, [out.audio_source])
            _insert_raw(conn, targets.action_items, ITEM_COLUMNS, out.action_items)
            counts.captures += 1
            counts.action_items += len(out.action_items)
            counts.dangling_meetings += out.dangling_meeting
            counts.undecodable += 1
    if captures:
        flush()
    return counts


def _bounds(start: object, stop: object, after: object) -> list[tuple[str, object]]:
    """The id range still to read, as (clause, value) pairs. An id as `undecodable.Raw`
    (text that is not UTF-8, as its bytes) is bound as the text it is; any other value
    (text, a number, a BLOB) as it is, so it compares as the stored id does."""
    def bound(op: str, value: object) -> tuple[str, object]:
        if isinstance(value, undecodable.Raw):
            return f"r.id {op} CAST(? AS TEXT)", bytes(value)
        return f"r.id {op} ?", value
    bounds = [bound(">", after)] if after is not None else [bound(">=", start)]
    bounds.append(bound("<", stop))
    return [(clause, value) for clause, value in bounds if value is not None]


def _insert_raw(conn: apsw.Connection, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert rows whose `undecodable.Raw` values are text bytes to keep exactly."""
    for row in rows:
        marks = ", ".join("CAST(? AS TEXT)" if isinstance(v, undecodable.Raw) else "?" for v in row)
        conn.execute(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                     [bytes(v) if isinstance(v, undecodable.Raw) else v for v in row])


class Layout:
    """The source library's columns as they are, and the data pass's SQL built from them:
    an optional column that is absent reads NULL; a library without V11 tables or
    migration columns has every recording eligible."""

    def __init__(self, source: str, recordings: set[str], transcripts: set[str],
                 captures: set[str], one_transcript_each: bool = True) -> None:
        self.source = source
        self.recordings, self.transcripts, self.captures = recordings, transcripts, captures
        self.one_transcript_each = one_transcript_each

    @classmethod
    def read(cls, conn: apsw.Connection, source: str = "main") -> Layout:
        def cols(table: str) -> set[str]:
            return {r[1].lower() for r in conn.execute(f"PRAGMA {source}.table_info({table})")}
        unique = any(
            row[2] and [r[2].lower() for r in conn.execute(f"PRAGMA {source}.index_info({quote_ident(row[1])})")
                        if r[2]] == ["recording_id"]
            for row in conn.execute(f"PRAGMA {source}.index_list(transcripts)"))
        rowid = conn.execute("SELECT NOT wr FROM pragma_table_list WHERE schema = ? AND name = 'transcripts'",
                             (source,)).fetchone()
        return cls(source, cols("recordings"), cols("transcripts"), cols("knowledge_captures"),
                   one_transcript_each=unique or not (rowid and rowid[0]))

    def _col(self, alias: str, name: str) -> str:
        have = self.recordings if alias == "r" else self.transcripts
        return f"{alias}.{quote_ident(name)}" if name in have else "NULL"

    def pending(self, alias: str = "r") -> str:
        """A recording not (validly) migrated: no status, pending, error, any value outside
        the four (counted as an error by status), or migrated to a capture that does not
        exist."""
        if "migration_status" not in self.recordings:
            return "1"
        status = f"{alias}.migration_status"
        if "id" in self.captures and "migrated_to_capture_id" in self.recordings:
            exists = (f"EXISTS (SELECT 1 FROM {self.source}.knowledge_captures k "
                      f"WHERE k.id = {alias}.migrated_to_capture_id)")
        else:
            exists = "0"
        return (f"(coalesce({status}, 'pending') NOT IN ('migrated', 'skipped') "
                f"OR ({status} = 'migrated' AND NOT {exists}))")

    def done(self, alias: str = "r") -> str:
        """Migrated to a capture that exists: left alone."""
        if "migration_status" not in self.recordings:
            return "0"
        return f"NOT {self.pending(alias)} AND coalesce({alias}.migration_status, '') = 'migrated'"

    def named(self, alias: str = "r") -> str:
        """A capture names the recording as its source. (A list built once, not a lookup
        per recording: a library's captures need not have an index on their source.)"""
        if "source_recording_id" not in self.captures:
            return "0"
        return (f"{alias}.id IN (SELECT source_recording_id FROM {self.source}.knowledge_captures "
                f"WHERE source_recording_id IS NOT NULL)")

    def unnamed(self, alias: str = "r") -> str:
        """No capture names the recording as its source (a NULL id is named by none)."""
        return f"coalesce(NOT ({self.named(alias)}), 1)"

    def _from(self) -> str:
        src = self.source
        # One transcript a recording: the app's UNIQUE(recording_id) says so; where a
        # library lacks it, the first one written (the smallest rowid) is the one.
        first = ("" if self.one_transcript_each else
                 f" AND t.rowid = (SELECT min(t2.rowid) FROM {src}.transcripts t2 WHERE t2.recording_id = r.id)")
        return (f"FROM {src}.recordings AS r JOIN {src}.transcripts AS t ON t.recording_id = r.id{first} "
                f"WHERE {self.pending()} AND {self.unnamed()}")

    def count_sql(self) -> str:
        return f"SELECT count(*) {self._from()}"

    def select_sql(self, bounds: list[tuple[str, object]], raw: bool = False) -> str:
        cols = [self._col("r", c) for c in RECORDING_COLUMNS] + [self._col("t", c) for c in TRANSCRIPT_COLUMNS]
        if raw:  # every value as it is stored: text as its bytes, with its type beside it
            cols = [f"typeof({c}), CASE typeof({c}) WHEN 'text' THEN CAST({c} AS BLOB) ELSE {c} END"
                    for c in cols]
        meeting = self._col("r", "meeting_id")
        exists = (f"EXISTS (SELECT 1 FROM {self.source}.meetings AS m WHERE m.id = {meeting})"
                  if meeting != "NULL" else "0")
        where = "".join(f" AND {clause}" for clause, _ in bounds)
        return f"SELECT {', '.join(cols)}, {exists} {self._from()}{where} ORDER BY r.id"


def create_stage(conn: apsw.Connection, schema: str = "temp") -> Targets:
    """The staging tables (plain appends, no index), in `schema`: temp, or a helper's file."""
    for stage_table, _, columns in _STAGED:
        conn.execute(f"CREATE TABLE {schema}.{stage_table.split('.')[1]} ({', '.join(columns)})")
    return Targets(*(f"{schema}.{stage_table.split('.')[1]}" for stage_table, _, _ in _STAGED))


def stage(conn: apsw.Connection, source: str = "main",
          on_batch: Callable[[int], None] = lambda processed: None, stop: str | None = None) -> Counts:
    """Compute the V11 rows of `source` (of recordings below `stop`, if given) into the
    temp staging tables."""
    return write_rows(conn, source, create_stage(conn), on_batch, stop=stop)


def staged(table: str, columns: tuple[str, ...], also: str | None = None) -> str:
    """A SELECT of the staged rows of `table` (a V11 table's name), and of those a helper
    staged in the attached schema `also` (recordings above the stage's own: the union
    stays in recording-id order)."""
    name = f"stage_{table}"
    cols = ", ".join(columns)
    rows = f"SELECT {cols} FROM temp.{name}"
    return f"{rows} UNION ALL SELECT {cols} FROM {also}.{name}" if also else rows


def publish(conn: apsw.Connection, target: str = "main", also: str | None = None) -> None:
    """Copy the staged rows (and a helper's, see `staged`) into the V11 tables of
    `target`, in key order. The stage stays for the verification (`drop_stage`)."""
    for _, table, columns in _STAGED:
        conn.execute(f"INSERT INTO {target}.{table} ({', '.join(columns)}) "
                     f"SELECT * FROM ({staged(table, columns, also)}) ORDER BY id")


def drop_stage(conn: apsw.Connection) -> None:
    for stage_table, _, _ in _STAGED:
        conn.execute(f"DROP TABLE {stage_table}")


# ---- the recordings' migration columns --------------------------------------------------
# Parameterised by where the recordings, the captures that existed before and the
# transcripts are: the upgrade runs them on the library, rollback's "would lose" check on
# a scratch copy of the recordings' keys, from a snapshot.

def adopt(conn: apsw.Connection, migrated_at: str, recordings: str, prior: str | None) -> int:
    """A recording that a capture existing before names as its source, but that is not
    migrated to an existing capture, is marked migrated to the oldest such capture
    (by created_at, then id). Returns how many."""
    if prior is None:
        return 0
    conn.execute(f"""UPDATE {recordings} AS rec SET migration_status = 'migrated',
        migrated_to_capture_id = a.capture, migrated_at = ?
        FROM (SELECT source_recording_id AS rid, id AS capture,
                     row_number() OVER (PARTITION BY source_recording_id ORDER BY created_at, id) AS n
              FROM {prior} WHERE source_recording_id IS NOT NULL) AS a
        WHERE a.n = 1 AND a.rid = rec.id AND NOT (rec.migration_status IS 'migrated'
          AND EXISTS (SELECT 1 FROM {prior} k WHERE k.id = rec.migrated_to_capture_id))""", (migrated_at,))
    return conn.changes()


def mark(conn: apsw.Connection, migrated_at: str, recordings: str, also: str | None = None) -> None:
    """Rule 8: each recording the stage made a capture of is migrated to it. Driven by
    the staged captures, which are in recording-id order."""
    captures = staged("knowledge_captures", ("id", "source_recording_id"), also)
    conn.execute(f"""UPDATE {recordings} AS rec SET migration_status = 'migrated',
        migrated_to_capture_id = k.id, migrated_at = ?
        FROM ({captures}) AS k WHERE k.source_recording_id = rec.id""", (migrated_at,))


def skip(conn: apsw.Connection, recordings: str, transcripts: str, prior: str | None) -> int:
    """Rule 1's second half: a recording still waiting for the upgrade (`Layout.pending`)
    without a transcript has nothing to become: skipped. Returns how many."""
    dangling = (f"NOT EXISTS (SELECT 1 FROM {prior} k WHERE k.id = rec.migrated_to_capture_id)"
                if prior else "1")
    conn.execute(f"""UPDATE {recordings} AS rec SET migration_status = 'skipped'
        WHERE (coalesce(rec.migration_status, 'pending') NOT IN ('migrated', 'skipped')
               OR (rec.migration_status = 'migrated' AND {dangling}))
          AND NOT EXISTS (SELECT 1 FROM {transcripts} t WHERE t.recording_id = rec.id)""")
    return conn.changes()
