"""The CLI as scripts use it: real processes, exit codes, exactly one JSON object."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.engine import snapshots
from app.engine.status import status
from tests.conftest import build_v10, fill


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **(env or {})})


def one_json(proc: subprocess.CompletedProcess) -> dict:
    return json.loads(proc.stdout)  # fails unless stdout is exactly one JSON document


@pytest.fixture
def lib(tmp_path: Path):
    library = build_v10(tmp_path / "My Library ✓.db")
    fill(library, 40)
    library.insert("transcripts", id="orphan", recording_id="gone", full_text="x")
    return library


def test_version() -> None:
    from app import __version__
    proc = cli("--version")
    assert proc.returncode == 0 and __version__ in proc.stdout


def test_status_json_shape(lib) -> None:
    proc = cli("status", "--library", str(lib), "--json")
    assert proc.returncode == 0
    data = one_json(proc)
    assert data["version"] == 10 and data["success"] is True
    assert set(data["recordings"]) == {"pending", "migrated", "skipped", "error", "total"}
    assert data["recordings"]["total"] == 40 == data["recordings"]["pending"]


def test_cleanup_dry_run_json_shape_and_changes_nothing(lib) -> None:
    before = lib.dump()
    proc = cli("cleanup", "--dry-run", "--library", str(lib), "--json")
    assert proc.returncode == 0
    data = one_json(proc)
    for key in ("orphaned_transcripts", "duplicate_recordings", "invalid_meeting_refs"):
        assert set(data[key]) == {"count", "sample"}
    assert data["orphaned_transcripts"]["count"] == 1
    assert lib.dump() == before


def test_full_flow_through_the_cli_checked_through_the_library(lib) -> None:
    assert cli("cleanup", "--library", str(lib), "--json").returncode == 0
    up = cli("migrate", "--library", str(lib), "--json")
    assert up.returncode == 0, up.stdout
    data = one_json(up)
    st = status(str(lib))
    assert st.version == 11 and data["captures_created"] == st.recordings.migrated > 0
    again = cli("migrate", "--library", str(lib), "--json")
    assert again.returncode == 0 and one_json(again)["captures_created"] == 0
    back = cli("rollback", "--library", str(lib), "--json")
    assert back.returncode == 0 and status(str(lib)).version == 10


def test_a_reader_that_went_away_gets_no_traceback(lib) -> None:
    """`python -m app migrate ... | head -1`: the upgrade stands, the exit code says so."""
    proc = subprocess.Popen([sys.executable, "-m", "app", "migrate", "--library", str(lib), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    proc.stdout.close()  # gone before the child writes anything
    _, err = proc.communicate(timeout=120)
    assert (proc.returncode, err) == (0, "")
    assert status(str(lib)).version == 11


def test_human_output_has_summary_and_no_progress_bar_off_a_terminal(lib) -> None:
    """The bar is for a person watching a terminal (tests/test_cli_human.py draws it on a
    pseudo-terminal); captured stderr gets nothing."""
    proc = cli("migrate", "--library", str(lib))
    assert proc.returncode == 0
    assert proc.stdout.startswith("Upgrade complete") and "Undo with:" in proc.stdout
    assert proc.stderr == ""
    with pytest.raises(json.JSONDecodeError):
        json.loads(proc.stdout)


@pytest.mark.parametrize("args,code", [
    (("status", "--library", "{missing}"), 2),
    (("migrate", "--library", "{missing}"), 2),
    (("rollback", "--library", "{missing}"), 2),
    (("cleanup", "--library", "{missing}"), 2),
    (("migrate", "--library", "{notdb}"), 2),
    (("rollback", "--library", "{v10}"), 1),
    (("frobnicate",), 2),
    (("migrate", "--bogus"), 2),
])
def test_exit_codes(tmp_path: Path, args, code) -> None:
    notdb = tmp_path / "notes.txt"
    notdb.write_text("not a database")
    v10 = build_v10(tmp_path / "v10.db")
    names = {"missing": str(tmp_path / "missing.db"), "notdb": str(notdb), "v10": str(v10)}
    proc = cli(*[a.format(**names) for a in args])
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert not (tmp_path / "missing.db").exists()
    if "--library" in args and code != 2 or "{missing}" in args:
        data = one_json(cli(*[a.format(**names) for a in args], "--json"))
        assert data["success"] is False and data["errors"][0]["code"]


def test_in_progress_exit_code_is_75(lib) -> None:
    holder = subprocess.Popen([sys.executable, "-c",
                               "import sys, apsw; c = apsw.Connection(sys.argv[1]); c.execute('BEGIN IMMEDIATE');"
                               "print('locked', flush=True); sys.stdin.readline()", str(lib)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        proc = cli("migrate", "--library", str(lib), "--json")
    finally:
        holder.kill()
        holder.wait()
    assert proc.returncode == 75
    assert one_json(proc)["errors"][0]["code"] == "IN_PROGRESS"


def test_default_library_location_is_used_and_never_created(tmp_path: Path) -> None:
    env = {"XDG_DATA_HOME": str(tmp_path / "data")}
    proc = cli("status", "--json", env=env)
    assert proc.returncode == 2 and one_json(proc)["errors"][0]["code"] == "LIBRARY_NOT_FOUND"
    assert not (tmp_path / "data").exists()
    default = tmp_path / "data" / "MeetingRecorder" / "library.db"
    default.parent.mkdir(parents=True)
    build_v10(default)
    proc = cli("status", "--json", env=env)
    assert proc.returncode == 0 and one_json(proc)["version"] == 10


def test_json_output_never_holds_the_path_or_a_traceback(tmp_path: Path) -> None:
    folder = tmp_path / "Users" / "zoë smith" / "Meeting Recorder"
    folder.mkdir(parents=True)
    bad = folder / "library 2024.db"
    bad.write_bytes(b"garbage" * 100)
    for verb in ("status", "migrate", "rollback", "cleanup"):
        proc = cli(verb, "--library", str(bad), "--json")
        for needle in (str(folder), "zoë", "Traceback", str(tmp_path), "Users"):
            assert needle not in proc.stdout and needle not in proc.stderr, (verb, needle)
        data = one_json(proc)
        data.pop("library_name", None)  # the status card names the file; nothing else may
        assert "library 2024" not in json.dumps(data, ensure_ascii=False)


def test_every_operation_appends_one_structured_line_to_the_upgrade_log(tmp_path: Path) -> None:
    state = tmp_path / "state"
    folder = tmp_path / "Zoë's folder"
    folder.mkdir()
    library = build_v10(folder / "library.db")
    fill(library, 20)
    env = {"XDG_STATE_HOME": str(state)}
    assert cli("migrate", "--library", str(library), "--json", env=env).returncode == 0
    assert cli("rollback", "--library", str(folder / "missing.db"), env=env).returncode == 2
    log_file = state / "MeetingRecorder" / "log" / "upgrade.log"
    raw = [line.split(" app.audit ", 1)[1] for line in log_file.read_text().splitlines() if " app.audit " in line]
    lines = [json.loads(text) for text in raw]
    assert [line["operation"] for line in lines] == ["migrate", "rollback"]
    up, back = lines
    assert up["library"] == "library.db" and up["success"] is True
    assert (up["version_before"], up["version_after"]) == (10, 11)
    assert up["counts"]["captures_created"] > 0 and up["errors"] == [] and up["duration_seconds"] > 0
    assert back["success"] is False and back["errors"] == ["LIBRARY_NOT_FOUND"]
    assert not any("Zoë" in text or str(tmp_path) in text for text in raw)  # the file name only


def test_snapshots_verbs_list_delete_prune_and_rollback_to(lib) -> None:
    """The backups in the user's hands: list, restore a chosen one, refuse to delete the way
    back without --force, prune; each checked in the folder and the library."""
    path = str(lib)
    assert cli("migrate", "--library", path, "--json").returncode == 0
    listed = one_json(cli("snapshots", "--library", path, "--json"))
    assert listed["success"] and [s["kind"] for s in listed["snapshots"]] == ["pre-upgrade"]
    way_back = listed["snapshots"][0]
    assert way_back["way_back"] and way_back["valid"] and listed["total_bytes"] == way_back["size_bytes"] > 0
    human = cli("snapshots", "--library", path)
    assert human.returncode == 0 and way_back["id"] in human.stdout and "Together they take" in human.stdout

    refused = cli("snapshots", "delete", way_back["id"], "--library", path, "--json")
    assert refused.returncode == 1 and one_json(refused)["errors"][0]["code"] == "SNAPSHOT_NEEDED"
    assert snapshots.file_for(path, way_back["id"]).is_file()

    # Back, then forward again to the chosen pre-rollback copy, then back once more.
    assert cli("rollback", "--library", path, "--json").returncode == 0
    safety = [s for s in one_json(cli("snapshots", "--library", path, "--json"))["snapshots"]
              if s["kind"] == "pre-rollback"]
    assert len(safety) == 1 and safety[0]["version"] == 11
    redo = one_json(cli("rollback", "--to", safety[0]["id"], "--library", path, "--json"))
    assert redo["success"] and redo["version"] == 11 and redo["would_lose"] == {}
    assert status(path).version == 11 and status(path).can_rollback
    again = one_json(cli("rollback", "--library", path, "--json"))
    assert again["success"] and again["restored_snapshot_id"] == way_back["id"]

    deleted = one_json(cli("snapshots", "delete", safety[0]["id"], "--library", path, "--json"))
    assert deleted["success"] and deleted["deleted_id"] == safety[0]["id"] and deleted["freed_bytes"] > 0
    assert not snapshots.file_for(path, safety[0]["id"]).exists()

    pruned = one_json(cli("snapshots", "prune", "--library", path, "--json"))
    assert pruned["success"]
    left = {p.name for p in snapshots.snapshot_dir(path).iterdir()}
    assert left == {f"{s['id']}.{ext}" for s in one_json(cli("snapshots", "--library", path, "--json"))["snapshots"]
                    for ext in ("json", "sqlite")}


@pytest.mark.parametrize("args, code", [
    (("snapshots", "delete"), 2),                                      # no id
    (("snapshots", "list", "pre-upgrade-20260101T120000000000Z"), 2),  # an id where none is taken
    (("snapshots", "frobnicate"), 2),
    (("snapshots", "delete", "../library.db"), 2),                     # not an id the app makes
    (("snapshots", "delete", "pre-upgrade-20260101T120000000000Z"), 1),  # no such snapshot
    (("rollback", "--to", "pre-upgrade-Z"), 2),
    (("rollback", "--to", "pre-cleanup-20260101T120000000000Z", "--force"), 1),
])
def test_snapshots_verbs_refuse_bad_arguments_and_change_nothing(lib, args, code) -> None:
    path = str(lib)
    assert cli("migrate", "--library", path, "--json").returncode == 0
    folder = snapshots.snapshot_dir(path)
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    before = lib.dump()
    proc = cli(*args, "--library", path, "--json")
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr and str(lib.path.parent) not in proc.stdout
    if code != 2 or args[0] == "rollback" or "../" in args[-1]:
        assert one_json(proc)["success"] is False
    assert lib.dump() == before and {p.name: p.read_bytes() for p in folder.iterdir()} == files
