"""Table-driven tests of the V10 -> V11 data rules (app/engine/steps/v11/rules.py).

Each table pins one rule of the issue with its edge cases; the expected values are written
out by hand, never computed with the code under test.
"""

from __future__ import annotations

import json
import uuid

import apsw
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.engine.steps.v11 import rules
from app.engine.steps.v11.rules import (
    UNTITLED,
    ActionItem,
    format_for,
    parse_action_items,
    source_type_for,
    summary_for,
    title_for,
)

PRIORITIES = {"low", "medium", "high", "urgent"}
STATUSES = {"pending", "in_progress", "completed", "cancelled"}

HUGE = "x" * 100_000  # 100 KB


def A(content: str, assignee: str | None = None, due_date: str | None = None,  # noqa: N802
      priority: str = "medium", status: str = "pending") -> ActionItem:
    return ActionItem(content, assignee, due_date, priority, status)


# ---- rule 2: title -------------------------------------------------------------------

@pytest.mark.parametrize(("suggestion", "filename", "expected"), [
    # the suggestion, trimmed
    ("Weekly standup", "rec.wav", "Weekly standup"),
    ("  Weekly standup \t\n", "rec.wav", "Weekly standup"),
    ("\u00a0Title with nbsp\u3000", "rec.wav", "Title with nbsp"),  # str.strip(): all whitespace
    ("Reunión ✅ 日本語 — été", "rec.wav", "Reunión ✅ 日本語 — été"),
    ("inner   spaces  kept", "rec.wav", "inner   spaces  kept"),
    ("Title.wav", "other.mp3", "Title.wav"),  # the suggestion is never cut
    (HUGE, "rec.wav", HUGE),
    # blank suggestion -> the filename
    (None, "rec.wav", "rec"),
    ("", "rec.wav", "rec"),
    ("   ", "rec.wav", "rec"),
    (" \t\r\n ", "rec.wav", "rec"),
    # directories removed, with / or \ or both
    (None, "dir/sub/Standup.WAV", "Standup"),
    (None, "/abs/path/rec.mp3", "rec"),
    (None, "C:\\Users\\me\\rec.MP3", "rec"),
    (None, "mixed/dir\\deeper/rec.m4a", "rec"),
    (None, "dir.with.dots/file", "file"),
    (None, "dir.d\\file", "file"),
    # only the last extension
    (None, "archive.tar.gz", "archive.tar"),
    (None, "v1.2.3.wav", "v1.2.3"),
    (None, "noext", "noext"),
    (None, "name.", "name"),
    # the extension stays when nothing else would remain
    (None, ".wav", ".wav"),
    (None, "dir/.wav", ".wav"),
    (None, "C:\\x\\.hidden", ".hidden"),
    (None, " .wav", ".wav"),
    # trimmed after cutting
    (None, "  spaced name  .wav", "spaced name"),
    (None, "dir/  padded  ", "padded"),
    (None, "Réunion été.m4a", "Réunion été"),
    (None, "会議録音.WAV", "会議録音"),
    (None, HUGE + ".wav", HUGE),
    # nothing left -> Untitled recording
    (None, None, UNTITLED),
    (None, "", UNTITLED),
    ("  ", "   ", UNTITLED),
    (None, "dir/", UNTITLED),
    (None, "dir\\", UNTITLED),
    (None, "dir/   ", UNTITLED),
    ("", "/", UNTITLED),
])
def test_title_for(suggestion, filename, expected):
    assert title_for(suggestion, filename) == expected


def test_untitled_constant_is_the_issue_text():
    assert UNTITLED == "Untitled recording"


# ---- rule 6: format --------------------------------------------------------------------

@pytest.mark.parametrize(("filename", "expected"), [
    ("rec.wav", "wav"),
    ("rec.WAV", "wav"),
    ("rec.Mp3", "mp3"),
    ("archive.tar.gz", "gz"),
    ("dir/sub/rec.M4A", "m4a"),
    ("C:\\Users\\me\\rec.FLAC", "flac"),
    ("noext", None),
    ("name.", None),
    ("dir.with.dots/file", None),
    ("dir.d\\file", None),
    ("dir/", None),
    ("", None),
    (None, None),
    (".wav", "wav"),
    ("file.ÉTÉ", "été"),
])
def test_format_for(filename, expected):
    assert format_for(filename) == expected


