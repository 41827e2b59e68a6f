"""Outgoing messages never carry paths, user names or home folders; the checker can fail."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from app.engine.migrate import migrate
from app.engine.redact import redact
from app.engine.rollback import rollback
from app.engine.status import status

PATHS = [
    "/home/zoë/Meeting Recorder/library.db",
    "/tmp/a b/c d.sqlite",
    "C:\\Users\\José Núñez\\AppData\\Roaming\\library.db",
    "C:/Users/bob/My Library.db",
    "\\\\fileserver\\share\\team lib.db",
    "//fileserver/share/lib.db",
    "file:///home/bob/library.db",
    "file://host/share/library%20x.db",
    "%2Fhome%2Fbob%2Flibrary.db",
    "~/library.db",
]


@pytest.mark.parametrize("path", PATHS)
def test_path_forms_are_removed(path: str) -> None:
    text = f"cannot open {path} because of reasons"
    out = redact(text)
    assert "<path>" in out
    for fragment in ("zoë", "José", "bob", "fileserver", "library", "Meeting Recorder", "AppData"):
        if fragment in path:
            assert fragment not in out, out
    assert out.startswith("cannot open") and out.endswith("because of reasons")


def test_home_and_user_are_removed() -> None:
    home = os.path.expanduser("~")
    assert home not in redact(f"under {home} somewhere")


def test_plain_messages_survive() -> None:
    text = "The library is at version 9; this upgrade starts from version 10. 3/4 done, a 1:1 meeting."
    assert redact(text) == text


def test_negative_control_the_checker_sees_an_unredacted_path() -> None:
    # The check used below must be able to fail: an unredacted message does contain the path.
    raw = "cannot open /home/zoë/library.db"
    assert "zoë" in raw and "zoë" not in redact(raw)


@pytest.mark.parametrize("name", ["my library.db", "bibliothèque ✓.db", "100%25 real.db", "file%3A.db"])
def test_every_error_result_is_free_of_the_library_path(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "Users" / "Zoë Smith" / "Documents"
    folder.mkdir(parents=True)
    paths = [folder / name, folder / "missing" / name]
    paths[0].write_bytes(b"not a database at all" * 50)
    for path in paths:
        for op in (status, migrate, rollback):
            result = op(str(path))
            text = result.model_dump_json()
            assert not result.success
            for needle in (str(folder), "Zoë", "Users", str(tmp_path)):
                assert needle not in text, (op.__name__, needle, text)
