"""The window on libraries laid out as users have them (tests/real_layouts.py), and a page
that takes every version number from the status instead of knowing them itself.

A "version 11 in name only" library (the version-11 app recorded version 11 but never
migrated a recording) must read "upgrade not finished" with Upgrade enabled, and end up
"upgraded" once Upgrade was clicked; a version-10 app's library reads "ready to upgrade".
Every expectation about counts and versions is read back from the engine (`status`,
`migrate` on a twin built from the same seed), so the page is checked against the engine,
not against numbers restated here. Each window runs in a subprocess of its own
(tests/window_driver.py), Qt offscreen, through the app's real entry point.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import apsw
import pytest

from app.engine.migrate import migrate
from app.engine.status import status
from app.engine.steps import REGISTRY
from tests.real_layouts import build
from tests.window_driver import WindowRun, run_window

ROOT = Path(__file__).resolve().parent.parent
RECORDINGS = 60

# What the page must never hold: a version number it knows by itself.
VERSION_LITERALS = ("=== 10", "=== 11", "version 11", "version 10")
VERSION_PATTERNS = (
    r"[=!]==?\s*\d{2,}",          # a comparison with a version: st.version === 10
    r"version \d+",               # a version named in a text: 'now at version 11'
    r"\?[^:;\n]*version\s*:\s*\d+",  # a version as a fallback: snap ? snap.version : 10
)


def version_literals(text: str) -> list[str]:
    found = [literal for literal in VERSION_LITERALS if literal in text]
    found += [m.group(0) for pattern in VERSION_PATTERNS for m in re.finditer(pattern, text, re.I)]
    return found


# The last commit that wrote the page, when it still hard-coded versions 10 and 11 (read by the
# negative control).
OLD_PAGE_COMMIT = "0021c868d364efbcb529c0183aeb270f203ee9fc"


def committed(path: str) -> str:
    """The file as OLD_PAGE_COMMIT has it (pinned, so that the control still reads the old
    page once this change is committed)."""
    proc = subprocess.run(["git", "show", f"{OLD_PAGE_COMMIT}:{path}"], cwd=ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"no git history with {OLD_PAGE_COMMIT[:7]} here: {proc.stderr.strip()}")
    return proc.stdout


def test_the_page_names_no_version_of_its_own() -> None:
    names = ["frontend/index.html"] + sorted(f"frontend/{p.name}" for p in (ROOT / "frontend").glob("*.js"))
    assert "frontend/words.js" in names
    for name in names:
        assert version_literals((ROOT / name).read_text()) == [], name


def test_the_version_check_catches_the_old_page() -> None:
    """Negative control: the page as committed before this change hard-coded 10 and 11."""
    old_js = committed("frontend/app.js")
    found = version_literals(old_js)
    for literal in ("=== 10", "=== 11", "version 11"):
        assert literal in found, literal
    assert any(f.startswith("?") and f.endswith(": 10") for f in found), found  # the restore text's default
    assert "version 11" in version_literals(committed("frontend/index.html"))


# ---- the window on real layouts ---------------------------------------------------------

def open_and_upgrade(library: Path, tmp_path: Path, **config) -> WindowRun:
    run = run_window("upgrade_plain", tmp_path, ["--library", str(library)], library=str(library), **config)
    assert "error" not in run.seen, run.seen["error"] + repr(run)
    assert run.proc.returncode == 0 and run.seen["exit_code"] == 0, run
    assert run.leftovers == [], run.leftovers
    return run


def twin(tmp_path: Path, layout: str, prepare=None):
    """The library to open, and the engine's own migrate result on a twin built alike."""
    folder = tmp_path / "Zoë's library"
    folder.mkdir()
    path = folder / f"{layout}.db"
    build(path, layout, recordings=RECORDINGS)
    other = tmp_path / "twin.db"
    build(other, layout, recordings=RECORDINGS)
    if prepare:
        prepare(path)
        prepare(other)
    return path, migrate(str(other))