# ---- rule 6: source type ---------------------------------------------------------------

@pytest.mark.parametrize(("is_imported", "on_local", "expected"), [
    (1, 0, "imported"),
    (1, 1, "imported"),
    (1, None, "imported"),
    (2, 0, "imported"),
    ("1", "0", "imported"),
    (0, 1, "local"),
    (None, 1, "local"),
    ("0", "1", "local"),
    (0.0, 0.5, "local"),
    (0, 0, "device"),
    (None, None, "device"),
    ("0", "0", "device"),
    ("", "", "device"),
    (0.0, 0.0, "device"),
])
def test_source_type_for(is_imported, on_local, expected):
    assert source_type_for(is_imported, on_local) == expected


# A flag is read as SQLite reads it (`CASE WHEN flag`): text counts by its numeric prefix.
@pytest.mark.parametrize(("is_imported", "on_local", "expected"), [
    ("false", 0, "device"),
    ("false", 1, "local"),
    ("true", "no", "device"),
    ("yes", "abc", "device"),
    (" 2x", 0, "imported"),
    ("0.0", "1e3", "local"),
])
def test_source_type_for_text_flags(is_imported, on_local, expected):
    assert source_type_for(is_imported, on_local) == expected


FLAG_VALUES = ["false", "true", "yes", "", " ", "0", "1", " 2x", "0.0", "-0", "1e3", ".5", "abc",
               "0x10", "+1", "  -3 ", "\t1", "\n1", "1e999", "1e-999", ".", "1.", "-.5", "00", "inf",
               "-", "1e", "5e-1x", 0, 1, 2, -1, 0.0, 0.5, -0.25, None]


@pytest.mark.parametrize("value", FLAG_VALUES, ids=repr)
def test_source_type_flag_agrees_with_sqlite(value):
    """The oracle is SQLite itself: the value as an INTEGER column holds it, read by CASE WHEN."""
    conn = apsw.Connection(":memory:")
    try:
        conn.execute("CREATE TABLE r (is_imported INTEGER, on_local INTEGER)")
        conn.execute("INSERT INTO r VALUES (?, 0)", (value,))
        stored, sqlite_true = conn.execute(
            "SELECT is_imported, CASE WHEN is_imported THEN 1 ELSE 0 END FROM r").fetchone()
    finally:
        conn.close()
    assert source_type_for(stored, 0) == ("imported" if sqlite_true else "device")


@pytest.mark.parametrize("value", ["\u00a01", "\u20031", "\x1c1", "\u0661"], ids=repr)
def test_source_type_flag_non_ascii_space_agrees_with_sqlite(value):
    test_source_type_flag_agrees_with_sqlite(value)


# ---- rule 3: summary -------------------------------------------------------------------

@pytest.mark.parametrize(("summary", "expected"), [
    (None, None),
    ("", None),
    ("   ", None),
    (" \t\r\n\u00a0", None),
    ("A summary.", "A summary."),
    ("  kept exactly as it is  ", "  kept exactly as it is  "),
    ("line 1\r\nline 2", "line 1\r\nline 2"),
    ("Resumen: reunión ✅ 日本", "Resumen: reunión ✅ 日本"),
    (HUGE, HUGE),
])
def test_summary_for(summary, expected):
    assert summary_for(summary) == expected


# ---- rule 7: action items --------------------------------------------------------------

NOTHING = [
    None,
    "",
    "   ",
    " \t\r\n ",
    "\n\n\n",
    "[]",
    " [ ] ",
    "null",
    '""',
    '"   "',
    "{}",
    "[{}]",
    "[null, null]",
    '[null, "", "  ", "\\t\\n"]',
    # objects holding only the named fields and no text: skipped
    '[{"assignee": "Ana", "priority": "high", "status": "done", "due": "Friday"}]',
    '[{"text": "", "description": "   ", "task": null, "done": true}]',
    # plain text whose lines are all blank or bare bullets
    "-\n* \n•\n1.\n2)\n   \n",
]


@pytest.mark.parametrize("raw", NOTHING)
def test_parse_action_items_nothing(raw):
    assert parse_action_items(raw) == []


