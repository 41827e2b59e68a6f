"""Shared fixtures: real library files built from the canonical V10 schema.

`make_library` writes a V10 library (WAL or rollback-journal) under tmp_path and returns a
`Library` handle with helpers to add rows and to read the file back through apsw. Tests
never mock the database: every check reads the real file.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import apsw
import pytest

from app.engine import schema
from app.engine.snapshots import identity


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep the default library and the log out of the real home folder."""
    base = tmp_path_factory.mktemp("xdg")
    for var in ("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(base / var.lower()))


class Library:
    """A library file on disk, and small helpers to fill and read it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __str__(self) -> str:
        return str(self.path)

    def connect(self) -> apsw.Connection:
        return apsw.Connection(str(self.path))

    def execute(self, sql: str, params: tuple | dict = ()) -> list[tuple]:
        conn = self.connect()
        try:
            with conn:
                return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def insert(self, table: str, **values: object) -> None:
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        self.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", tuple(values.values()))

    def add_meeting(self, id: str, **extra: object) -> None:
        self.insert("meetings", id=id, subject=extra.pop("subject", f"Meeting {id}"),
                    start_time="2024-01-01T09:00", end_time="2024-01-01T10:00", **extra)

    def add_recording(self, id: str, filename: str | None = None, date_recorded: str = "2024-01-01 09:00:00",
                      **extra: object) -> None:
        self.insert("recordings", id=id, filename=filename or f"{id}.wav", date_recorded=date_recorded,
                    **extra)

    def add_transcript(self, id: str, recording_id: str, **extra: object) -> None:
        self.insert("transcripts", id=id, recording_id=recording_id,
                    full_text=extra.pop("full_text", "text"), **extra)

    def version(self) -> int:
        return self.execute("SELECT MAX(version) FROM schema_version")[0][0]

    def rows(self, table: str, order: str = "rowid") -> list[tuple]:
        return self.execute(f"SELECT * FROM {table} ORDER BY {order}")

    def dump(self) -> dict[str, list[tuple]]:
        return logical_dump(self.path)

    def journal_mode(self) -> str:
        return self.execute("PRAGMA journal_mode")[0][0]


def set_version(path: Path, version: int) -> None:
    """Make a library's version (MAX(schema_version.version)) exactly `version`."""
    conn = apsw.Connection(str(path))
    try:
        with conn:
            conn.execute("DELETE FROM schema_version WHERE version >= ?", (version,))
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
    finally:
        conn.close()


def logical_dump(path: Path, readonly: bool = False) -> dict[str, list[tuple]]:
    """Every table's rows in rowid order, plus the schema: a library's logical content."""
    flags = apsw.SQLITE_OPEN_READONLY if readonly else apsw.SQLITE_OPEN_READWRITE
    conn = apsw.Connection(str(path), flags=flags)
    try:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_schema WHERE type='table' AND substr(name, 1, 7) <> 'sqlite_' "
            "AND name <> ? ORDER BY name", (identity.TABLE,))]
        out = {n: conn.execute(f'SELECT * FROM "{n}" ORDER BY rowid').fetchall() for n in names}
        out["__schema__"] = conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_schema WHERE tbl_name <> ? ORDER BY type, name",
            (identity.TABLE,)).fetchall()
        return out
    finally:
        conn.close()


def build_v10(path: Path, journal_mode: str = "wal") -> Library:
    conn = apsw.Connection(str(path))
    try:
        conn.execute(f"PRAGMA journal_mode={journal_mode}")
        with conn:
            conn.execute(schema.read(schema.V10_FILE))
    finally:
        conn.close()
    return Library(path)


@pytest.fixture(params=["wal", "delete"])
def journal_mode(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def make_library(tmp_path: Path) -> Callable[..., Library]:
    """make_library(name="library.db", journal_mode="wal") -> an empty V10 Library."""
    def make(name: str = "library.db", journal_mode: str = "wal") -> Library:
        return build_v10(tmp_path / name, journal_mode)
    return make


@pytest.fixture
def library(make_library: Callable[..., Library]) -> Library:
    """An empty V10 library in WAL mode."""
    return make_library()


@pytest.fixture
def shared() -> Iterator[Path]:
    """A folder another local user can reach (pytest's own tmp folders are root's alone,
    and would hide every file from that user whatever its mode)."""
    folder = Path(tempfile.mkdtemp(prefix="shared-"))
    os.chmod(folder, 0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def file_bytes(path: Path) -> bytes:
    """The raw bytes of a file. Only for files no SQLite connection holds open."""
    return path.read_bytes()


def sidecars(path: Path) -> Iterator[Path]:
    for suffix in ("-wal", "-shm", "-journal"):
        p = Path(str(path) + suffix)
        if p.exists():
            yield p


def fill(lib: Library, recordings: int = 50, untranscribed_every: int = 7) -> None:
    """A small realistic V10 library: meetings, recordings, most with transcripts."""
    conn = lib.connect()
    try:
        with conn:
            conn.executemany(
                "INSERT INTO meetings (id, subject, start_time, end_time) VALUES (?, ?, ?, ?)",
                [(f"m{i:03}", f"Réunion {i} ✓", "2024-01-01", "2024-01-01") for i in range(recordings // 5 + 1)])
            conn.executemany(
                "INSERT INTO recordings (id, filename, date_recorded, meeting_id, file_size, on_local) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(f"r{i:05}", f"REC{i:05}.WAV", f"2024-02-01 10:{i % 60:02}:00",
                  f"m{i // 5:03}" if i % 3 else None, 1000 + i, i % 2) for i in range(recordings)])
            conn.executemany(
                "INSERT INTO transcripts (id, recording_id, full_text, summary, action_items, title_suggestion) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(f"t{i:05}", f"r{i:05}", "Hola equipo. " * 40, f"Summary {i}" if i % 4 else " ",
                  '["Send notes", {"task": "Book room", "owner": "Zoë", "priority": "High"}]' if i % 2
                  else "- call back\n- file report", f"Meeting {i}" if i % 3 else None)
                 for i in range(recordings) if i % untranscribed_every])
    finally:
        conn.close()