def drift_outputs(path: Path) -> None:
    """The (empty) outputs table of an early V11 script, with one column declared otherwise."""
    conn = apsw.Connection(str(path))
    try:
        conn.execute("""DROP TABLE outputs; CREATE TABLE outputs (id TEXT PRIMARY KEY,
  knowledge_capture_id TEXT NOT NULL REFERENCES knowledge_captures(id) ON DELETE CASCADE, template_id TEXT,
  template_name TEXT NOT NULL, content TEXT NOT NULL, generated_at TEXT NOT NULL, regenerated_count TEXT DEFAULT '0',
  exported_at TEXT, export_format TEXT, created_at TEXT DEFAULT CURRENT_TIMESTAMP,
  updated_at TEXT DEFAULT CURRENT_TIMESTAMP)""")
    finally:
        conn.close()


def check_before(loaded: dict, st, words: str) -> None:
    assert loaded["version"] == f"{st.version} ({words})", loaded["version"]
    assert loaded["buttons"]["upgrade"]["disabled"] is False
    assert loaded["lead"].endswith(f"knowledge-first format (version {st.latest_version}). A copy of the library "
                                   "is saved first, and you can go back to it."), loaded["lead"]
    # The plan, not the recordings' stored status: what the upgrade would still do.
    assert loaded["counts"]["to_upgrade"] == str(st.upgrade.to_upgrade)
    assert loaded["counts"]["to_skip"] == str(st.upgrade.to_skip)
    assert loaded["counts"]["to_adopt"] == str(st.upgrade.to_adopt)
    assert loaded["counts"]["total"] == str(st.recordings.total) == str(RECORDINGS)


def check_after(run: WindowRun, library: Path, expected, before) -> None:
    seen, done = run.seen, run.seen["done"]
    st = status(str(library))
    assert seen["final_state"] == "done" and done["title"] == "Upgrade complete"
    assert done["message"] == f"The library is now at version {st.version}, and the upgrade was verified."
    assert st.version == st.latest_version == expected.version and not st.can_migrate
    assert done["version"] == f"{st.version} (upgraded)"
    assert done["buttons"]["upgrade"]["disabled"] is True
    assert done["plan"] is None
    assert done["counts"]["to_upgrade"] == "0" and done["counts"]["to_skip"] == "0"
    assert done["counts"]["migrated"] == str(st.recordings.migrated) != str(before.recordings.migrated)
    assert f"{expected.captures_created} knowledge captures made from transcribed recordings" in done["details"]
    assert f"{expected.action_items_created} action items carried over" in done["details"]
    # Every warning of the engine's result, as a note after the counts, in its own words.
    assert done["notes"] == [{"code": w.code, "text": f"Note: {w.message}"} for w in expected.warnings]
    assert done["details"][-len(done["notes"]):] == [n["text"] for n in done["notes"]]
    body = done["body"]
    assert "Traceback" not in body and "Zoë" not in body and str(library.parent) not in body


def test_v11_in_name_only_reads_unfinished_and_upgrades(tmp_path: Path) -> None:
    library, expected = twin(tmp_path, "v11_name_only")
    st = status(str(library))
    assert st.version == st.latest_version and st.can_migrate and st.upgrade.to_upgrade > 0  # the case itself
    run = open_and_upgrade(library, tmp_path)
    loaded = run.seen["loaded"]
    check_before(loaded, st, "upgrade not finished")
    assert loaded["plan"] == (f"The library is marked as version {st.version}, but its upgrade is not finished: "
                              f"{st.upgrade.to_upgrade} recordings to upgrade, {st.upgrade.to_skip} recordings to "
                              "skip (no transcript). The upgrade will finish them.")
    check_after(run, library, expected, st)
    assert expected.version_before == expected.version  # the version did not move; the upgrade finished


def test_app_v10_reads_ready_and_upgrades(tmp_path: Path) -> None:
    library, expected = twin(tmp_path, "app_v10")
    st = status(str(library))
    assert st.version < st.latest_version
    run = open_and_upgrade(library, tmp_path)
    loaded = run.seen["loaded"]
    check_before(loaded, st, "ready to upgrade")
    assert loaded["plan"] == (f"Upgrading to version {st.latest_version}: {st.upgrade.to_upgrade} recordings to "
                              f"upgrade, {st.upgrade.to_skip} recordings to skip (no transcript).")
    check_after(run, library, expected, st)
    assert [w.code for w in expected.warnings] == ["DANGLING_MEETING_REF"]


