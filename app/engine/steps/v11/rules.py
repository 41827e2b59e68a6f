"""The V10 -> V11 data rules, in one place, as plain functions of one source row.

This is the reference for what an upgraded library holds: the migration applies it, the
verification trusts it, and tests pin every edge case of it. "Trimmed" means Python's
`str.strip()` (all whitespace), and "JSON" means strict RFC 8259 (no NaN, no Infinity,
no JSON5), everywhere.
"""

from __future__ import annotations

import json
import re
import uuid
from hashlib import sha1
from typing import Any, NamedTuple

# Fixed namespace for the deterministic ids: an upgrade after a rollback yields the same ids.
ID_NAMESPACE = uuid.UUID("6f1c3b0e-2d7a-5c4e-9b8f-1a2b3c4d5e6f")

UNTITLED = "Untitled recording"
EXTRACTED_FROM = "transcript"

_TEXT_KEYS = ("text", "description", "task", "action", "title")
_ASSIGNEE_KEYS = ("assignee", "owner", "assigned_to")
_DUE_KEYS = ("due_date", "deadline", "due")
_KNOWN_KEYS = frozenset(_TEXT_KEYS + _ASSIGNEE_KEYS + _DUE_KEYS + ("priority", "status", "done"))

_PRIORITIES = {"low": "low", "medium": "medium", "high": "high", "urgent": "urgent",
               "critical": "urgent", "normal": "medium"}
_STATUSES = {"pending": "pending", "in_progress": "in_progress", "completed": "completed",
             "cancelled": "cancelled", "done": "completed", "complete": "completed",
             "canceled": "cancelled"}

# A leading bullet on a plain-text line: -, *, • (with or without a space), or 1. / 1)
# followed by a space or the end (so "1.5 hours" keeps its number).
_BULLET = re.compile(r"^(?:[-*\u2022]|\d+[.)](?=\s|$))")


_NAMESPACE_SHA1 = sha1(ID_NAMESPACE.bytes)  # copied per id: cheaper than hashing it again


_VARIANT = {c: "89ab"[int(c, 16) & 0x3] for c in "0123456789abcdef"}


def _uuid5(name: str | bytes) -> str:
    """str(uuid.uuid5(ID_NAMESPACE, name)), as text directly (the hot path of the upgrade):
    the SHA-1 of namespace + name, with the version nibble 5 and the RFC 4122 variant."""
    digest = _NAMESPACE_SHA1.copy()
    digest.update(name if isinstance(name, bytes) else name.encode("utf-8"))
    h = digest.hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


def _name(prefix: str, recording_id: object, suffix: str = "") -> str | bytes:
    """The id's name; a recording id stored as text that is not UTF-8 arrives as its
    bytes, and is named by them (the same bytes give the same id); an id stored as a
    number is named by its text."""
    if isinstance(recording_id, bytes):
        return prefix.encode() + recording_id + suffix.encode()
    return prefix + (recording_id if isinstance(recording_id, str) else str(recording_id)) + suffix


def capture_id(recording_id: str | bytes) -> str:
    return _uuid5(_name("knowledge_capture:", recording_id))


def audio_source_id(recording_id: str | bytes) -> str:
    return _uuid5(_name("audio_source:", recording_id))


def action_item_id(recording_id: str | bytes, index: int) -> str:
    return _uuid5(_name("action_item:", recording_id, f":{index}"))


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: object) -> str | None:
    """A value the rules read as text: a BLOB or a number where text was expected (a
    drifted library) as the text it holds."""
    if value is None or isinstance(value, str):
        return value
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _base_name(filename: object) -> str:
    """What follows the last / or \\ (both separators, whichever system made the file)."""
    name = _text(filename) or ""
    return name[max(name.rfind("/"), name.rfind("\\")) + 1:]


