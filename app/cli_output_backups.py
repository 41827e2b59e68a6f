"""Human output of the snapshots verbs (list, delete, prune) and of the support report.

Only successes come here (`app.cli_output.failure` writes every failure). The report is
printed as a user would paste it into a message to support: it holds nothing the engine
did not put in it, and the engine's report holds no path or name (`app.engine.report`).
"""

from __future__ import annotations

from collections.abc import Callable

from app.cli_text import (KIND_WORDS, Block, Invocation, count, facts, local_time, notes, plural, seconds,
                          size, step_line, table, words, yes_no)
from app.engine.results import (AuditEntry, OperationResult, SnapshotDeleteResult, SnapshotPruneResult,
                                SnapshotsResult, SupportReport)

# ---- snapshots -----------------------------------------------------------------------


def snapshot_list(r: SnapshotsResult, inv: Invocation) -> list[Block]:
    if not r.snapshots:
        return ["There are no snapshots beside this library yet. One is saved before every upgrade, "
                "clean-up and restore."]
    rows = [(s.id, local_time(s.created_at), str(s.version), size(s.size_bytes), yes_no(s.valid))
            for s in r.snapshots]
    blocks: list[Block] = [table(("ID", "Taken", "Version", "Size", "Can restore"), rows, right=(2, 3)), ""]
    blocks += [f"{s.id}: {s.purpose}" + (f" {s.problem}" if s.problem else "") for s in r.snapshots]
    blocks += ["", f"Together they take {size(r.total_bytes)} (the library itself: {size(r.library_bytes)}).",
               *notes(r)]
    if any(s.valid for s in r.snapshots):
        blocks.append(step_line("Restore one with", inv.command("rollback", "--to", "ID")))
    return blocks


def snapshot_delete(r: SnapshotDeleteResult, inv: Invocation) -> list[Block]:
    return [f"Deleted snapshot {r.deleted_id}, which freed {size(r.freed_bytes)}. The library itself was "
            "not changed.", *notes(r)]


def snapshot_prune(r: SnapshotPruneResult, inv: Invocation) -> list[Block]:
    if not r.removed:
        return ["Nothing to remove: every snapshot beside the library is one that is kept.", *notes(r)]
    return [f"Removed {plural(len(r.removed), 'snapshot')} no longer kept, which freed {size(r.freed_bytes)}:",
            *[f"  {snapshot_id}" for snapshot_id in r.removed], *notes(r)]


# ---- the support report --------------------------------------------------------------

def report(r: SupportReport, inv: Invocation) -> list[Block]:
    """Everything in the report, in sections; the same facts as its --json form."""
    c = r.recordings
    about = [("App version", r.app_version), ("Python", f"{r.python_version} on {r.system}"),
             ("Library version", f"{r.version} (this tool upgrades {r.oldest_version} to {r.latest_version})"),
             ("Journal mode", (r.journal_mode or "").upper()), ("Library size", size(r.library_bytes)),
             ("Recordings", f"{count(c.total)}: {count(c.pending)} not upgraded yet, {count(c.migrated)} upgraded, "
                            f"{count(c.skipped)} skipped, {count(c.error)} marked as failed"),
             ("Snapshots", f"{r.snapshot_count}, taking {size(r.snapshots_bytes)}")]
    blocks: list[Block] = ["Support report (it holds no paths, names or recording contents)", "", facts(about)]
    if r.snapshots:
        rows = [(KIND_WORDS.get(s.kind, s.kind) + (" (the way back)" if s.way_back else ""),
                 local_time(s.created_at), str(s.version), size(s.size_bytes), yes_no(s.valid)) for s in r.snapshots]
        blocks += ["", table(("Snapshot", "Taken", "Version", "Size", "Can restore"), rows, right=(2, 3))]
    # No command with the library's path here: the report is pasted as it is.
    return blocks + ["", *_recent(r.recent_operations), *notes(r), "",
                     "To save it to a file for support, run the same command with --json > report.json added."]


def _recent(entries: list[AuditEntry]) -> list[Block]:
    if not entries:
        return ["The log holds no operations on this library yet."]
    rows = [(local_time(e.time), words(e.operation), "ok" if e.success else "failed", _versions(e),
             seconds(e.duration_seconds), _outcome(e)) for e in entries]
    return [f"The last {plural(len(entries), 'operation')} on this library, oldest first:",
            table(("When", "Operation", "Result", "Version", "Took", "Codes and counts"), rows, right=(4,))]


def _versions(entry: AuditEntry) -> str:
    before, after = entry.version_before, entry.version_after
    if before is None:
        return "" if after is None else str(after)
    return f"{before} to {'unknown' if after is None else after}"


def _outcome(entry: AuditEntry) -> str:
    """Error and warning codes first (what support looks for), then the counts of work done
    (not the sizes and version numbers that status lines also log)."""
    counts = [f"{words(name)} {count(n)}" for name, n in entry.counts.items()
              if n and not name.endswith(("_bytes", "_version"))]
    return ", ".join([*entry.errors, *entry.warnings, *counts])


BACKUP_FORMATTERS: dict[type, Callable[[OperationResult, Invocation], list[Block]]] = {
    SnapshotsResult: snapshot_list, SnapshotDeleteResult: snapshot_delete,  # type: ignore[dict-item]
    SnapshotPruneResult: snapshot_prune, SupportReport: report,  # type: ignore[dict-item]
}
