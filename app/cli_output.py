"""Human output of the command line: one formatter per operation.

Each formatter turns an engine result into blocks (`app.cli_text`): plain sentences and
aligned tables, then the next step where there is one. A failure reads the same for every
operation: the error first (code and message), where the library was looked for, what the
operation would have done if that is what stopped it (a rollback's would-lose list), then
what to do next; never the counters of work that did not happen. `--json` never comes here:
its output is the result model itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone

from app.cli_next import for_error
from app.cli_output_backups import BACKUP_FORMATTERS
from app.cli_text import (KIND_WORDS, Block, Invocation, count, error_line, facts, local_time, notes,
                          plural, seconds, size, step_line, table, words)
from app.engine import errors
from app.engine.results import (CleanupPreview, CleanupResult, Finding, MigrateResult, OperationResult, Problem,
                                RollbackResult, StatusResult, UpgradePlan)
from app.engine.steps import REGISTRY

Formatter = Callable[[OperationResult, Invocation], list[Block]]


def human(result: OperationResult, inv: Invocation) -> list[Block]:
    """The blocks for `result`, as its operation's formatter writes them."""
    if not result.success:
        return failure(result, inv)
    formatter = FORMATTERS.get(type(result)) or BACKUP_FORMATTERS.get(type(result), _generic)
    return formatter(result, inv)


# ---- failure, the same for every operation -------------------------------------------

def failure(result: OperationResult, inv: Invocation) -> list[Block]:
    """The error first, where the library was looked for, what stopped it, the next step."""
    # A failed result always has an error (`operation.run`); a bug here still reads as one.
    first, *others = result.errors or [Problem(code="INTERNAL_ERROR", message=errors.EngineError.default_message)]
    blocks: list[Block] = [error_line(first.code, _message(first.code, first.message, inv))]
    if first.code != "LIBRARY_NOT_FOUND":  # its message names the location already
        blocks.append(f"Library: {inv.where()}")
    blocks += [error_line(e.code, e.message) for e in others]
    blocks += _would_lose(result)
    blocks += notes(result)
    steps: list[Block] = [*for_error(first.code, inv)]
    return blocks + ["", *steps] if steps else blocks


def _message(code: str, message: str, inv: Invocation) -> str:
    """The engine's message; for a missing library, one that names where it looked (the
    engine's own says "the given location": it never puts a path in a message)."""
    if code == "LIBRARY_NOT_FOUND":
        return f"No library at {inv.where()}. Nothing was created or changed."
    return message


def _would_lose(result: OperationResult) -> list[Block]:
    lost = getattr(result, "would_lose", None)
    if not lost:
        return []
    rows = [(words(name), count(n)) for name, n in sorted(lost.items())]
    return ["", "What restoring would discard (rows changed since the upgrade):", facts(rows, indent=2)]


def _generic(result: OperationResult, inv: Invocation) -> list[Block]:
    """An operation with no formatter of its own (none today): it worked, and its notes."""
    return [f"Done ({words(result.operation)}, {seconds(result.duration_seconds)}).", *notes(result)]


# ---- status -------------------------------------------------------------------------

def status(r: StatusResult, inv: Invocation) -> list[Block]:
    stage = _stage(r)
    about = [("Library", inv.library), ("Version", f"{r.version} ({stage})"),
             ("Journal mode", (r.journal_mode or "").upper()), ("Size", size(r.library_bytes)),
             ("Snapshots", f"{len(r.snapshots)}, taking {size(r.snapshots_bytes)}" if r.snapshots else "none yet")]
    if r.version is not None and r.version > (r.oldest_version or 0):
        about.append(("Can undo the upgrade", "yes" if r.can_rollback else "no (no usable snapshot)"))
    blocks: list[Block] = [facts(about), "", "Recordings", facts(_recording_rows(r), indent=2)]
    plan = _plan_sentence(r)
    if plan:
        blocks += ["", plan]
    return blocks + notes(r) + _status_next(r, inv)


def _below_latest(r: StatusResult) -> bool:
    """Stored version below the latest: the upgrade has steps to run (not just work left)."""
    return r.version is not None and r.latest_version is not None and r.version < r.latest_version


def _stage(r: StatusResult) -> str:
    """Where the library stands, in the window's words."""
    if _below_latest(r):
        return f"ready to upgrade to version {r.latest_version}"
    return "upgrade not finished" if r.can_migrate else "upgraded"