SCALARS = [
    # any non-array JSON value is a one-element array
    ('"  do it  "', [A("do it")]),
    ('"line1\\nline2"', [A("line1\nline2")]),  # a JSON string is one item, never split
    ("42", [A("42")]),
    ("true", [A("true")]),
    ("false", [A("false")]),
    ('{"text": " top-level object "}', [A("top-level object")]),
    # numbers keep their source text
    ("1.50", [A("1.50")]),
    ("[1.50, 1e400, -0, 10, 0.1e-3, 1E+2, -0.0]",
     [A("1.50"), A("1e400"), A("-0"), A("10"), A("0.1e-3"), A("1E+2"), A("-0.0")]),
    ("123456789012345678901234567890", [A("123456789012345678901234567890")]),
    # strings trimmed, blanks and nulls skipped
    ('["a", " b ", "", "  ", null, "\\u00e9t\\u00e9"]', [A("a"), A("b"), A("été")]),
    ('["Reunión ✅ 日本語"]', [A("Reunión ✅ 日本語")]),
    # numbers, booleans and arrays become their JSON text
    ('[1, true, false, [1, "a"], [], [1.50, [2.0e1]]]',
     [A("1"), A("true"), A("false"), A('[1,"a"]'), A("[]"), A("[1.50,[2.0e1]]")]),
    ('[["x", null]]', [A('["x",null]')]),
    # JSON across lines is JSON, not plain text
    ('[\n  "first",\n  "second"\n]', [A("first"), A("second")]),
    ('\r\n ["crlf json"] \r\n', [A("crlf json")]),
]


@pytest.mark.parametrize(("raw", "expected"), SCALARS)
def test_parse_action_items_json_values(raw, expected):
    assert parse_action_items(raw) == expected


OBJECTS = [
    # content: first non-blank string of text, description, task, action, title (trimmed)
    ({"text": " t "}, A("t")),
    ({"description": "d"}, A("d")),
    ({"task": "k"}, A("k")),
    ({"action": "a"}, A("a")),
    ({"title": " ti "}, A("ti")),
    ({"title": "ti", "action": "a", "task": "k", "description": "d", "text": "t"}, A("t")),
    ({"text": "  ", "description": "d", "task": "k"}, A("d")),
    ({"text": None, "description": "", "task": "k"}, A("k")),
    ({"task": "\t", "action": "a", "title": "ti"}, A("a")),
    ({"action": None, "title": "ti"}, A("ti")),
    # text field not a string: content falls to the next key
    ({"text": 5, "description": "d"}, A("d")),
    ({"text": 1.5, "task": "k"}, A("k")),
    ({"text": True, "action": "a"}, A("a")),
    ({"text": {"en": "hi"}, "title": "ti"}, A("ti")),
    ({"text": ["x"], "description": "d"}, A("d")),
    # nested objects elsewhere do not matter
    ({"text": "t", "meta": {"a": [1, 2], "b": {"c": None}}}, A("t")),
    # assignee: first non-blank of assignee, owner, assigned_to
    ({"text": "t", "assignee": "Ana"}, A("t", assignee="Ana")),
    ({"text": "t", "owner": " Bob "}, A("t", assignee="Bob")),
    ({"text": "t", "assigned_to": "Cy"}, A("t", assignee="Cy")),
    ({"text": "t", "assignee": "", "owner": "  ", "assigned_to": "Cy"}, A("t", assignee="Cy")),
    ({"text": "t", "assignee": None, "owner": "Bob", "assigned_to": "Cy"}, A("t", assignee="Bob")),
    ({"text": "t", "assignee": "Ana", "owner": "Bob"}, A("t", assignee="Ana")),
    ({"text": "t", "assignee": "José Ñúñez"}, A("t", assignee="José Ñúñez")),
    # due date: first non-blank of due_date, deadline, due
    ({"text": "t", "due_date": "2024-02-01"}, A("t", due_date="2024-02-01")),
    ({"text": "t", "deadline": " 2024-03-01 "}, A("t", due_date="2024-03-01")),
    ({"text": "t", "due": "Friday"}, A("t", due_date="Friday")),
    ({"text": "t", "due_date": " ", "deadline": None, "due": "Friday"}, A("t", due_date="Friday")),
    ({"text": "t", "due_date": "d1", "deadline": "d2", "due": "d3"}, A("t", due_date="d1")),
    # everything at once
    ({"description": "Ship it", "owner": "Ana", "deadline": "2024-05-01", "priority": "Critical",
      "status": "In Progress"},
     A("Ship it", "Ana", "2024-05-01", "urgent", "in_progress")),
]


