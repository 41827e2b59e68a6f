"""Deterministic demo V10 libraries: realistic data with every problem the upgrade meets.

`create_demo_library` writes a new V10 library file whose content depends only on
(recordings, seed, journal_mode, transcript_bytes): every timestamp is derived from a fixed
base date, never from the clock, so two builds are logically equal row for row. The file
holds what users' libraries hold after years of use:

- recordings with and without transcripts, filenames in every odd shape rules 2 and 6 meet
  (folders, Windows paths, no extension, `.wav` alone, blank-ish names);
- duplicate filenames (cleanup keeps the oldest by date_recorded, created_at, id, and some
  groups are built so that the oldest has the larger id or has no transcript);
- orphaned transcripts (their recording was deleted: recording ids have gaps);
- dangling meeting references (their meeting was deleted: meeting ids have gaps);
- embeddings, some of whose transcript was deleted;
- `action_items` in every shape rule 7 of `app.engine.steps.v11.rules` knows, cycled in order;
- config rows and one table the app does not know (`user_bookmarks`), which must survive.

It is fast enough for benchmark libraries: one transaction, `executemany` over generators
(nothing large is held in memory), and the file is built beside the target under
`path + ".tmp"` and moved into place only when complete.
"""

from __future__ import annotations

import calendar
import json
import os
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import apsw

from app.engine import errors, library, schema
from app.engine.errors import InvalidArgument

MAX_RECORDINGS = 2_000_000
MAX_TRANSCRIPT_BYTES = 1_000_000
MAX_SEED = 2**64 - 1
JOURNAL_MODES = ("wal", "delete")
SIDECAR_SUFFIXES = ("-wal", "-shm", "-journal")

EXISTS_MESSAGE = "A file already exists there; the demo library is only written to a new file."

_BASE_EPOCH = calendar.timegm((2023, 1, 1, 0, 0, 0))  # every timestamp is an offset from here
_SPAN_SECONDS = 3 * 365 * 86400  # recordings spread over three years


@dataclass(frozen=True)
class DemoSummary:
    """What was written (rows actually in the file)."""

    recordings: int
    transcripts: int
    meetings: int
    untranscribed: int
    duplicates: int  # recordings cleanup would remove: all but the oldest of each filename
    orphaned_transcripts: int
    dangling_meeting_refs: int
    embeddings: int


# ---- text pools (small; combined at random they give enough variety) ----------------

_PEOPLE = (
    ("Zoë Martín", "zoe@example.com"), ("José Álvarez", "jose@example.com"),
    ("東京チーム", "tokyo-team@example.jp"), ("Ana Lima", "ana.lima@example.com.br"),
    ("Björn Ødegård", "bjorn@example.no"), ("Priya Natarajan", "priya@example.in"),
    ("Chloé Dubois", "chloe@example.fr"), ("Sam O'Neil", "sam@example.ie"),
)
_SUBJECTS = (
    "Weekly standup", "Sprint planning", "Revisión de presupuesto", "Zoë / José 1:1",
    "東京チーム 定例会議", "Kundengespräch Müller GmbH", "🚀 Launch sync", "Retro 🎉",
    "Réunion d'équipe", "Design crit ✏️", "Entrevista candidata", "All-hands Q3",
)
_SENTENCES = (
    "Bueno, empecemos con el estado del proyecto.",
    "La entrega del cliente se retrasa una semana por las pruebas.",
    "José va a revisar el presupuesto antes del viernes.",
    "Let's go over the action items from last week.",
    "The migration finished on staging without errors.",
    "We still need a decision on the pricing page.",
    "Can someone take notes? Zoë volunteered.",
    "Die Präsentation für Müller GmbH ist fast fertig.",
    "Wir treffen uns nächste Woche wieder.",
    "La réunion de demain est déplacée à 15 h.",
    "次のスプリントでは東京チームがテストを担当します。",
    "予算の承認はまだです。",
    "A gente precisa fechar o contrato até o fim do mês.",
    "Okay, I think that's everything, thanks all 👋",
    "Um, sorry, you cut out for a second there.",
    "The numbers for Q3 look better than expected: up 12.5 %.",
)
_SPEAKERS = ("Speaker 1", "Speaker 2", "Zoë", "José", "田中")
_SUMMARIES = (
    "The team reviewed the project status and agreed on next steps.",
    "Se revisó el presupuesto y se asignaron tareas.",
    "Budget approval is still pending.",
    "Die Präsentation wird bis Freitag fertiggestellt.",
    "東京チームがテストを担当する。",
)
_TASKS = (
    "Send the slides to the client", "Revisar el presupuesto con José", "Book a room for the retro",
    "Llamar a Zoë", "東京チームに確認する", "Update the roadmap 🚀", "Rédiger le compte rendu",
    "Prüfen, ob die Rechnung bezahlt wurde",
)
_LANGUAGES = ("es", "es", "es", "en", "en", "de", "fr", "ja", "pt", None)
_PROVIDERS = (("whisper-local", "large-v3"), ("openai", "whisper-1"), ("deepgram", "nova-2"),
              ("assemblyai", "best"), ("gemini", "gemini-1.5-flash"), (None, None))
