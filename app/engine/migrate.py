"""migrate: run the upgrade steps a library still needs, all or nothing.

The flow: pre-flight (what the file is, whether it can be written, free space) -> the
write lock -> re-read the version and ask the registry which steps the library still
needs (`steps.Registry.pending`: a library whose stored version is the latest may still be
unfinished) -> one transaction for every step (schema completion, data, verification),
the version rows and a snapshot of the library as it was (in its own thread, beside the
steps' work; in rollback-journal mode done reading before a step's first write that may
reach the file; its quick_check doubles as the library's) -> COMMIT only when every step
verified and the snapshot is on disk. Any error or a cancel rolls the transaction back
and removes the snapshot (it holds the library as it still is: no way back). After the
commit, with the write lock taken again: the library's content hash, recorded with the
snapshot, lets a rollback tell at once that nothing changed since, and snapshots no
longer kept are pruned (`snapshots.retention`). This module knows no version number and no table of any
step.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

import apsw

from app.engine import library, snapshots
from app.engine.snapshots import fingerprint, identity, retention
from app.engine.operation import Context, run
from app.engine.progress import ProgressRegistry
from app.engine.results import MigrateResult, StepOutcome
from app.engine.steps import REGISTRY, Plan, Registry, Step, StepRun
from app.engine.transaction import WriteTransaction, relocked

log = logging.getLogger(__name__)


def migrate(library_path: str, registry: ProgressRegistry | None = None,
            steps: Registry | None = None) -> MigrateResult:
    """Bring the library at `library_path` to the latest version. Never raises for expected
    failures."""
    return run(MigrateResult(), library_path, lambda ctx, res: _migrate(ctx, res, steps or REGISTRY),
               writes=True, registry=registry)


def _migrate(ctx: Context, result: MigrateResult, steps: Registry) -> None:
    conn = library.connect(ctx.library)
    deferred: list[Any] = []
    try:
        # Integrity is checked on the snapshot below: one quick_check pass instead of two.
        info = library.inspect(conn, ctx.library, check_integrity=False)
        result.version_before = info.version
        steps.require_supported(info.version)
        # The version decides only under the lock: another process may be upgrading or
        # rolling back right now, and then the answer is IN_PROGRESS, not a guess.
        with WriteTransaction(conn, ctx.tracker) as txn:
            version = result.version_before = library.read_version(conn)
            pending = steps.pending(conn, version, planned=False)
            if not pending:
                _already_done(ctx, result, version)
                return
            retention.make_room(ctx.library, info.size_bytes + info.size_bytes // 2, snapshots.PRE_UPGRADE,
                                upgraded=version > steps.oldest)
            library_id = identity.read(conn) or identity.new_id()
            with snapshots.taking(ctx.library, snapshots.PRE_UPGRADE, ctx.tracker,
                                  info.journal_mode, library_id, overlap=True) as snapshot:
                identity.ensure(conn, library_id)
                _run_steps(conn, txn, ctx, result, snapshot, pending, version, info.journal_mode, deferred)
                result.snapshot_id = snapshot.wait().id
            ctx.tracker.update("committing")
            txn.commit()
        result.version = max(version, pending[-1][0].target)
        with relocked(conn) as held:
            if held:
                fingerprint.record(conn, ctx.library, result.snapshot_id)
                retention.prune_quietly(ctx.library, result.version > steps.oldest, (result.snapshot_id,))
    finally:
        try:
            for resource in deferred:
                resource.detach(conn)  # the transaction is over: DETACH is allowed
            conn.close()
        finally:
            for resource in deferred:
                resource.close()  # after the connection: it may have had their files attached


def _already_done(ctx: Context, result: MigrateResult, version: int) -> None:
    result.version = version
    result.verified = True
    result.warnings.append(ctx.problem(
        "ALREADY_UPGRADED", f"The library is already at version {version} and its upgrade is "
        "complete. Nothing was changed."))


def _run_steps(conn: apsw.Connection, txn: WriteTransaction, ctx: Context, result: MigrateResult,
               snapshot: snapshots.Taking, pending: list[tuple[Step, Plan | None]], version: int,
               journal_mode: str, deferred: list[Any]) -> None:
    """Every pending step in order, inside the caller's transaction, while `snapshot` is
    taken; the version row of each step that raises the version."""
    def check() -> None:
        txn.check_cancel()
        snapshot.raise_if_failed()

    def defer(resource: Any) -> Any:
        deferred.append(resource)
        return resource

    # Milliseconds: verification finds this run's marks by their time, and two runs never
    # share one (a second could: a re-run right after a quick upgrade).
    migrated_at = datetime.now(timezone.utc).isoformat(sep=" ", timespec="milliseconds")[:23]
    for index, (step, _) in enumerate(pending):
        report = step.apply(StepRun(conn, ctx.library, ctx.tracker, journal_mode, index == 0, migrated_at,
                                    check, snapshot.begin, snapshot.wait_copied, ctx.problem, defer))
        if step.target > version:
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (step.target,))
            version = step.target
        result.steps.append(StepOutcome(id=step.id, source=step.source, target=step.target,
                                        counts=report.counts))
        result.warnings.extend(report.warnings)
        for name, count in report.counts.items():
            if name in MigrateResult.model_fields:
                setattr(result, name, getattr(result, name) + count)
    result.verified = True