@pytest.mark.parametrize(("obj", "expected"), OBJECTS)
def test_parse_action_items_objects(obj, expected):
    assert parse_action_items(json.dumps([obj])) == [expected]


@pytest.mark.parametrize(("priority", "expected"), [
    ("low", "low"), ("medium", "medium"), ("high", "high"), ("urgent", "urgent"),
    ("LOW", "low"), ("High", "high"), ("URGENT", "urgent"), ("MeDiUm", "medium"),
    ("critical", "urgent"), ("CRITICAL", "urgent"), ("Critical", "urgent"),
    ("normal", "medium"), ("Normal", "medium"),
    ("highest", "medium"), ("p1", "medium"), ("", "medium"), ("  ", "medium"),
    (None, "medium"), (1, "medium"), (True, "medium"), (["high"], "medium"),
    ("__missing__", "medium"),
])
def test_parse_action_items_priority(priority, expected):
    obj = {"text": "t"} if priority == "__missing__" else {"text": "t", "priority": priority}
    (item,) = parse_action_items(json.dumps([obj]))
    assert item.priority == expected


@pytest.mark.parametrize(("fields", "expected"), [
    ({"status": "pending"}, "pending"),
    ({"status": "in_progress"}, "in_progress"),
    ({"status": "completed"}, "completed"),
    ({"status": "cancelled"}, "cancelled"),
    ({"status": "In Progress"}, "in_progress"),
    ({"status": "in-progress"}, "in_progress"),
    ({"status": "IN_PROGRESS"}, "in_progress"),
    ({"status": "In-Progress"}, "in_progress"),
    ({"status": "done"}, "completed"),
    ({"status": "Done"}, "completed"),
    ({"status": "complete"}, "completed"),
    ({"status": "COMPLETE"}, "completed"),
    ({"status": "Completed"}, "completed"),
    ({"status": "canceled"}, "cancelled"),
    ({"status": "Canceled"}, "cancelled"),
    ({"status": "CANCELLED"}, "cancelled"),
    ({"status": "blocked"}, "pending"),
    ({"status": "open"}, "pending"),
    ({"status": ""}, "pending"),
    ({"status": None}, "pending"),
    ({"status": 1}, "pending"),
    ({}, "pending"),
    # done: true wins over any status
    ({"done": True}, "completed"),
    ({"done": True, "status": "pending"}, "completed"),
    ({"done": True, "status": "cancelled"}, "completed"),
    # done false (or not the JSON value true): the status decides
    ({"done": False}, "pending"),
    ({"done": False, "status": "in progress"}, "in_progress"),
    ({"done": False, "status": "canceled"}, "cancelled"),
    ({"done": False, "status": "done"}, "completed"),
    ({"done": "true"}, "pending"),
    ({"done": 1}, "pending"),
    ({"done": None, "status": "complete"}, "completed"),
])
def test_parse_action_items_status(fields, expected):
    (item,) = parse_action_items(json.dumps([{"text": "t", **fields}]))
    assert item.status == expected


@pytest.mark.parametrize(("obj", "assignee"), [
    ({"foo": "bar"}, None),
    ({"foo": "bar", "owner": "Bob"}, "Bob"),
    ({"meta": {"a": [1, {"b": None}]}, "priority": "high"}, None),
    ({"Text": "capitalised key is not 'text'"}, None),
])
def test_object_without_text_but_other_keys_keeps_its_json_text(obj, assignee):
    (item,) = parse_action_items(json.dumps([obj]))
    assert json.loads(item.content) == obj  # nothing is lost
    assert item.assignee == assignee


def test_object_json_text_keeps_numbers_and_unicode_verbatim():
    (item,) = parse_action_items('[{"amount": 1.50, "big": 1e400, "note": "été ✅"}]')
    assert "1.50" in item.content and "1e400" in item.content and "été ✅" in item.content
    assert json.loads(item.content)["note"] == "été ✅"