def title_for(title_suggestion: str | None, filename: str | None) -> str:
    """Rule 2: the suggestion, else the file's name without folders and last extension."""
    title_suggestion = _text(title_suggestion)
    if title_suggestion and title_suggestion.strip():
        return title_suggestion.strip()
    base = _base_name(filename)
    dot = base.rfind(".")
    if dot >= 0 and base[:dot].strip():
        base = base[:dot]
    return base.strip() or UNTITLED


def format_for(filename: str | None) -> str | None:
    """Rule 6: the lowercased last extension of the file's name, or None."""
    base = _base_name(filename)
    dot = base.rfind(".")
    if dot < 0:
        return None
    ext = base[dot + 1:].strip().lower()
    return ext or None


_NUMERIC_PREFIX = re.compile(r"[ \t\n\v\f\r]*[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")  # ASCII, as SQLite


def _flag(value: object) -> bool:
    """A V10 integer flag as SQLite reads it in `CASE WHEN flag`: text counts by its
    numeric prefix, so '1', ' 2x' are true and '', '0', 'false', 'true', 'yes' are false."""
    if value is None:
        return False
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        match = _NUMERIC_PREFIX.match(value)
        return bool(match) and float(match.group()) != 0
    return False  # a BLOB reads as 0 unless it spells a number; flags are never BLOBs


def source_type_for(is_imported: object, on_local: object) -> str:
    if _flag(is_imported):
        return "imported"
    return "local" if _flag(on_local) else "device"


def summary_for(summary: str | None) -> str | None:
    """Rule 3: blank summaries become NULL; others are kept as they are."""
    return None if _blank(summary) else summary


# ---- action items -------------------------------------------------------------------

class _Number(str):
    """A JSON number kept as its source text, so re-serialising never changes it."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"not strict JSON: {name}")


# One decoder for every row (json.loads with hooks would build a new one per call).
_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_Number, parse_int=_Number)


def parse_strict_json(text: str) -> tuple[bool, Any]:
    """(True, value) when `text` is RFC 8259 JSON, else (False, None)."""
    try:
        return True, _DECODER.decode(text)
    except ValueError:  # JSONDecodeError and our NaN/Infinity refusal: both mean "not JSON"
        return False, None
    except RecursionError:  # nested deeper than Python parses: kept whole as plain text
        return False, None


def to_json_text(value: Any) -> str:
    """Compact JSON text of a parsed value, numbers exactly as they were written."""
    parts: list[str] = []
    _emit_json(value, parts)
    return "".join(parts)


def _emit_json(value: Any, out: list[str]) -> None:
    # One stack frame per nesting level, so anything json.loads could parse fits.
    if isinstance(value, _Number):
        out.append(str(value))
    elif isinstance(value, dict):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            out.append(("," if index else "") + json.dumps(key, ensure_ascii=False) + ":")
            _emit_json(item, out)
        out.append("}")
    elif isinstance(value, list):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _emit_json(item, out)
        out.append("]")
    else:
        out.append(json.dumps(value, ensure_ascii=False))


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _storable(text: str | None) -> str | None:
    """JSON may escape a lone surrogate (\\ud800), which no UTF-8 text can hold: it becomes
    U+FFFD, the replacement character, instead of failing the whole upgrade."""
    if text is None or text.isascii() or not _LONE_SURROGATE.search(text):
        return text
    return _LONE_SURROGATE.sub("\ufffd", text)


class ActionItem(NamedTuple):
    """One action item as the rules read it (a tuple: cheap, and compares by value)."""

    content: str
    assignee: str | None = None
    due_date: str | None = None
    priority: str = "medium"
    status: str = "pending"


def _make_item(content: str, assignee: str | None = None, due_date: str | None = None,
               priority: str = "medium", status: str = "pending") -> ActionItem:
    return ActionItem(_storable(content), _storable(assignee), _storable(due_date), priority, status)


def _first_text(obj: dict, keys: tuple[str, ...], strings_only: bool = False) -> str | None:
    for key in keys:
        value = obj.get(key)
        if isinstance(value, _Number):
            if not strings_only:
                return str(value)
        elif isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _holds_data(value: object) -> bool:
    if value is None or isinstance(value, bool):
        return value is True
    if isinstance(value, str) and not isinstance(value, _Number):
        return bool(value.strip())
    return True  # a number, an object or an array


def _priority(value: object) -> str:
    if isinstance(value, str):
        return _PRIORITIES.get(value.strip().lower(), "medium")
    return "medium"


def _status(obj: dict) -> str:
    if obj.get("done") is True:
        return "completed"
    value = obj.get("status")
    if isinstance(value, str):
        key = re.sub(r"[ \-]", "_", value.strip().lower())
        return _STATUSES.get(key, "pending")
    return "pending"


def _item_from_element(element: Any) -> ActionItem | None:
    if element is None:
        return None
    if isinstance(element, str) and not isinstance(element, _Number):
        return _make_item(element.strip()) if element.strip() else None
    if isinstance(element, dict):
        content = _first_text(element, _TEXT_KEYS, strings_only=True)
        if content is None:
            # No usable text. Keep the object's JSON text (nothing is lost) when it holds
            # anything else: unknown keys, or a text key with a non-string value such as
            # {"text": 42}; skip it when it holds only named keys without content.
            if not set(element) - _KNOWN_KEYS and not any(
                    _holds_data(element.get(key)) for key in _TEXT_KEYS):
                return None
            content = to_json_text(element)
        return _make_item(
            content=content,
            assignee=_first_text(element, _ASSIGNEE_KEYS),
            due_date=_first_text(element, _DUE_KEYS),
            priority=_priority(element.get("priority")),
            status=_status(element),
        )
    return _make_item(to_json_text(element))  # numbers, booleans, arrays


def _items_from_plain_text(text: str) -> list[ActionItem]:
    items = []
    for line in text.splitlines():
        content = _BULLET.sub("", line.strip(), count=1).strip()
        if content:  # text read from SQLite is valid UTF-8: nothing for _storable to mend
            items.append(ActionItem(content))
    return items


def parse_action_items(raw: str | None) -> list[ActionItem]:
    """Rule 7: the action items held in a transcript's `action_items` column."""
    if not isinstance(raw, str) or not raw.strip():
        return []
    is_json, value = parse_strict_json(raw)
    if not is_json:
        return _items_from_plain_text(raw)
    elements = value if isinstance(value, list) else [value]
    return [item for item in map(_item_from_element, elements) if item is not None]