def _recording_rows(r: StatusResult) -> list[tuple[str, str]]:
    c = r.recordings
    rows = [("Not upgraded yet", c.pending), ("Upgraded", c.migrated), ("Skipped (no transcript)", c.skipped)]
    if c.error:
        rows.append(("Marked as failed", c.error))
    return [(label, count(n)) for label, n in rows + [("Total", c.total)]]


def plan_words(plan: UpgradePlan) -> str:
    parts = []
    if plan.to_upgrade:
        parts.append(f"{plural(plan.to_upgrade, 'recording')} to upgrade")
    if plan.to_adopt:
        parts.append(f"{plural(plan.to_adopt, 'recording')} to adopt (their knowledge captures already exist)")
    if plan.to_skip:
        parts.append(f"{plural(plan.to_skip, 'recording')} to skip (no transcript)")
    return ", ".join(parts)


def _plan_sentence(r: StatusResult) -> str:
    if not r.can_migrate:
        return ""
    work = plan_words(r.upgrade)
    if _below_latest(r):
        return f"Upgrading to version {r.latest_version}" + (f": {work}." if work else ".")
    missing = len(r.upgrade.schema_missing)
    left = work or (plural(missing, "part") + " of the new format missing" if missing else "some work left")
    return f"The library is marked as version {r.version}, but its upgrade is not finished: {left}."


def _status_next(r: StatusResult, inv: Invocation) -> list[Block]:
    if r.can_migrate:
        lead = "Upgrade it with" if _below_latest(r) else "Finish the upgrade with"
        return ["", step_line(lead, inv.command("migrate"))]
    if r.can_rollback:
        return ["", step_line("Everything is upgraded. To undo the upgrade", inv.command("rollback"))]
    return []


# ---- migrate -------------------------------------------------------------------------

def migrate(r: MigrateResult, inv: Invocation) -> list[Block]:
    already = [w for w in r.warnings if w.code == "ALREADY_UPGRADED"]
    if already:
        return [f"Nothing to do. {already[0].message}", *notes(r, "ALREADY_UPGRADED")]
    blocks: list[Block] = [
        f"Upgrade complete: the library is now at version {r.version}, and the upgrade was verified "
        f"(took {seconds(r.duration_seconds)}).", "", facts(_migrate_rows(r), indent=2)]
    blocks += notes(r)
    blocks += [""] + ([f"The library as it was before is kept as snapshot {r.snapshot_id}."] if r.snapshot_id else [])
    return blocks + [step_line("Undo with", inv.command("rollback"))]


def _migrate_rows(r: MigrateResult) -> list[tuple[str, str]]:
    rows = [("Knowledge captures made from transcribed recordings", r.captures_created),
            ("Action items carried over", r.action_items_created),
            ("Audio sources recorded", r.audio_sources_created),
            ("Recordings without a transcript, marked as skipped", r.recordings_skipped)]
    optional = [("Recordings adopted (their knowledge captures already existed)", r.captures_adopted),
                ("Recordings whose meeting no longer exists", r.dangling_meeting_refs),
                ("Recordings whose text is not UTF-8 (kept byte for byte)", r.undecodable_recordings)]
    return [(label, count(n)) for label, n in rows + [row for row in optional if row[1]]]


# ---- rollback ------------------------------------------------------------------------

def rollback(r: RollbackResult, inv: Invocation) -> list[Block]:
    restored = r.restored_snapshot_id or ""
    if "--to" in inv.words:
        kind, taken = snapshot_kind(restored)
        headline = f"Library restored from snapshot {restored} ({kind}, taken {taken}): it is at version {r.version}"
    else:
        headline = f"Library restored: it is back at version {r.version}, exactly as it was before the upgrade"
    blocks: list[Block] = [f"{headline} (took {seconds(r.duration_seconds)}).", *notes(r)]
    if r.safety_snapshot_id:
        blocks += ["", f"The library as it was just before this restore is kept as snapshot {r.safety_snapshot_id}.",
                   step_line("To bring it back", inv.command("rollback", "--to", r.safety_snapshot_id))]
    if r.version is not None and r.version < REGISTRY.latest:
        blocks += [step_line("To upgrade again", inv.command("migrate"))]
    return blocks


