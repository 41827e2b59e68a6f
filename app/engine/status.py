"""status: what the library is and what can be done with it. Reads only."""

from __future__ import annotations

import os

from app.engine import library, snapshots
from app.engine.operation import Context, run
from app.engine.progress import ProgressRegistry
from app.engine.results import RecordingCounts, SnapshotInfo, StatusResult


def status(library_path: str, registry: ProgressRegistry | None = None) -> StatusResult:
    return run(StatusResult(), library_path, _status, writes=False, registry=registry)


def _status(ctx: Context, result: StatusResult) -> None:
    result.library_name = os.path.basename(ctx.library)
    with library.reading(ctx.library) as conn:
        version = library.read_version(conn)
        result.version = version
        library.require_supported(version)
        result.journal_mode = library.journal_mode(conn)
        result.recordings = RecordingCounts(**library.recording_counts(conn, version))
    result.snapshots = [
        SnapshotInfo(id=m.id, kind=m.kind, created_at=m.created_at, version=m.version,
                     size_bytes=m.size_bytes)
        for m in snapshots.list_manifests(ctx.library)]
    result.can_migrate = version == library.SOURCE_VERSION
    result.can_rollback = version == library.TARGET_VERSION and any(
        s.kind == snapshots.PRE_UPGRADE for s in result.snapshots)