@pytest.mark.parametrize("obj", [
    {"text": 5},
    {"text": 1.5, "owner": "Bob", "priority": "high"},
    {"description": {"en": "Send the report"}},
    {"task": ["buy", "milk"], "status": "done"},
])
def test_object_whose_only_text_is_not_a_string_keeps_its_json_text(obj):
    """The text field holds a number/object/array: nothing is lost, the JSON text is kept."""
    items = parse_action_items(json.dumps([obj]))
    assert len(items) == 1
    assert json.loads(items[0].content) == obj


NOT_JSON = [
    # JSON5 and other near-JSON: plain text, one item per line
    ("['a','b']", [A("['a','b']")]),
    ("[1,]", [A("[1,]")]),
    ('{"a": 1,}', [A('{"a": 1,}')]),
    ("{text: 'x'}", [A("{text: 'x'}")]),
    ("NaN", [A("NaN")]),
    ("Infinity", [A("Infinity")]),
    ("-Infinity", [A("Infinity")]),  # the leading '-' is a bullet on a plain-text line
    ("[NaN]", [A("[NaN]")]),
    ("[1, Infinity]", [A("[1, Infinity]")]),
    ('{"x": NaN}', [A('{"x": NaN}')]),
    ("[1, 2", [A("[1, 2")]),
    ("01", [A("01")]),
    ('["a"]\n["b"]', [A('["a"]'), A('["b"]')]),
    # plain lines
    ("Buy milk\nCall Bob", [A("Buy milk"), A("Call Bob")]),
    ("Buy milk\r\nCall Bob\r\n", [A("Buy milk"), A("Call Bob")]),
    ("a\n   \n\t\n\r\nb", [A("a"), A("b")]),
    ("   padded line   ", [A("padded line")]),
    # bullets, with and without a space, removed once
    ("- a\n* b\n• c\n1. d\n2) e", [A("a"), A("b"), A("c"), A("d"), A("e")]),
    ("-a\n*b\n•c", [A("a"), A("b"), A("c")]),
    ("•\tTabbed", [A("Tabbed")]),
    ("  -   indented  ", [A("indented")]),
    ("10. tenth\n99) last", [A("tenth"), A("last")]),
    ("- - nested bullet", [A("- nested bullet")]),
    ("1. 2. two numbers", [A("2. two numbers")]),
    # numbers that are not bullets stay
    ("1.5 hours of review", [A("1.5 hours of review")]),
    ("- 1.5 hours of review", [A("1.5 hours of review")]),
    ("2024 budget", [A("2024 budget")]),
    ("3rd option", [A("3rd option")]),
    ("Call at 10.30", [A("Call at 10.30")]),
    # unicode
    ("• Réunion ✅\n• 日本語のタスク", [A("Réunion ✅"), A("日本語のタスク")]),
]


@pytest.mark.parametrize(("raw", "expected"), NOT_JSON)
def test_parse_action_items_plain_text(raw, expected):
    assert parse_action_items(raw) == expected


# ---- huge input ------------------------------------------------------------------------

def test_huge_json_string_element():
    assert parse_action_items(json.dumps(["  " + HUGE + "  "])) == [A(HUGE)]


def test_huge_plain_text_single_line():
    assert parse_action_items("- " + HUGE) == [A(HUGE)]


def test_huge_plain_text_many_lines():
    lines = [f"{i}. task number {i} é" for i in range(1, 8001)]
    raw = "\r\n".join(lines)
    assert len(raw) > 100_000
    items = parse_action_items(raw)
    assert [i.content for i in items] == [f"task number {i} é" for i in range(1, 8001)]


def test_huge_json_array():
    elements = [{"text": f"task {i}", "priority": "high"} for i in range(3000)]
    raw = json.dumps(elements)
    assert len(raw) > 100_000
    items = parse_action_items(raw)
    assert items == [A(f"task {i}", priority="high") for i in range(3000)]


# ---- deep nesting: valid JSON must not crash the parser --------------------------------

