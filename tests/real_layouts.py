"""Library files laid out the way the Electron meeting-recorder app left them on users' disks.

`sql/v10.sql` is the clean V10 schema; users' files differ from it (see
/work/shared/guide/real-libraries.md). `build(path, layout)` writes one such file with apsw, so
upgrade tests run on what users have rather than on what the project would like them to have:

- app_v10        the version-10 app's file: 16 tables, 23 indexes, schema_version 1..10, columns
                 added by ALTER sitting at the end of their tables, no title_suggestion;
- v11_name_only  + the version-11 start-up: migration columns by ALTER after storage_tier, an
                 earlier V11 script (no category/status, other index names), version 11, no data;
- half_done      + the original per-row data migration stopped part way (migrated, error, pending,
                 captures whose recording is still pending, a migration to a missing capture);
- surrogates     app_v10 with lone-surrogate bytes (invalid UTF-8) stored as TEXT in every kind of
                 text column;
- own_drift      app_v10 with drift the guide does not name: other column order, an extra and two
                 missing columns, a view, a trigger, a WITHOUT ROWID table, varied applied_at.

Everything comes from `random.Random(seed)` and no clock value is stored (every CURRENT_TIMESTAMP
default is given a value), so the same arguments give the same logical content. `Built.expected`
is read back from the written file, never restated by hand. Nothing here imports app.engine.
"""

from __future__ import annotations

import json
import pathlib
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import apsw

from tests.real_layouts_sql import (_V10_STEPS, _V10_INDEX_ON, _V10_INDEXES, _OWN_TABLES, _OWN_EXTRAS, _V11_ALTERS, _V11_EARLY)

LAYOUTS = ("app_v10", "v11_name_only", "half_done", "surrogates", "own_drift")
MIN_RECORDINGS = 12  # half_done and surrogates need that many transcribed recordings to place every case
# The text the upgrade's data pass reads for a recording: invalid UTF-8 here makes the recording undecodable.
DATA_PASS_TEXT = {"recordings": ("filename", "file_path", "date_recorded", "meeting_id", "correlation_method"),
                  "transcripts": ("title_suggestion", "summary", "action_items")}
# own_drift: columns of sql/v10.sql that the user's file does not have.
OWN_ABSENT = {"recordings": {"correlation_method", "duration_seconds"}, "transcripts": {"summary"}}


@dataclass(frozen=True)
class Built:
    """What `build` wrote, and the facts an upgrade test can check against."""

    path: pathlib.Path
    layout: str
    recordings: int
    transcribed: int
    expected: dict
    undecodable_recordings: int = 0


class Bad(bytes):
    """Text whose bytes are not UTF-8: bound through CAST(? AS TEXT) so SQLite stores it as TEXT."""


def bad(text: str) -> Bad:
    """`text` with its lone surrogates encoded as the WebAssembly build did (ED A0 80 .. ED BF BF)."""
    return Bad(text.encode("utf-8", "surrogatepass"))


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_SUBJECTS = ("Weekly sync", "Revisión de presupuesto", "1:1 Ana / Luis", "Client kick-off",
             "Sprint planning", "Entrevista candidato", "Q3 roadmap")
_SENTENCES = ("Hola equipo, empezamos.", "Revisamos el presupuesto del trimestre.", "We agreed to ship on Friday.",
              "Luis will send the deck.", "Ana pregunta por los plazos.", "Next step is the client demo.",
              "Zoë toma notas.", "¿Alguna duda?")
_TASKS = ("Send the deck to Ana", "Book the follow-up", "Revisar el contrato", "Llamar al proveedor",
          "Update the roadmap", "Share the notes", "Preparar la demo")