# ---- one recording ------------------------------------------------------------------

class Source(NamedTuple):
    """One transcribed recording as the upgrade reads it (the columns rules 2-7 use)."""

    id: str
    filename: str | None
    file_path: str | None
    file_size: int | None
    duration_seconds: float | None
    date_recorded: str
    meeting_id: str | None
    correlation_confidence: float | None
    correlation_method: str | None
    on_local: object
    is_imported: object
    title_suggestion: str | None
    summary: str | None
    action_items: str | None
    meeting_exists: int


class CaptureRows(NamedTuple):
    """Everything the upgrade writes for one transcribed recording, as insert tuples."""

    capture: tuple
    audio_source: tuple
    action_items: list[tuple]
    dangling_meeting: bool


def rows_for_recording(src: Source) -> CaptureRows:
    """Rules 2-7 for one recording joined with its transcript."""
    rid = src.id
    cid = capture_id(rid)
    if src.meeting_exists:
        meeting = (src.meeting_id, src.correlation_confidence, src.correlation_method)
    else:
        meeting = (None, None, None)
    capture = (cid, title_for(src.title_suggestion, src.filename), summary_for(src.summary),
               *meeting, rid, src.date_recorded)
    audio = (audio_source_id(rid), cid, source_type_for(src.is_imported, src.on_local),
             src.file_path, src.filename, src.file_size, src.duration_seconds,
             format_for(src.filename))
    items = [(action_item_id(rid, i), cid, *item, EXTRACTED_FROM)
             for i, item in enumerate(parse_action_items(src.action_items))]
    return CaptureRows(capture, audio, items, src.meeting_id is not None and not src.meeting_exists)