_CORRELATION_METHODS = ("time_overlap", "calendar_match", "title_match", "manual")
_LOCAL_ROOTS = ("/home/zoe/HiDock/recordings", "C:\\Users\\José\\HiDock\\Recordings",
                "/Users/ana/Library/Application Support/HiDock/recordings")

# Names placed once each (when N >= 20): rule 2's and rule 6's hardest inputs.
_SPECIAL_FILENAMES = (".wav", "  ", "", "recordings/2023/", "\t", "C:\\rec\\", " \u3000 ")


# ---- action items: every shape of rule 7 ---------------------------------------------

def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def _const(text: str | None) -> Callable[[random.Random], str | None]:
    return lambda _r: text


def _objects_every_priority(r: random.Random) -> str:
    """One object per priority spelling; text, assignee and due keys rotate through all names."""
    priorities = ("low", "Medium", " HIGH ", "urgent", "critical", "normal", "weird", 3)
    text_keys = ("text", "description", "task", "action", "title")
    who_keys = ("assignee", "owner", "assigned_to")
    due_keys = ("due_date", "deadline", "due")
    items = []
    for i, priority in enumerate(priorities):
        items.append({text_keys[i % 5]: r.choice(_TASKS), who_keys[i % 3]: _PEOPLE[i % len(_PEOPLE)][0],
                      due_keys[i % 3]: f"2023-0{1 + i % 9}-1{i % 10}", "priority": priority})
    return _json(items)


def _objects_every_status(r: random.Random) -> str:
    """One object per status spelling, plus `done: true` (which wins over `status`)."""
    statuses = ("pending", "In Progress", "in-progress", "in_progress", "done", "complete",
                "completed", "canceled", "cancelled", "odd", None)
    items: list[dict] = [{"task": r.choice(_TASKS), "status": s} for s in statuses]
    items.append({"action": r.choice(_TASKS), "done": True, "status": "pending"})
    items.append({"action": r.choice(_TASKS), "done": "true"})  # not the boolean: stays pending
    return _json(items)


def _objects_without_text(r: random.Random) -> str:
    """Objects a careless parser mishandles: no usable text, fallbacks, numbers."""
    return _json([
        {"assignee": "Zoë", "priority": "high"},  # only known non-text keys: skipped
        {"done": True},  # skipped
        {"text": 42, "owner": "Ana"},  # a number is not text: only known keys, skipped
        {"foo": "bar", "n": 1, "ñ": [1, 2]},  # unknown keys: kept whole as JSON text
        {"text": "   ", "description": r.choice(_TASKS)},  # blank text falls through
        {"task": r.choice(_TASKS), "owner": 7, "due": 20240101},  # numbers kept as text
        {"title": r.choice(_TASKS), "assigned_to": "  ", "deadline": "", "status": 3},
    ])


def _strings(r: random.Random) -> str:
    return _json([r.choice(_TASKS), "", "   ", r.choice(_TASKS) + " ✅", "  padded  ",
                  "東京チームに連絡"])


def _mixed_elements(_r: random.Random) -> str:
    """Raw text, not json.dumps: the numbers must keep exactly their written form."""
    return '[null, 1, 2.50, -0, 1e3, 12345678901234567890, true, false, ["nested", 1], [], ' \
           '{"text": "inside a mix"}, "\\u00e9t\\u00e9"]'


def _single_object(r: random.Random) -> str:
    return _json({"description": r.choice(_TASKS), "assigned_to": "José", "deadline": "2023-06-30",
                  "priority": "HIGH", "status": "In Progress"})


