"""Recordings whose text is not UTF-8: the rules' input read as bytes, the output kept exact.

The app wrote lone surrogates (an emoji cut in half) as bytes that are not UTF-8, and
apsw cannot decode them. Such a row is read again with its text as bytes (see
`rows.Layout.select_sql(raw=True)`). What the rules derive (titles, formats, action
items) is computed from the text decoded with U+FFFD for what cannot be decoded; what
they copy (summary, times, names, paths, ids) keeps its exact bytes, as `Raw`, which the
data pass inserts with `CAST(? AS TEXT)`: the same bytes, stored as text.
"""

from __future__ import annotations

from app.engine.steps.v11 import rules


class Raw(bytes):
    """Stored text that is not valid UTF-8, to be written back byte for byte."""


def _value(kind: str, value: object) -> object:
    if kind == "text" and isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return Raw(value)
    return value


def _text(value: object) -> object:
    return value.decode("utf-8", "replace") if isinstance(value, Raw) else value


def rows_for(row: tuple) -> rules.CaptureRows:
    """The rules for one row of `select_sql(raw=True)`: (type, value) pairs, then whether
    the meeting exists."""
    values = [_value(row[i], row[i + 1]) for i in range(0, len(row) - 1, 2)]
    src = rules.Source._make([*values, row[-1]])
    out = rules.rows_for_recording(rules.Source._make([*map(_text, values), row[-1]]))
    capture = list(out.capture)
    # Copied values (rules 3-5): the exact bytes, where they were not UTF-8.
    capture[2] = src.summary if isinstance(src.summary, Raw) and capture[2] is not None else capture[2]
    if capture[3] is not None:
        capture[3:6] = [src.meeting_id, src.correlation_confidence, src.correlation_method]
    capture[6:8] = [src.id, src.date_recorded]
    audio = list(out.audio_source)
    audio[3:5] = [src.file_path, src.filename]
    cid, aid = rules.capture_id(src.id), rules.audio_source_id(src.id)
    capture[0], audio[0], audio[1] = cid, aid, cid
    items = [(rules.action_item_id(src.id, i), cid, *item[2:]) for i, item in enumerate(out.action_items)]
    return rules.CaptureRows(tuple(capture), tuple(audio), items, out.dangling_meeting)
