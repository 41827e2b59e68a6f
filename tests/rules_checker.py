"""The rules checker at the level of stored bytes: a library's text need not be UTF-8.

`expected_rows` is what the documented rules (`app.engine.steps.v11.rules`) make of one
stored recording: values the rules copy keep their stored bytes, and what they derive is
the rules applied to the text decoded with U+FFFD. Every text value is compared as its
bytes (`_t` reads a column that way).
"""

from __future__ import annotations

from pathlib import Path

import apsw

from app.engine.steps.v11 import rules

CAPTURE = ("id", "title", "summary", "meeting_id", "correlation_confidence", "correlation_method",
           "source_recording_id", "captured_at")
AUDIO = ("id", "knowledge_capture_id", "source_type", "local_path", "file_name", "file_size",
         "duration_seconds", "format")
ITEM = ("id", "knowledge_capture_id", "content", "assignee", "due_date", "priority", "status",
        "extracted_from")


def stored(value: object) -> object:
    """A value as compared: text by its bytes, the rest as it is."""
    return value.encode("utf-8", "surrogatepass") if isinstance(value, str) else value


def t(column: str) -> str:
    """`column` read with its text as bytes."""
    return f"CASE typeof({column}) WHEN 'text' THEN CAST({column} AS BLOB) ELSE {column} END"


def sources(path: Path, ids: tuple[str, ...]) -> dict[bytes, dict]:
    """The rules' inputs of the recordings `ids`, as stored (absent columns: None)."""
    conn = apsw.Connection(str(path), flags=apsw.SQLITE_OPEN_READONLY)
    try:
        have = {t: {r[1] for r in conn.execute(f"PRAGMA table_info({t})")} for t in ("recordings", "transcripts")}
        cols = [(f"r.{c}" if c in have["recordings"] else "NULL", c) for c in
                ("id", "filename", "file_path", "file_size", "duration_seconds", "date_recorded", "meeting_id",
                 "correlation_confidence", "correlation_method", "on_local", "is_imported")]
        cols += [(f"t.{c}" if c in have["transcripts"] else "NULL", c) for c in
                 ("title_suggestion", "summary", "action_items")]
        meeting = cols[6][0]
        sql = (f"SELECT {', '.join(t(expr) for expr, _ in cols)}, "
               f"{meeting} IN (SELECT id FROM meetings) FROM recordings r "
               "JOIN transcripts t ON t.recording_id = r.id")
        wanted = {i.encode("utf-8", "surrogatepass") if isinstance(i, str) else i for i in ids}
        out = {}
        for row in conn.execute(sql):
            if row[0] in wanted:
                out[row[0]] = {**dict(zip((c for _, c in cols), row[:-1])), "meeting_exists": int(bool(row[-1]))}
        return out
    finally:
        conn.close()


def _decoded(value: object) -> object:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def expected_rows(source: dict) -> tuple[tuple, tuple, set]:
    """What the rules make of one stored recording, every text value as bytes."""
    made = rules.rows_for_recording(rules.Source(**{k: _decoded(v) for k, v in source.items()}))
    rid = source["id"]
    cid, aid = rules.capture_id(rid), rules.audio_source_id(rid)
    capture = [stored(v) for v in made.capture]
    capture[0] = stored(cid)
    if capture[2] is not None:
        capture[2] = source["summary"]  # copied: the stored bytes
    if capture[3] is not None:
        capture[3], capture[5] = source["meeting_id"], source["correlation_method"]
    capture[6], capture[7] = rid, source["date_recorded"]
    audio = [stored(v) for v in made.audio_source]
    audio[0], audio[1], audio[3], audio[4] = stored(aid), stored(cid), source["file_path"], source["filename"]
    items = {tuple([stored(rules.action_item_id(rid, i)), stored(cid),
                    *(stored(v) for v in item[2:])]) for i, item in enumerate(made.action_items)}
    return tuple(capture), tuple(audio), items