def test_deeply_nested_valid_json_array_keeps_its_json_text():
    depth = 450
    items = parse_action_items("[" * depth + "]" * depth)
    assert items == [A("[" * (depth - 1) + "]" * (depth - 1))]


def test_deeply_nested_object_keeps_its_json_text():
    depth = 400
    raw = "[" + '{"x":' * depth + "1.50" + "}" * depth + "]"
    (item,) = parse_action_items(raw)
    assert item.content == raw[1:-1]


def test_absurdly_nested_json_does_not_raise_and_loses_nothing():
    raw = "[" * 100_000 + "]" * 100_000
    items = parse_action_items(raw)
    assert len(items) == 1
    assert items[0].content.strip()


# ---- escapes that no UTF-8 text can hold -------------------------------------------------

def _storable(text: str | None) -> bool:
    if text is None:
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@pytest.mark.parametrize(("raw", "kept"), [
    ('["\\ud800 broken escape"]', "broken escape"),
    ('["tail \\udfff"]', "tail"),
    ('[{"text": "a \\udc00 b"}]', "b"),
    ('[{"foo": "\\ud800", "bar": "kept"}]', "kept"),
])
def test_lone_surrogate_escape_gives_storable_content(raw, kept):
    (item,) = parse_action_items(raw)
    assert _storable(item.content)
    assert kept in item.content


def test_lone_surrogate_in_assignee_and_due_date_is_storable():
    (item,) = parse_action_items('[{"text": "t", "owner": "Ana \\ud800", "due": "\\udfff 2024"}]')
    assert item.content == "t"
    assert _storable(item.assignee) and "Ana" in item.assignee
    assert _storable(item.due_date) and "2024" in item.due_date


def test_escaped_surrogate_pair_is_one_character():
    assert parse_action_items('["\\ud83d\\ude00 ok"]') == [A("\U0001F600 ok")]


# ---- properties -------------------------------------------------------------------------

_KEYS = ("text", "description", "task", "action", "title", "assignee", "owner", "assigned_to",
         "due_date", "deadline", "due", "priority", "status", "done")
_WORDS = ("low", "medium", "high", "urgent", "critical", "normal", "pending", "in progress",
          "in-progress", "done", "complete", "canceled", "cancelled", "", "  ", "x")

json_scalars = (st.none() | st.booleans() | st.integers()
                | st.floats(allow_nan=False, allow_infinity=False)
                | st.text(max_size=20) | st.sampled_from(_WORDS)
                | st.text(st.characters() | st.sampled_from("\ud800\udbff\udc00\udfff"), max_size=6))
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.sampled_from(_KEYS) | st.text(max_size=8), children, max_size=6),
    max_leaves=25,
)


def _check_items(items: list[ActionItem]) -> None:
    for item in items:
        assert isinstance(item.content, str)
        assert _storable(item.content) and _storable(item.assignee) and _storable(item.due_date)
        assert item.content.strip() != ""
        assert item.content == item.content.strip()
        assert item.priority in PRIORITIES
        assert item.status in STATUSES
        for optional in (item.assignee, item.due_date):
            assert optional is None or (isinstance(optional, str) and optional.strip() == optional != "")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_property_any_json_value_parses_to_valid_items(value):
    _check_items(parse_action_items(json.dumps(value)))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_property_any_text_parses_to_valid_items(raw):
    _check_items(parse_action_items(raw))


@pytest.mark.parametrize("recording_id", ["rec-000001", "REC 1", "Zoë/é", "東京", "", "x" * 300])
def test_ids_are_the_uuid5_they_always_were(recording_id: str) -> None:
    """A rollback finds an upgrade's rows by making their ids again: the scheme is fixed."""
    def uuid5(name: str) -> str:
        return str(uuid.uuid5(rules.ID_NAMESPACE, name))

    assert rules.capture_id(recording_id) == uuid5(f"knowledge_capture:{recording_id}")
    assert rules.audio_source_id(recording_id) == uuid5(f"audio_source:{recording_id}")
    for index in (0, 1, 10, 123):
        assert rules.action_item_id(recording_id, index) == uuid5(f"action_item:{recording_id}:{index}")
    assert str(rules.ID_NAMESPACE) == "6f1c3b0e-2d7a-5c4e-9b8f-1a2b3c4d5e6f"