_PEOPLE = ("Ana García", "Luis Pérez", "Zoë Martin", "Jon Smith")
_ITEM_KINDS = ("strings", "objects", "empty", "null", "text")
_SENTENCE_BYTES = sum(len(s.encode()) + 1 for s in _SENTENCES) / len(_SENTENCES)  # joined by spaces
_RECORDING_INSERT = ("id", "filename", "file_path", "file_size", "duration_seconds", "date_recorded", "meeting_id",
                     "correlation_confidence", "correlation_method", "transcription_status", "created_at")


def _uid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _iso(d: datetime) -> str:
    return d.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _ts(d: datetime) -> str:
    return d.strftime("%Y-%m-%d %H:%M:%S")


def _win_path(user: str, name: str) -> str:
    return f"C:\\Users\\{user}\\AppData\\Roaming\\HiDock\\recordings\\{name}"


def _action_items(rng: random.Random, kind: str) -> str | None:
    """What the language model returned, stored as it came."""
    tasks = rng.sample(_TASKS, rng.randint(1, 3))
    if kind == "strings":
        return json.dumps(tasks, ensure_ascii=False)
    if kind == "objects":
        items: list = [{"task": t, "owner": rng.choice(_PEOPLE), "priority": rng.choice(("high", "medium", "low"))}
                       for t in tasks]
        return json.dumps(["Send notes", *items] if rng.random() < 0.3 else items, ensure_ascii=False)
    return {"empty": "[]", "null": None, "text": "\n".join(f"- {t}" for t in tasks)}[kind]


def _meetings(rng: random.Random, day: datetime, count: int) -> list[dict]:
    out = []
    for i in range(count):
        start = day + timedelta(days=i * 3, hours=rng.randint(0, 8))
        out.append(dict(
            id=f"evt-{rng.getrandbits(48):012x}", subject=rng.choice(_SUBJECTS), start_time=_iso(start),
            end_time=_iso(start + timedelta(minutes=rng.choice((30, 45, 60)))), organizer_name=rng.choice(_PEOPLE),
            attendees=json.dumps(rng.sample(_PEOPLE, 2), ensure_ascii=False), is_recurring=rng.randint(0, 1),
            created_at=_ts(start - timedelta(days=2)), updated_at=_ts(start - timedelta(days=1)),
            meeting_url=rng.choice((None, "https://meet.example/x"))))
    return out


def _text(rng: random.Random, transcript_bytes: int | None) -> str:
    """A few sentences; with `transcript_bytes`, about that many UTF-8 bytes (+-20 %), for the bench."""
    k = (rng.randint(4, 12) if transcript_bytes is None
         else max(1, round(transcript_bytes * rng.uniform(0.8, 1.2) / _SENTENCE_BYTES)))
    return " ".join(rng.choices(_SENTENCES, k=k))


def _transcript(rng: random.Random, rid: str, day: datetime, kind: str, transcript_bytes: int | None) -> dict:
    text = _text(rng, transcript_bytes)
    return dict(
        id=_uid(rng), recording_id=rid, full_text=text, language=rng.choice(("es", "en")),
        summary=rng.choice((None, "", " ".join(rng.sample(_SENTENCES, 2)))), action_items=_action_items(rng, kind),
        topics=json.dumps(rng.sample(_SUBJECTS, 2), ensure_ascii=False),
        key_points=json.dumps(rng.sample(_SENTENCES, 2), ensure_ascii=False),
        sentiment=rng.choice(("positive", "neutral", "mixed")), created_at=_ts(day + timedelta(hours=2)),
        speakers=json.dumps(rng.sample(_PEOPLE, 2), ensure_ascii=False), word_count=len(text.split()),
        transcription_provider="gemini", transcription_model="gemini-2.0-flash")