def test_half_done_shows_adopted_recordings(tmp_path: Path) -> None:
    library, expected = twin(tmp_path, "half_done")
    st = status(str(library))
    assert st.upgrade.to_adopt > 0 and expected.captures_adopted == st.upgrade.to_adopt
    run = open_and_upgrade(library, tmp_path)
    loaded = run.seen["loaded"]
    check_before(loaded, st, "upgrade not finished")
    assert f"{st.upgrade.to_adopt} recordings to adopt (their knowledge captures already exist)" in loaded["plan"]
    check_after(run, library, expected, st)
    assert (f"{expected.captures_adopted} recordings adopted: their knowledge captures already existed"
            in run.seen["done"]["details"])


@pytest.mark.parametrize("layout,prepare,code", [
    ("surrogates", None, "UNDECODABLE_TEXT"),
    ("v11_name_only", drift_outputs, "SCHEMA_DRIFT"),
])
def test_warnings_show_as_notes(tmp_path: Path, layout: str, prepare, code: str) -> None:
    library, expected = twin(tmp_path, layout, prepare)
    assert code in [w.code for w in expected.warnings]
    st = status(str(library))
    run = open_and_upgrade(library, tmp_path)
    check_after(run, library, expected, st)
    (note,) = [n for n in run.seen["done"]["notes"] if n["code"] == code]
    assert note["text"] == "Note: " + next(w.message for w in expected.warnings if w.code == code)


def test_a_library_the_upgrade_cannot_take_gets_a_plain_hint(tmp_path: Path) -> None:
    folder = tmp_path / "Zoë's library"
    folder.mkdir()
    library = folder / "library.db"
    build(library, "app_v10", recordings=RECORDINGS)
    conn = apsw.Connection(str(library))
    try:
        conn.execute("DROP TABLE transcripts")
    finally:
        conn.close()
    st = status(str(library))
    assert [e.code for e in st.errors] == ["LIBRARY_UNSUPPORTED"]
    before = library.read_bytes()
    run = open_and_upgrade(library, tmp_path)
    loaded = run.seen["done"]
    assert loaded["buttons"]["upgrade"]["disabled"] is True
    assert loaded["state"] == "failed" and loaded["message"] == st.errors[0].message
    assert loaded["next"].startswith("This library is missing parts the upgrade needs")
    assert loaded["version"] == str(st.version)  # its version, without a stage
    assert library.read_bytes() == before


# ---- a next version, registered as tests/test_next_step.py does -------------------------

def test_a_next_step_moves_every_word_to_the_next_version(tmp_path: Path) -> None:
    """With a V11 -> V12 step registered in the window's process, an upgraded version-11
    library is 'ready to upgrade' and ends at 12: nothing on the page stops at 11."""
    from tests.test_next_step import CaptureStats

    folder = tmp_path / "library"
    folder.mkdir()
    library = folder / "library.db"
    build(library, "app_v10", recordings=RECORDINGS)
    assert migrate(str(library)).success  # to version 11, before the next step exists
    assert not status(str(library)).can_migrate  # without it: upgraded, Upgrade off
    with REGISTRY.registering(CaptureStats()):
        st = status(str(library))
        assert (st.version, st.latest_version, st.can_migrate) == (11, 12, True)
        run = open_and_upgrade(library, tmp_path, toy_next_step=True)
        after = status(str(library))
    loaded, done = run.seen["loaded"], run.seen["done"]
    assert loaded["version"] == "11 (ready to upgrade)"
    assert loaded["plan"] == "Upgrading to version 12."
    assert "(version 12)" in loaded["lead"]
    assert loaded["buttons"]["upgrade"]["disabled"] is False
    assert run.seen["final_state"] == "done"
    assert done["message"] == "The library is now at version 12, and the upgrade was verified."
    assert done["version"] == "12 (upgraded)" and done["buttons"]["upgrade"]["disabled"] is True
    assert (after.version, after.can_migrate) == (12, False)
