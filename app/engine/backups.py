"""The user's snapshots: list them, delete one, prune what is no longer kept.

Each is one engine operation (`operation.run`: coded errors, the audit line), over
`snapshots.retention`, which decides what validates, what the way back is and what is
kept. Deleting and pruning hold the in-process lock and SQLite's write lock (no other
operation, in this process or another, is taking or restoring a snapshot meanwhile).
"""

from __future__ import annotations

import apsw

from app.engine import errors, library
from app.engine.operation import Context, run
from app.engine.progress import ProgressRegistry
from app.engine.results import SnapshotDeleteResult, SnapshotInfo, SnapshotPruneResult, SnapshotsResult
from app.engine.snapshots import retention, store
from app.engine.steps import REGISTRY
from app.engine.transaction import WriteTransaction


def infos(review: retention.Review) -> list[SnapshotInfo]:
    return [SnapshotInfo(id=e.manifest.id, kind=e.manifest.kind, purpose=retention.purpose(e),
                         created_at=e.manifest.created_at, version=e.manifest.version,
                         size_bytes=e.manifest.size_bytes, valid=e.problem is None, problem=e.problem,
                         way_back=e.way_back)
            for e in review.entries]


def _upgraded(conn: apsw.Connection) -> bool:
    version = library.read_version(conn)
    REGISTRY.require_supported(version)
    return version > REGISTRY.oldest


def list_snapshots(library_path: str, registry: ProgressRegistry | None = None) -> SnapshotsResult:
    """Every snapshot, what it is for and whether it can be restored. Reads only."""
    return run(SnapshotsResult(), library_path, _list, writes=False, registry=registry)


def _list(ctx: Context, result: SnapshotsResult) -> None:
    with library.reading(ctx.library) as conn:
        result.version = library.read_version(conn)
        upgraded = _upgraded(conn)
    review = retention.review(ctx.library, upgraded, exact=False)
    result.snapshots = infos(review)
    result.total_bytes = sum(s.size_bytes for s in result.snapshots)
    result.library_bytes = review.library_bytes


def delete_snapshot(library_path: str, snapshot_id: object, force: object = False,
                    registry: ProgressRegistry | None = None) -> SnapshotDeleteResult:
    """Delete one snapshot; the way back only with `force` (the upgrade can then no
    longer be undone)."""
    return run(SnapshotDeleteResult(), library_path,
               lambda ctx, res: _delete(ctx, res, snapshot_id, force), writes=True, registry=registry)


def _delete(ctx: Context, result: SnapshotDeleteResult, snapshot_id: object, force: object) -> None:
    if not isinstance(snapshot_id, str) or not store.ID_PATTERN.fullmatch(snapshot_id):
        raise errors.InvalidArgument("That is not a snapshot id (they look like pre-upgrade-20260101T120000000000Z).")
    if not isinstance(force, bool):
        raise errors.InvalidArgument("force must be true or false.")
    store.require_safe_folder(ctx.library)
    conn = library.connect(ctx.library)
    try:
        with WriteTransaction(conn, ctx.tracker):  # no other operation meanwhile, in any process
            upgraded = _upgraded(conn)
            entry = next((e for e in retention.review(ctx.library, upgraded).entries
                          if e.manifest.id == snapshot_id), None)
            if entry is None:
                raise errors.NoSnapshot("There is no snapshot with that id beside the library. Nothing was deleted.")
            if entry.way_back and not force:
                raise errors.SnapshotNeeded()
            if not store.remove(ctx.library, entry.manifest):
                raise errors.IOFault("The snapshot could not be deleted. Check the snapshots folder's "
                                     "permissions. Nothing else was changed.")
            result.deleted_id = snapshot_id
            result.freed_bytes = entry.manifest.size_bytes
            if entry.way_back:
                result.warnings.append(ctx.problem(
                    "WAY_BACK_DELETED", "The way back to before the upgrade was deleted: the upgrade can "
                    "no longer be undone."))
    finally:
        conn.close()


def prune_snapshots(library_path: str, registry: ProgressRegistry | None = None) -> SnapshotPruneResult:
    """Remove every snapshot that is not kept (see `snapshots.retention`), and those that
    cannot be restored into this library (damaged, unreadable, another library's)."""
    return run(SnapshotPruneResult(), library_path, _prune, writes=True, registry=registry)


def _prune(ctx: Context, result: SnapshotPruneResult) -> None:
    store.require_safe_folder(ctx.library)
    conn = library.connect(ctx.library)
    try:
        with WriteTransaction(conn, ctx.tracker):
            pruned = retention.prune(ctx.library, _upgraded(conn), unusable=True)
    finally:
        conn.close()
    result.removed, result.freed_bytes = pruned.removed, pruned.freed_bytes


__all__ = ["list_snapshots", "delete_snapshot", "prune_snapshots", "infos"]