def _bullets(r: random.Random) -> str:
    lines = ["- " + r.choice(_TASKS), "* " + r.choice(_TASKS), "• " + r.choice(_TASKS),
             "•" + r.choice(_TASKS), "1. " + r.choice(_TASKS), "2) " + r.choice(_TASKS), "",
             "   ", "1.5 hours of review", "-", "no bullet at all"]
    return "\r\n".join(lines) if r.random() < 0.5 else "\n".join(lines)


def _long_items(r: random.Random) -> str:
    long_text = " ".join(r.choices(_SENTENCES, k=120))  # several KB in one item
    return _json([long_text, r.choice(_TASKS)])


# Not strict JSON (JSON5, Python reprs, JavaScript literals): rule 7 reads them as plain text.
_JSON5_ONLY = ("['a','b']", "[1,]", "NaN", "{task: 'Send the slides'}", "[Infinity, -Infinity]",
               "// todo\n[\"a\"]", "{'text': 'Zoë'}")

_ACTION_ITEM_SHAPES: tuple[Callable[[random.Random], str | None], ...] = (
    _objects_every_priority, _objects_every_status, _objects_without_text, _strings,
    _mixed_elements, _single_object, _bullets, _long_items,
    _const(None), _const(""), _const("  \n\t"), _const("[]"), _const("[null]"), _const("{}"),
    lambda r: _json("Call " + r.choice(_PEOPLE)[0]),  # a single JSON string
    _const('"   "'), _const("42"), _const("-3.5e2"), _const("true"), _const("null"),
    lambda r: r.choice(_TASKS),  # one line of plain text
    *(_const(text) for text in _JSON5_ONLY),
)


def action_items_value(index: int, r: random.Random) -> str | None:
    """The `action_items` value of the index-th transcript: the shapes come in turn."""
    return _ACTION_ITEM_SHAPES[index % len(_ACTION_ITEM_SHAPES)](r)


# ---- the plan: who is what, decided before any row is written -------------------------

@dataclass(slots=True)
class _Slot:
    """One recording id. A deleted slot is never written: its transcript becomes an orphan."""

    number: int
    when: int  # seconds after the base date: date_recorded
    created_delay: int  # created_at = when + created_delay
    filename: str = ""
    transcribed: bool = True
    deleted: bool = False
    duplicate: bool = False
    special: bool = False
    meeting: str | None = None
    transcript: int | None = None  # the transcript number, whether or not that row is written
    transcript_deleted: bool = False  # a transcript that was deleted: only its embeddings remain


@dataclass
class _Plan:
    slots: list[_Slot]
    meeting_numbers: list[int]  # the meetings written
    meeting_ids: set[str]
    rec_width: int
    mtg_width: int
    tr_width: int
    emb_width: int
    chunks: dict[int, tuple[int, int]] = field(default_factory=dict)  # transcript -> (count, when)
    duplicates: int = 0


def _share(n: int, fraction: float, floor: int) -> int:
    """round(n * fraction), but at least `floor` once n >= 20 (so small demos show everything)."""
    return max(floor if n >= 20 else 0, round(n * fraction))


def _width(count: int, minimum: int) -> int:
    return max(minimum, len(str(count)))