def snapshot_kind(snapshot_id: str) -> tuple[str, str]:
    """What a snapshot id says: its kind in words and when it was taken, in local time
    (ids end in the UTC time, e.g. pre-upgrade-20261203T202450123456Z)."""
    kind, _, stamp = snapshot_id.rpartition("-")
    try:
        taken = datetime.strptime(stamp, "%Y%m%dT%H%M%S%fZ").replace(tzinfo=timezone.utc).isoformat()
    except ValueError:  # not an id the app made: said as it is
        return KIND_WORDS.get(kind, kind), "at an unknown time"
    return KIND_WORDS.get(kind, kind), local_time(taken)


# ---- cleanup -------------------------------------------------------------------------

# (result field, what it is in words, how one sample reads: a file name where it has one)
FINDINGS: list[tuple[str, str, Callable[[dict], str]]] = [
    ("duplicate_recordings", "Duplicate recordings", lambda s: f"{s.get('filename')} ({s.get('count')} copies)"),
    ("orphaned_transcripts", "Transcripts without a recording", lambda s: str(s.get("id"))),
    ("invalid_meeting_refs", "Links to missing meetings", lambda s: f"{s.get('id')} (to {s.get('meeting_id')})"),
]
SAMPLES_SHOWN = 3


def cleanup_preview(r: CleanupPreview, inv: Invocation) -> list[Block]:
    found = [(label, getattr(r, field), sample) for field, label, sample in FINDINGS if getattr(r, field).count]
    if not found:
        return ["No problems found: there is nothing to clean up. Nothing was changed.", *notes(r),
                *_upgrade_next(r, inv)]
    total = sum(f.count for _, f, _ in found)
    rows = [(label, count(f.count), _examples(f, sample)) for label, f, sample in found]
    blocks: list[Block] = [f"Found {plural(total, 'problem')} worth fixing before the upgrade (nothing was changed):",
                           "", table(("Problem", "Count", "For example"), rows, right=(1,))]
    if r.duplicate_recordings.count:
        blocks += ["", "Of recordings with the same file name, the oldest is kept (with a transcript, if any of "
                       "them has one)."]
    return blocks + [*notes(r), "", step_line("Fix them with", inv.command("cleanup")),
                     "A snapshot of the library is saved first, so the clean-up can be undone."]


def _examples(finding: Finding, sample: Callable[[dict], str]) -> str:
    """A few samples, each once (several duplicates of one name read as one)."""
    shown = list(dict.fromkeys(sample(s) for s in finding.sample))[:SAMPLES_SHOWN]
    return ", ".join(shown) + (", …" if finding.count > len(shown) else "")


def cleanup(r: CleanupResult, inv: Invocation) -> list[Block]:
    if any(w.code == "NOTHING_TO_CLEAN" for w in r.warnings):
        return ["Nothing to clean up: the library had nothing to fix. Nothing was changed.",
                *notes(r, "NOTHING_TO_CLEAN"), *_upgrade_next(r, inv)]
    rows = [("Duplicate recordings removed", r.duplicate_recordings_removed),
            ("Transcripts moved to the recording kept", r.transcripts_moved),
            ("Transcripts without a recording removed", r.orphaned_transcripts_removed),
            ("Search entries of removed transcripts removed", r.embeddings_removed),
            ("Links to missing meetings cleared", r.invalid_meeting_refs_fixed)]
    blocks: list[Block] = [f"Clean-up complete: the problems found were fixed (took {seconds(r.duration_seconds)}).",
                           "", facts([(label, count(n)) for label, n in rows if n], indent=2), *notes(r)]
    if r.snapshot_id:
        blocks += ["", f"The library as it was before is kept as snapshot {r.snapshot_id}.",
                   step_line("Undo with", inv.command("rollback", "--to", r.snapshot_id))]
    return blocks + _upgrade_next(r, inv)


def _upgrade_next(r: OperationResult, inv: Invocation) -> list[Block]:
    """After a clean-up or its preview of a library not upgraded yet: the upgrade is next."""
    if r.version is not None and r.version < REGISTRY.latest:
        return [step_line("Next, upgrade it", inv.command("migrate"))]
    return []


FORMATTERS: dict[type, Formatter] = {
    StatusResult: status, MigrateResult: migrate, RollbackResult: rollback,  # type: ignore[dict-item]
    CleanupPreview: cleanup_preview, CleanupResult: cleanup,  # type: ignore[dict-item]
}