def _v10_rows(rng: random.Random, n: int, transcript_bytes: int | None = None) -> dict[str, list[dict]]:
    """Every row of a version-10 library, table by table, in insertion order."""
    user = rng.choice(("ana.garcia", "jsmith", "Zoë", "luis perez"))
    day = datetime(2025, 1, 6, 8) + timedelta(minutes=rng.randint(0, 600))
    meetings = _meetings(rng, day, max(3, n // 4))
    deleted = [f"evt-{rng.getrandbits(48):012x}" for _ in range(2)]  # calendar events deleted since
    untranscribed = set(rng.sample(range(n), max(1, round(n / 6))))
    kinds = [*_ITEM_KINDS, *rng.choices(_ITEM_KINDS, weights=(10, 3, 2, 2, 2), k=n)][:n - len(untranscribed)]
    rng.shuffle(kinds)  # every kind of action items at least once
    recordings, transcripts, num = [], [], rng.randint(1, 40)
    for i in range(n):
        day += timedelta(hours=rng.randint(3, 60), minutes=rng.randint(0, 59), seconds=rng.randint(0, 59))
        imported, num = rng.random() < 0.1, num + 1
        name = (f"Voice memo {i}.m4a" if imported
                else f"{day.year}{_MONTHS[day.month - 1]}{day.day:02}-{day:%H%M%S}-Rec{num:02}.hda")
        on_local = imported or rng.random() < 0.6
        on_device = not imported and rng.random() < 0.8
        pick = rng.random()
        meeting = rng.choice(meetings)["id"] if pick < 0.5 else rng.choice(deleted) if pick < 0.6 else None
        duration = round(rng.uniform(30, 5400), 1)
        rid = _uid(rng)
        recordings.append(dict(
            id=rid, filename=name, file_path=_win_path(user, name) if on_local else None,
            file_size=int(duration * rng.choice((8000, 16000))), duration_seconds=duration, date_recorded=_iso(day),
            meeting_id=meeting, correlation_confidence=round(rng.uniform(0.5, 1), 2) if meeting else None,
            correlation_method=rng.choice(("time_overlap", "manual", "ai_selected")) if meeting else None,
            transcription_status=rng.choice(("none", "pending", "failed")) if i in untranscribed else "complete",
            created_at=_ts(day + timedelta(minutes=rng.randint(1, 90))), on_local=int(on_local),
            location="both" if on_local and on_device else "local-only" if on_local else "device-only",
            on_device=int(on_device), source="import" if imported else "hidock", is_imported=int(imported),
            storage_tier=rng.choice((None, None, None, "hot", "cold"))))
        if i not in untranscribed:
            transcripts.append(_transcript(rng, rid, day, kinds.pop(), transcript_bytes))
    return dict(meetings=meetings, recordings=recordings, transcripts=transcripts,
                **_other_rows(rng, user, meetings, recordings, transcripts))


def _other_rows(rng: random.Random, user: str, meetings: list[dict], recordings: list[dict],
                transcripts: list[dict]) -> dict[str, list[dict]]:
    """Rows of embeddings, config and the ten tables sql/v10.sql does not describe."""
    at = recordings[-1]["created_at"]
    done = {t["recording_id"] for t in transcripts}
    known = {m["id"] for m in meetings}  # built once: per recording it made 100,000 recordings take minutes
    linked = [r for r in recordings if r["meeting_id"] in known]
    people = [dict(id=_uid(rng), name=p, email=p.split()[0].lower() + "@example.com", type="internal",
                   meeting_count=0, created_at=at) for p in _PEOPLE]
    projects = [dict(id=_uid(rng), name=name, description=None, status="active", created_at=at)
                for name in ("Roadmap", "Cliente ACME")]
    session = [f"chat-{rng.getrandbits(32):08x}" for _ in range(2)]
    config = (("theme", "dark"), ("transcription.provider", "gemini"), ("user.displayName", user),
              ("device.autoSync", "true"))
    return dict(
        embeddings=[dict(id=_uid(rng), transcript_id=t["id"], chunk_index=k, chunk_text=t["full_text"][:80],
                         embedding=rng.randbytes(48), created_at=t["created_at"])
                    for t in transcripts[:6] for k in range(2)],
        config=[dict(key=k, value=v, updated_at=at) for k, v in config],
        transcription_queue=[dict(id=_uid(rng), recording_id=r["id"], status=rng.choice(("pending", "failed")),
                                  attempts=rng.randint(0, 3), error_message=None, created_at=r["created_at"])
                             for r in recordings if r["id"] not in done][:3],
        chat_messages=[dict(id=_uid(rng), session_id=session[k // 3], role=("user", "assistant")[k % 2],
                            content=rng.choice(_SENTENCES), created_at=at,
                            sources=json.dumps([recordings[k]["id"]]) if k % 2 else None) for k in range(6)],
        synced_files=[dict(id=_uid(rng), original_filename=r["filename"], local_filename=r["filename"],
                           file_path=r["file_path"], file_size=r["file_size"], synced_at=r["created_at"])
                      for r in recordings if r["on_local"]][:5],
        contacts=people, projects=projects,
        meeting_contacts=[dict(meeting_id=m["id"], contact_id=p["id"], role="attendee")
                          for m in meetings[:3] for p in rng.sample(people, 2)],
        meeting_projects=[dict(meeting_id=m["id"], project_id=rng.choice(projects)["id"]) for m in meetings[:2]],
        recording_meeting_candidates=[dict(id=_uid(rng), recording_id=r["id"], meeting_id=r["meeting_id"],
                                           confidence_score=r["correlation_confidence"], match_reason="time overlap",
                                           is_selected=1, created_at=r["created_at"]) for r in linked[:4]],
        device_file_cache=[dict(filename=r["filename"], file_size=r["file_size"],
                                duration_seconds=r["duration_seconds"], date_recorded=r["date_recorded"], cached_at=at)
                           for r in recordings if r["on_device"]][:4],
        quality_assessments=[dict(id=_uid(rng), recording_id=r["id"], quality=rng.choice(("high", "medium", "low")),
                                  reason="clear audio", assessed_by="ai", assessed_at=at) for r in recordings[:4]])


def _poison(rng: random.Random, rows: dict[str, list[dict]]) -> None:
    """Put lone surrogates (emoji cut by a slice) in every kind of text column: full text, summary,
    action items (in a JSON string and in plain text), filename and path, meeting subject, config
    value, chat message, contact, embedding chunk."""
    recs = {r["id"]: r for r in rows["recordings"]}
    t_text, t_summary, t_json, t_plain, t_name = rng.sample(rows["transcripts"], 5)
    t_text["full_text"] = bad(t_text["full_text"] + " Genial \ud83d")  # full text alone: not a data-pass input
    t_summary["summary"] = bad("Resumen: acordamos el plan \ud83d")
    t_json["action_items"] = bad(json.dumps(["Enviar el deck \ud83d", "Call Ana"], ensure_ascii=False))
    t_plain["action_items"] = bad("- Send the notes \ud83c\n- Book the room")
    untranscribed = [r for r in rows["recordings"] if r["transcription_status"] != "complete"]
    for rec, name in ((recs[t_name["recording_id"]], "Kick-off \ud83c.m4a"),
                      (rng.choice(untranscribed), "Nota \udf89.m4a")):
        rec.update(filename=bad(name), file_path=bad("C:\\Users\\Zoë\\Documents\\Grabaciones \ud83d\\" + name),
                   on_local=1, location="local-only", on_device=0, source="import", is_imported=1)
    for t in rows["transcripts"]:
        if rng.random() < 0.1 and isinstance(t["full_text"], str):
            t["full_text"] = bad(t["full_text"][:-1] + "\ud83d")
    rows["meetings"][0]["subject"] = bad("Weekly sync \ud83d")
    rows["config"][2]["value"] = bad("Zoë \ud83e")
    rows["chat_messages"][0]["content"] = bad("¿Qué dijo Ana? \ud83e")
    rows["contacts"][0]["name"] = bad("Ana \ud83d")
    rows["embeddings"][0]["chunk_text"] = bad("Hola equipo \ud83d")


def _own_rows(rng: random.Random, rows: dict[str, list[dict]]) -> None:
    """Values for own_drift's extra columns and its WITHOUT ROWID table."""
    for r in rows["recordings"]:
        r["favourite"] = int(rng.random() < 0.2)
    for t in rows["transcripts"]:
        t["edited_text"] = t["full_text"].upper() if rng.random() < 0.2 else None
    rows["recording_tags"] = [dict(recording_id=r["id"], tag=tag, added_at=r["created_at"])
                              for r in rows["recordings"][:6] for tag in rng.sample(("cliente", "interno", "todo"), 2)]


def _param(value: object) -> tuple[str, object]:
    return ("CAST(? AS TEXT)", bytes(value)) if isinstance(value, Bad) else ("?", value)


def _insert(conn: apsw.Connection, table: str, row: dict) -> None:
    marks, values = zip(*(_param(v) for v in row.values()))
    conn.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join(marks)})", values)


def _insert_rows(conn: apsw.Connection, rows: dict[str, list[dict]], absent: dict[str, set[str]]) -> None:
    """Insert like the app: recordings with 11 named columns, the rest set by a second statement."""
    for table, items in rows.items():
        for row in items:
            row = {k: v for k, v in row.items() if k not in absent.get(table, ())}
            if table != "recordings":
                _insert(conn, table, row)
                continue
            _insert(conn, table, {k: row[k] for k in _RECORDING_INSERT if k in row})
            later = {k: v for k, v in row.items() if k not in _RECORDING_INSERT}
            marks, values = zip(*(_param(v) for v in later.values()))
            sets = ", ".join(f"{k} = {m}" for k, m in zip(later, marks))
            conn.execute(f"UPDATE recordings SET {sets} WHERE id = ?", (*values, row["id"]))


def _run(conn: apsw.Connection, sql: str) -> None:
    """One schema statement, ignoring "duplicate column" as the app's steps did."""
    try:
        conn.execute(sql)
    except apsw.SQLError as e:
        if "duplicate column" not in str(e):
            raise


def _v10_schema(conn: apsw.Connection, own: bool, created: datetime) -> None:
    """The app's numbered steps 1..10, each with its schema_version row, then its 23 indexes."""
    if own:
        conn.execute(_OWN_TABLES)
    for version, step in enumerate(_V10_STEPS, 1):
        for sql in step:
            _run(conn, sql)
        applied = created + timedelta(days=37 * version, hours=version) if own else created
        stamp = _iso(applied) if own and version % 4 == 0 else _ts(applied)
        conn.execute("INSERT INTO schema_version (version, applied_at) VALUES (?, ?)", (version, stamp))
    conn.execute(_V10_INDEXES)
    if own:
        conn.execute(_OWN_EXTRAS)


def _v11_start_up(conn: apsw.Connection, rng: random.Random, rows: dict[str, list[dict]]) -> None:
    """What the version-11 app's start-up did: ALTERs, the earlier V11 script, version 11. No data."""
    for sql in _V11_ALTERS:
        _run(conn, sql)
    conn.execute(_V11_EARLY)
    last = datetime.fromisoformat(rows["recordings"][-1]["date_recorded"].rstrip("Z").split(".")[0])
    conn.execute("INSERT INTO schema_version (version, applied_at) VALUES (11, ?)", (_ts(last + timedelta(days=1)),))
    nulls = rng.sample([r["id"] for r in rows["recordings"]], len(rows["recordings"]) // 3)
    conn.executemany("UPDATE recordings SET migration_status = NULL WHERE id = ?", [(i,) for i in nulls])


def _raw_items(text: str | None) -> list[str] | None:
    """The original loop's action items: one per JSON array element, raw; None when it could not parse."""
    if text is None:
        return []
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return [v if isinstance(v, str) else json.dumps(v, ensure_ascii=False) for v in value]


def _half_done(conn: apsw.Connection, rng: random.Random, rows: dict[str, list[dict]]) -> None:
    """The original per-row data migration, stopped part way (and once run twice)."""
    trs = {t["recording_id"]: t for t in rows["transcripts"]}
    recs = sorted((r for r in rows["recordings"] if r["id"] in trs), key=lambda r: r["date_recorded"])
    items = {r["id"]: _raw_items(trs[r["id"]]["action_items"]) for r in recs}
    ok = [r for r in recs if items[r["id"]] is not None]
    if len(ok) < 6:
        raise ValueError("half_done needs at least 6 transcripts with JSON action items: use more recordings")
    clock = datetime(2025, 8, 20, 14, 0) + timedelta(minutes=rng.randint(0, 300))

    def capture(rec: dict, when: datetime, cid: str) -> None:
        _insert(conn, "knowledge_captures", dict(
            id=cid, title="Recording: " + rec["filename"], summary=trs[rec["id"]]["summary"],
            meeting_id=rec["meeting_id"], source_recording_id=rec["id"], captured_at=rec["date_recorded"],
            created_at=_ts(when), updated_at=_ts(when)))
        for content in items[rec["id"]]:
            _insert(conn, "action_items", dict(id=_uid(rng), knowledge_capture_id=cid, content=content,
                                               created_at=_ts(when), updated_at=_ts(when)))

    def mark(rec: dict, status: str, cid: str | None = None) -> None:
        conn.execute("UPDATE recordings SET migration_status = ?, migrated_to_capture_id = ?, migrated_at = ? "
                     "WHERE id = ?",
                     (status, cid, _iso(clock) if status == "migrated" else None, rec["id"]))

    k = rng.randint(3, max(3, min(len(ok) - 3, len(ok) // 2)))
    death = ok[k - 1]
    for rec in ok[:k - 1]:
        clock += timedelta(seconds=rng.randint(1, 4))
        cid = _uid(rng)
        capture(rec, clock, cid)
        mark(rec, "migrated", cid)
    for rec in [r for r in recs if items[r["id"]] is None and r["date_recorded"] < death["date_recorded"]] or \
            [r for r in recs if items[r["id"]] is None]:
        mark(rec, "error")  # JSON.parse failed on plain-text action items
    clock += timedelta(seconds=2)
    capture(death, clock, _uid(rng))  # the loop died before marking this recording
    mark(death, "pending")
    twice, dangling = ok[-1], ok[-2]
    newer, older = sorted((_uid(rng), _uid(rng)))  # the older capture has the larger id: "created_at, then id"
    capture(twice, clock + timedelta(minutes=5), newer)
    capture(twice, clock - timedelta(days=1), older)
    mark(twice, "pending")
    mark(dangling, "migrated", _uid(rng))  # names a capture that does not exist: eligible again


def _columns(conn: apsw.Connection, table: str) -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


def _utf8(value: bytes | None) -> bool:
    try:
        value is None or value.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _facts(conn: apsw.Connection) -> tuple[dict, int, int]:
    """(expected, transcribed, undecodable_recordings), read back from the written file."""
    rec_cols, tr_cols = _columns(conn, "recordings"), _columns(conn, "transcripts")
    transcribed = {r[0] for r in conn.execute(
        "SELECT recording_id FROM transcripts WHERE recording_id IN (SELECT id FROM recordings)")}
    status: dict = {}
    captures: set = set()
    oldest: dict = {}
    if "migration_status" in rec_cols and _columns(conn, "knowledge_captures"):
        status = {r[0]: r[1:] for r in conn.execute(
            "SELECT id, migration_status, migrated_to_capture_id FROM recordings")}
        captures = {r[0] for r in conn.execute("SELECT id FROM knowledge_captures")}
        for rid, cid in conn.execute(
                "SELECT source_recording_id, id FROM knowledge_captures ORDER BY created_at DESC, id DESC"):
            oldest[rid] = cid  # the last one written is the oldest
    ids: dict[str, list[str]] = {k: [] for k in ("eligible", "adopted", "already_done", "untranscribed")}
    for (rid,) in conn.execute("SELECT id FROM recordings ORDER BY id"):
        state, cid = status.get(rid, ("pending", None))
        group = ("already_done" if state == "migrated" and cid in captures else "adopted" if rid in oldest
                 else "eligible" if rid in transcribed else "untranscribed")
        ids[group].append(rid)
    eligible = set(ids["eligible"])
    cols = [f"CAST(r.{c} AS BLOB)" for c in DATA_PASS_TEXT["recordings"] if c in rec_cols] + \
           [f"CAST(t.{c} AS BLOB)" for c in DATA_PASS_TEXT["transcripts"] if c in tr_cols]
    undecodable = sum(1 for rid, *values in conn.execute(
        f"SELECT r.id, {', '.join(cols)} FROM recordings r JOIN transcripts t ON t.recording_id = r.id")
        if rid in eligible and not all(map(_utf8, values)))
    dangling_meetings = sum(1 for rid, known in conn.execute(
        "SELECT id, meeting_id IN (SELECT id FROM meetings) FROM recordings WHERE meeting_id IS NOT NULL")
        if rid in eligible and not known)
    expected = {k: len(v) for k, v in ids.items()}
    expected.update(
        ids={k: tuple(v) for k, v in ids.items()},
        adopted_captures={rid: oldest[rid] for rid in ids["adopted"]},
        error=sum(1 for s in status.values() if s[0] == "error"),
        migrated_to_missing=sum(1 for s, cid in status.values() if s == "migrated" and cid not in captures),
        captures=len(captures),
        action_items=conn.execute("SELECT count(*) FROM action_items").fetchone()[0] if captures else 0,
        dangling_meetings=dangling_meetings)
    return expected, len(transcribed), undecodable


def build(path: pathlib.Path, layout: str, recordings: int = 60, seed: int = 0, *,
          transcript_bytes: int | None = None) -> Built:
    """Write a new library file at `path` laid out as `layout` (one of LAYOUTS).

    `transcript_bytes`: transcripts of about that size (the bench's ~3 KB) instead of a few sentences;
    None (the default) writes exactly what it always did.
    """
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; one of {LAYOUTS}")
    if recordings < MIN_RECORDINGS:
        raise ValueError(f"at least {MIN_RECORDINGS} recordings")
    if transcript_bytes is not None and transcript_bytes < 1:
        raise ValueError("transcript_bytes must be positive (or None)")
    path = pathlib.Path(path)
    if path.exists():
        raise FileExistsError(path)
    rng = random.Random(seed)
    rows = _v10_rows(rng, recordings, transcript_bytes)
    if layout == "surrogates":
        _poison(rng, rows)
    if layout == "own_drift":
        _own_rows(rng, rows)
    first = datetime.fromisoformat(rows["meetings"][0]["created_at"])
    created = first - timedelta(days=400 if layout == "own_drift" else 3)  # when the library was created
    conn = apsw.Connection(str(path))
    try:
        conn.execute("PRAGMA page_size=4096")
        conn.execute("PRAGMA journal_mode=delete")
        conn.execute("PRAGMA foreign_keys=OFF")  # the app's files hold dangling meeting ids
        with conn:
            _v10_schema(conn, layout == "own_drift", created)
            _insert_rows(conn, rows, OWN_ABSENT if layout == "own_drift" else {})
            if layout in ("v11_name_only", "half_done"):
                _v11_start_up(conn, rng, rows)
            if layout == "half_done":
                _half_done(conn, rng, rows)
        expected, transcribed, undecodable = _facts(conn)
    finally:
        conn.close()
    return Built(path, layout, recordings, transcribed, expected, undecodable)
