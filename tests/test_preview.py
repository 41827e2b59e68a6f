"""The upgrade preview counts exactly what `migrate` then makes, and writes nothing.

Every library is built twice from one seed: the preview runs on one (whose bytes, and
its folder's files, must not change), `migrate` on the other; the preview's counts must
equal the upgrade's result field for field. The layouts are the ones users have
(tests/real_layouts.py) and the suite's own V10 library (conftest's build_v10 + fill), in
both journal modes.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

import pytest

from app.engine.migrate import migrate
from app.engine.preview import OPERATION, preview_upgrade
from app.engine.progress import ProgressRegistry
from app.engine.status import status
from tests.conftest import build_v10, fill
from tests.real_layouts import build

COUNTS = ("captures_created", "captures_adopted", "recordings_skipped", "action_items_created",
          "dangling_meeting_refs", "undecodable_recordings")


def folder_state(folder: Path) -> dict[str, str]:
    """Every file in the library's folder by content hash: the library, sidecars, snapshots."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def conftest_library(path: Path, journal_mode: str) -> None:
    fill(build_v10(path, journal_mode), 60)


def layout_library(layout: str):
    return lambda path, _mode: build(path, layout, recordings=60)


BUILDERS = {
    "conftest-wal": (conftest_library, "wal"),
    "conftest-delete": (conftest_library, "delete"),
    "app_v10": (layout_library("app_v10"), None),
    "half_done": (layout_library("half_done"), None),
    "v11_name_only": (layout_library("v11_name_only"), None),
    "surrogates": (layout_library("surrogates"), None),
}


def twins(tmp_path: Path, name: str) -> tuple[Path, Path]:
    make, mode = BUILDERS[name]
    paths = []
    for folder in ("previewed", "upgraded"):
        (tmp_path / folder).mkdir()
        path = tmp_path / folder / "library.db"
        make(path, mode)
        paths.append(path)
    return paths[0], paths[1]


@pytest.mark.parametrize("name", list(BUILDERS))
def test_the_preview_counts_what_the_upgrade_then_makes(tmp_path: Path, name: str) -> None:
    previewed, upgraded = twins(tmp_path, name)
    before = folder_state(previewed.parent)
    preview = preview_upgrade(str(previewed))
    assert preview.success, preview.errors
    assert folder_state(previewed.parent) == before  # the library file byte for byte, no sidecar left
    result = migrate(str(upgraded))
    assert result.success, result.errors
    assert preview.needed is True and preview.captures_created > 0
    assert {k: getattr(preview, k) for k in COUNTS} == {k: getattr(result, k) for k in COUNTS}
    # ...and the upgrade of the previewed library itself makes the same (the preview left no trace).
    again = migrate(str(previewed))
    assert {k: getattr(again, k) for k in COUNTS} == {k: getattr(result, k) for k in COUNTS}


def test_the_layouts_exercise_every_count(tmp_path: Path) -> None:
    """The comparison above means something only if the counts are not all zero somewhere."""
    seen = {k: 0 for k in COUNTS}
    for name in ("app_v10", "half_done", "surrogates"):
        (tmp_path / name).mkdir()
        path = tmp_path / name / "library.db"
        BUILDERS[name][0](path, None)
        preview = preview_upgrade(str(path))
        for k in COUNTS:
            seen[k] += getattr(preview, k)
    assert all(seen.values()), seen


def test_an_upgraded_library_has_nothing_to_preview(tmp_path: Path) -> None:
    lib = build_v10(tmp_path / "library.db")
    fill(lib, 20)
    assert migrate(str(lib)).success
    preview = preview_upgrade(str(lib))
    assert preview.success and preview.needed is False
    assert all(getattr(preview, k) == 0 for k in COUNTS)
    assert preview.version == status(str(lib)).version


def test_a_missing_library_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "typo.db"
    preview = preview_upgrade(str(path))
    assert [e.code for e in preview.errors] == ["LIBRARY_NOT_FOUND"]
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_a_cancelled_preview_stops_and_changes_nothing(tmp_path: Path) -> None:
    lib = build_v10(tmp_path / "library.db")
    fill(lib, 5000)
    before = folder_state(tmp_path)
    registry = ProgressRegistry()
    started = threading.Event()

    def cancel_once_counting(event) -> None:
        if event.operation == OPERATION and event.phase == "counting" and not started.is_set():
            started.set()
            registry.cancel_all()
    registry.subscribe(cancel_once_counting)
    preview = preview_upgrade(str(lib), registry=registry)
    assert started.is_set()
    assert [e.code for e in preview.errors] == ["CANCELLED"]
    assert preview.captures_created == 0
    assert folder_state(tmp_path) == before