def _plan(recordings: int, r: random.Random) -> _Plan:
    deleted = _share(recordings, 0.01, 1)
    total = recordings + deleted
    gap = max(2, _SPAN_SECONDS // total)
    # date_recorded rises strictly with the id (jitter < gap); duplicates bend that on purpose.
    slots = [_Slot(i + 1, i * gap + r.randrange(gap // 2), r.randrange(60, 7 * 86400))
             for i in range(total)]
    order = list(range(total))
    r.shuffle(order)  # roles are handed out from one shuffled order, so they never overlap
    specials = order[:min(len(_SPECIAL_FILENAMES), recordings // 4) if recordings >= 20 else 0]
    gone = order[len(specials):len(specials) + deleted]
    rest = order[len(specials) + deleted:]
    for name, i in zip(_SPECIAL_FILENAMES, specials):
        slots[i].filename, slots[i].special = name, True
    for i in gone:
        slots[i].deleted = True
    _assign_filenames(slots, r)
    plan = _Plan(slots, [], set(), _width(total, 6), 4, 6, 6)
    plan.duplicates = _make_duplicates(slots, rest)
    _assign_transcripts(plan, r)
    _assign_meetings(plan, recordings, r)
    _assign_embeddings(plan, r)
    return plan


def _filename(r: random.Random, slot: _Slot) -> str:
    """A filename in one of the shapes devices, imports and users produce."""
    n, day = slot.number, _fmt(slot.when, "%Y-%m-%d")
    pick = r.random()
    if pick < 0.45:
        return f"REC{n:05d}.{r.choice(('WAV', 'wav', 'hda'))}"
    if pick < 0.62:
        return f"{day} {r.choice(_SUBJECTS)}.mp3"  # may repeat: made unique by the caller
    if pick < 0.72:
        return f"recordings/{day[:4]}/{day[5:7]}/meeting-{n}.m4a"
    if pick < 0.77:
        return f"C:\\Users\\José\\Recordings\\REC{n:05d}.wav"
    if pick < 0.83:
        return r.choice((f"REC{n:05d}", f"voice memo {n}", f"memo {n}."))  # no usable extension
    if pick < 0.90:
        return r.choice((f"Meeting.{n}.final.WAV", f"  padded {n}.Mp3  ", f"notes {n}.tar.gz"))
    return r.choice((f"東京チーム 定例 {n}.m4a", f"Réunion {n}.ogg", f"🎙️ idea {n}.wav"))


def _assign_filenames(slots: list[_Slot], r: random.Random) -> None:
    """Unique names for every non-special slot; duplicates are made on purpose later."""
    used = {s.filename for s in slots if s.special}
    for slot in slots:
        if slot.special:
            continue
        name = _filename(r, slot)
        while name in used:
            stem, dot, ext = name.rpartition(".")
            name = f"{stem} ({slot.number}).{ext}" if dot else f"{name} ({slot.number})"
        used.add(name)
        slot.filename = name


# Duplicate groups, in turn: (members, transcribed flags by member in id order, how dated).
# "older-last": the last id is the oldest (a keep-the-smallest-id cleanup gets it wrong).
# "same-date": one date_recorded; the middle id has the earliest created_at.
# "same-all": date_recorded and created_at equal: only the id decides.
_DUPLICATE_KINDS = (
    (2, (True, False), "older-last"),  # the oldest has no transcript, a newer one has
    (2, (True, False), "natural"),
    (3, (True, False, True), "same-date"),  # oldest by created_at lacks one, two others have
    (2, (True, True), "same-all"),
    (2, (False, False), "natural"),
)


def _make_duplicates(slots: list[_Slot], candidates: list[int]) -> int:
    """Group some slots (already in random order) under one filename.

    Returns how many cleanup would remove: all but the oldest of each group.
    """
    groups = _share(len(slots), 0.009, 1) if len(candidates) >= 3 else 0  # ~2% of recordings
    removed, pos = 0, 0
    for g in range(groups):
        size, transcribed, dating = _DUPLICATE_KINDS[g % len(_DUPLICATE_KINDS)]
        if pos + size > len(candidates):
            break
        members = [slots[i] for i in sorted(candidates[pos:pos + size])]
        pos += size
        for member, has_transcript in zip(members, transcribed):
            member.filename, member.duplicate = members[0].filename, True
            member.transcribed = has_transcript
        _date_duplicates(members, dating)
        removed += size - 1
    return removed


def _date_duplicates(members: list[_Slot], dating: str) -> None:
    first, last = members[0], members[-1]
    if dating == "older-last":
        first.when, last.when = last.when, first.when
    elif dating == "same-date":
        for member, delay in zip(members, (7200, 3600, 10800)):
            member.when, member.created_delay = first.when, delay
    elif dating == "same-all":
        last.when, last.created_delay = first.when, first.created_delay


def _assign_transcripts(plan: _Plan, r: random.Random) -> None:
    """~15% untranscribed (exactly), a few with a deleted transcript; then number them."""
    kept = [s for s in plan.slots if not s.deleted and not s.duplicate]
    n = sum(1 for s in plan.slots if not s.deleted)
    untranscribed = r.sample(kept, min(len(kept), _share(n, 0.15, 1)))
    for slot in untranscribed:
        slot.transcribed = False
    for slot in untranscribed[:_share(n, 0.005, 1)]:
        slot.transcript_deleted = True
    number = 0
    for slot in plan.slots:
        if slot.transcribed or slot.transcript_deleted:
            number += 1
            slot.transcript = number
    plan.tr_width = _width(number, 6)


def _assign_meetings(plan: _Plan, recordings: int, r: random.Random) -> None:
    """~N/4 meetings, a few deleted; ~70% of recordings linked, ~3% to a deleted meeting."""
    kept_count = max(1, recordings // 4)
    deleted_count = _share(kept_count, 0.04, 1) if recordings >= 20 else 0
    total = kept_count + deleted_count
    deleted = set(r.sample(range(1, total + 1), deleted_count))
    plan.meeting_numbers = [m for m in range(1, total + 1) if m not in deleted]
    plan.mtg_width = _width(total, 4)
    plan.meeting_ids = {_meeting_id(m, plan.mtg_width) for m in plan.meeting_numbers}
    live = [s for s in plan.slots if not s.deleted]
    r.shuffle(live)
    dangling = _share(recordings, 0.03, 1)
    linked = round(recordings * 0.70)
    gone = [_meeting_id(m, plan.mtg_width) for m in sorted(deleted)] or ["AAMkAGI2TG93AAA="]
    for i, slot in enumerate(live[:dangling]):
        # One dangling reference is a calendar id of another shape, not a deleted mtg-*.
        slot.meeting = "AAMkAGI2TG93AAA=" if i == 0 else r.choice(gone)
    meetings = plan.meeting_numbers
    for slot in live[dangling:dangling + linked]:
        near = min(len(meetings) - 1, slot.when * len(meetings) // _SPAN_SECONDS)
        slot.meeting = _meeting_id(meetings[near], plan.mtg_width)


def _assign_embeddings(plan: _Plan, r: random.Random) -> None:
    """~20% of transcripts get 1-4 chunks; every deleted transcript left 1-3 behind."""
    written = [s for s in plan.slots if s.transcribed]
    chosen = r.sample(written, min(len(written), _share(len(plan.slots), 0.2 * 0.85, 1)))
    for slot in sorted(chosen, key=lambda s: s.number):
        plan.chunks[slot.transcript] = (r.randint(1, 4), slot.when + 86400)
    for slot in plan.slots:
        if slot.transcript_deleted and slot.transcript:
            plan.chunks[slot.transcript] = (r.randint(1, 3), slot.when + 86400)
    plan.emb_width = _width(sum(count for count, _ in plan.chunks.values()), 6)


# ---- rows -------------------------------------------------------------------------------

def _fmt(seconds: int, pattern: str) -> str:
    return time.strftime(pattern, time.gmtime(_BASE_EPOCH + seconds))


def _iso(seconds: int) -> str:
    """The app's date style (JavaScript toISOString)."""
    return _fmt(seconds, "%Y-%m-%dT%H:%M:%S.000Z")


def _sql_time(seconds: int) -> str:
    """SQLite's CURRENT_TIMESTAMP style, for created_at / updated_at."""
    return _fmt(seconds, "%Y-%m-%d %H:%M:%S")


def _meeting_id(number: int, width: int) -> str:
    return f"mtg-{number:0{width}d}"


def _meeting_rows(plan: _Plan, r: random.Random) -> Iterator[tuple]:
    total = plan.meeting_numbers[-1]
    for m in plan.meeting_numbers:
        start = (m - 1) * _SPAN_SECONDS // total // 900 * 900 + 9 * 3600
        organizer = r.choice(_PEOPLE)
        attendees = r.sample(_PEOPLE, r.randint(1, 5))
        attendee_text = r.choice((None, "[]", _json([{"name": a[0], "email": a[1]} for a in attendees]),
                                  _json([a[1] for a in attendees])))
        recurring = int(r.random() < 0.3)
        yield (_meeting_id(m, plan.mtg_width), r.choice(_SUBJECTS), _iso(start),
               _iso(start + r.choice((900, 1800, 3600, 5400))),
               r.choice((None, "Sala 2", "会議室 A", "Zoom", "")), organizer[0], organizer[1],
               attendee_text, r.choice((None, "", r.choice(_SUMMARIES))), recurring,
               "FREQ=WEEKLY;BYDAY=MO" if recurring else None,
               r.choice((None, f"https://meet.example.com/{m:x}")),
               _sql_time(start - 86400), _sql_time(start - 3600))


def _join(root: str, name: str) -> str:
    return root + ("\\" if "\\" in root else "/") + name


def _recording_rows(plan: _Plan, r: random.Random) -> Iterator[tuple]:
    for s in plan.slots:
        if s.deleted:
            continue
        imported = r.random() < 0.1
        on_local = 1 if imported else (None if r.random() < 0.01 else int(r.random() < 0.5))
        on_device = 0 if imported or (on_local and r.random() < 0.3) else 1
        duration = r.choice((None, 0.0)) if r.random() < 0.02 else round(r.uniform(5, 5400), 3)
        base = re.split(r"[\\/]", s.filename)[-1]
        root = r.choice(_LOCAL_ROOTS)
        meeting = (s.meeting, round(r.uniform(0.5, 1.0), 3), r.choice(_CORRELATION_METHODS)) \
            if s.meeting else (None, None, None)
        yield (f"rec-{s.number:0{plan.rec_width}d}", s.filename,
               r.choice((s.filename, None, base)) if imported else s.filename,
               _join(root, base) if on_local else None,
               int((duration or 0) * r.choice((12000, 16000, 32000))) + 44 if duration is not None else None,
               duration, _iso(s.when), *meeting,
               r.choice(("pending", "ready", "transcribed")) if s.transcribed else "pending",
               _sql_time(s.when + s.created_delay),
               "both" if on_device and on_local else ("local-only" if on_local else "device-only"),
               "complete" if s.transcribed else r.choice(("none", "none", "failed", "pending")),
               on_device, _iso(s.when + s.created_delay + 600) if on_device else None,
               on_local, "import" if imported else "hidock", int(imported))


class _TextMaker:
    """Transcript text of about a target size, from pre-measured lines (fast at 100k)."""

    def __init__(self, target_bytes: int) -> None:
        self.lines = [f"{who}: {text}" for who in _SPEAKERS for text in _SENTENCES]
        self.words = [len(line.split()) for line in self.lines]
        self.average = sum(len(line.encode()) + 1 for line in self.lines) / len(self.lines)
        self.target = target_bytes
        self.indexes = range(len(self.lines))

    def make(self, r: random.Random) -> tuple[str, int]:
        picks = r.choices(self.indexes, k=round(self.target * r.uniform(0.8, 1.2) / self.average))
        return "\n".join([self.lines[i] for i in picks]), sum([self.words[i] for i in picks])


def _title(r: random.Random) -> str | None:
    pick = r.random()
    if pick < 0.25:
        return None
    if pick < 0.35:
        return r.choice(("", "   ", "\t"))
    if pick < 0.40:
        return f"  {r.choice(_SUBJECTS)}  "
    return r.choice(_SUBJECTS)


def _summary(r: random.Random) -> str | None:
    pick = r.random()
    if pick < 0.2:
        return None
    if pick < 0.28:
        return r.choice(("  ", ""))
    return " ".join(r.sample(_SUMMARIES, 2))


def _insights(r: random.Random) -> tuple[str | None, ...]:
    """topics, key_points, sentiment, speakers: carried along, never read by the upgrade."""
    return (r.choice((None, "[]", _json(r.sample(_SUBJECTS, 2)))),
            r.choice((None, _json(r.sample(_SUMMARIES, 2)))),
            r.choice((None, "positive", "neutral", "mixed")),
            r.choice((None, _json(r.sample(_SPEAKERS, 2)))))


def _transcript_rows(plan: _Plan, r: random.Random, text: _TextMaker) -> Iterator[tuple]:
    """Transcripts in recording order; a deleted recording's transcript stays (an orphan)."""
    index = 0
    for s in plan.slots:
        if not s.transcribed or s.transcript is None:
            continue
        full_text, words = text.make(r)
        provider, model = r.choice(_PROVIDERS)
        yield (f"tr-{s.transcript:0{plan.tr_width}d}", f"rec-{s.number:0{plan.rec_width}d}", full_text,
               r.choice(_LANGUAGES), _summary(r), action_items_value(index, r), *_insights(r),
               words, provider, model, _title(r),
               r.choice((None, _json(["¿Qué falta?", "Who owns the budget?"]))),
               _sql_time(s.when + s.created_delay + r.randrange(300, 7200)))
        index += 1


def _embedding_rows(plan: _Plan, r: random.Random) -> Iterator[tuple]:
    number = 0
    for transcript in sorted(plan.chunks):
        count, when = plan.chunks[transcript]
        for chunk in range(count):
            number += 1
            yield (f"emb-{number:0{plan.emb_width}d}", f"tr-{transcript:0{plan.tr_width}d}", chunk,
                   " ".join(r.sample(_SENTENCES, 2)), r.randbytes(64), _sql_time(when + chunk))


def _config_rows(seed: int) -> list[tuple]:
    values = (("app.version", "2.7.3"), ("ui.theme", "dark"), ("ui.locale", "ja-JP"),
              ("transcription.provider", "whisper-local"), ("transcription.language", "es"),
              ("device.last_serial", "HDK-0042-Ω"), ("calendar.sync_enabled", "1"),
              ("onboarding.completed", "true"), ("cloud.sync_folder", None), ("demo.seed", str(seed)))
    return [(key, value, _sql_time(i * 86400)) for i, (key, value) in enumerate(values)]


_BOOKMARKS_SQL = """
CREATE TABLE user_bookmarks (id INTEGER PRIMARY KEY, recording_id TEXT NOT NULL,
  position_seconds REAL, label TEXT, created_at TEXT);
CREATE INDEX idx_user_bookmarks_recording ON user_bookmarks(recording_id);
"""


def _bookmark_rows(plan: _Plan, r: random.Random) -> list[tuple]:
    live = [s for s in plan.slots if not s.deleted]
    picks = sorted(r.sample(live, min(5, len(live))), key=lambda s: s.number)
    labels = ("Budget ✔", "Zoë's idea", "要確認", None)
    return [(None, f"rec-{s.number:0{plan.rec_width}d}", round(r.uniform(0, 300), 1), r.choice(labels),
             _sql_time(s.when + 86400)) for s in picks]


# ---- writing ----------------------------------------------------------------------------

class _Counter:
    """Counts what an iterable yields as executemany consumes it."""

    def __init__(self, rows: Iterable[tuple]) -> None:
        self.rows, self.count = rows, 0

    def __iter__(self) -> Iterator[tuple]:
        for row in self.rows:
            self.count += 1
            yield row


# Columns named, in the order the row builders yield them (not trusting the file's order).
_COLUMNS = {
    "meetings": "id subject start_time end_time location organizer_name organizer_email attendees "
                "description is_recurring recurrence_rule meeting_url created_at updated_at",
    "recordings": "id filename original_filename file_path file_size duration_seconds date_recorded "
                  "meeting_id correlation_confidence correlation_method status created_at location "
                  "transcription_status on_device device_last_seen on_local source is_imported",
    "transcripts": "id recording_id full_text language summary action_items topics key_points sentiment "
                   "speakers word_count transcription_provider transcription_model title_suggestion "
                   "question_suggestions created_at",
    "embeddings": "id transcript_id chunk_index chunk_text embedding created_at",
    "config": "key value updated_at",
    "schema_version": "version applied_at",
    "user_bookmarks": "id recording_id position_seconds label created_at",
}


def _insert(conn: apsw.Connection, table: str, rows: Iterable[tuple]) -> int:
    columns = _COLUMNS[table].split()
    counted = _Counter(rows)
    conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                     counted)
    return counted.count


def _fill(conn: apsw.Connection, plan: _Plan, seed: int, transcript_bytes: int,
          streams: list[random.Random]) -> DemoSummary:
    r_meet, r_rec, r_tr, r_emb, r_misc = streams
    conn.execute(schema.read(schema.V10_FILE))
    # v10.sql stamps version 10 with CURRENT_TIMESTAMP: pin it, and add the earlier versions.
    conn.execute("UPDATE schema_version SET applied_at = ?", (_sql_time(0),))
    _insert(conn, "schema_version", [(v, _sql_time(-(10 - v) * 30 * 86400)) for v in range(1, 10)])
    meetings = _insert(conn, "meetings", _meeting_rows(plan, r_meet))
    recordings = _insert(conn, "recordings", _recording_rows(plan, r_rec))
    transcripts = _insert(conn, "transcripts", _transcript_rows(plan, r_tr, _TextMaker(transcript_bytes)))
    embeddings = _insert(conn, "embeddings", _embedding_rows(plan, r_emb))
    _insert(conn, "config", _config_rows(seed))
    conn.execute(_BOOKMARKS_SQL)
    _insert(conn, "user_bookmarks", _bookmark_rows(plan, r_misc))
    live = [s for s in plan.slots if not s.deleted]
    dangling = sum(1 for s in live if s.meeting is not None and s.meeting not in plan.meeting_ids)
    return DemoSummary(
        recordings=recordings, transcripts=transcripts, meetings=meetings,
        untranscribed=sum(1 for s in live if not s.transcribed), duplicates=plan.duplicates,
        orphaned_transcripts=sum(1 for s in plan.slots if s.deleted and s.transcribed),
        dangling_meeting_refs=dangling,
        embeddings=embeddings)


def _whole(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _validate(path: object, recordings: object, seed: object, journal_mode: object,
              transcript_bytes: object) -> str:
    target = os.fspath(path) if isinstance(path, (str, os.PathLike)) else None
    if not isinstance(target, str) or not target or "\x00" in target:
        raise InvalidArgument("The demo library location must be a non-empty file path.")
    if not _whole(recordings, 1, MAX_RECORDINGS):
        raise InvalidArgument(f"The number of recordings must be a whole number from 1 to "
                              f"{MAX_RECORDINGS:,}.")
    if not _whole(seed, 0, MAX_SEED):  # random.Random(-s) == random.Random(s): refuse negatives
        raise InvalidArgument("The seed must be a whole number from 0 upward.")
    if journal_mode not in JOURNAL_MODES:
        raise InvalidArgument("The journal mode must be 'wal' or 'delete'.")
    if not _whole(transcript_bytes, 0, MAX_TRANSCRIPT_BYTES):
        raise InvalidArgument(f"The transcript size must be from 0 to {MAX_TRANSCRIPT_BYTES:,} bytes.")
    if os.path.lexists(target):
        raise InvalidArgument(EXISTS_MESSAGE)
    parent = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(parent):
        raise InvalidArgument("The folder for the demo library does not exist; it is not created.")
    if not os.access(parent, os.W_OK):
        raise errors.ReadOnly("The folder for the demo library cannot be written to. Nothing was created.")
    # A stale journal beside the target or the temp file would be replayed into the new
    # library by SQLite, and a stale temp file may be someone's: refuse rather than delete.
    for suffix in (*SIDECAR_SUFFIXES, ".tmp", *(".tmp" + s for s in SIDECAR_SUFFIXES)):
        if os.path.lexists(target + suffix):
            raise InvalidArgument(f"A leftover file named like the library plus '{suffix}' lies beside "
                                  "that location; remove it or choose another name.")
    return target


def _remove(paths: Iterable[str]) -> None:
    for p in paths:
        try:
            os.remove(p)
        except FileNotFoundError:
            pass


def _fsync_folder(folder: str) -> None:
    """Make the rename durable where the platform allows opening a folder (not Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def create_demo_library(path: str, recordings: int = 200, seed: int = 0, journal_mode: str = "wal",
                        transcript_bytes: int = 1500) -> DemoSummary:
    """Write a new, deterministic V10 library at `path`; refuse if anything is there."""
    target = _validate(path, recordings, seed, journal_mode, transcript_bytes)
    master = random.Random(seed)
    # One stream per table, drawn from the seed: each table's rows depend only on the plan
    # and its own stream.
    plan_rng, *streams = (random.Random(master.getrandbits(64)) for _ in range(6))
    plan = _plan(recordings, plan_rng)
    tmp = target + ".tmp"
    try:
        conn = apsw.Connection(tmp, flags=apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE)
        try:
            conn.execute(f"PRAGMA journal_mode={journal_mode}").fetchall()
            conn.execute("PRAGMA cache_size=-65536")  # 64 MB: fewer spills in the big transaction
            conn.execute("BEGIN IMMEDIATE")
            summary = _fill(conn, plan, seed, transcript_bytes, streams)
            conn.execute("COMMIT")
            if journal_mode == "wal":
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
        finally:
            conn.close()
        leftovers = [tmp + s for s in SIDECAR_SUFFIXES if os.path.exists(tmp + s)]
        _remove(leftovers)  # ours, and empty after the checkpoint; SQLite normally deletes them
        if os.path.lexists(target):  # someone made it while we were building
            raise InvalidArgument(EXISTS_MESSAGE)
        os.replace(tmp, target)
    except BaseException as exc:
        _remove([tmp, *(tmp + s for s in SIDECAR_SUFFIXES)])
        if isinstance(exc, apsw.Error):  # disk full, I/O error...: our typed error, nothing left
            raise library.translate(exc, "building a demo library") from exc
        if isinstance(exc, OSError):
            raise errors.IOFault("The demo library could not be written. Nothing was left behind.") from exc
        raise
    _fsync_folder(os.path.dirname(os.path.abspath(target)))
    return summary
