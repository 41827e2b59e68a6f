"""status: what the library is and what can be done with it. Reads only."""

from __future__ import annotations

import os

from app.engine import backups, library
from app.engine.operation import Context, run
from app.engine.progress import ProgressRegistry
from app.engine.results import RecordingCounts, StatusResult, UpgradePlan
from app.engine.snapshots import retention
from app.engine.steps import REGISTRY, Registry


def status(library_path: str, registry: ProgressRegistry | None = None,
           steps: Registry | None = None) -> StatusResult:
    return run(StatusResult(), library_path, lambda ctx, res: _status(ctx, res, steps or REGISTRY),
               writes=False, registry=registry)


def _status(ctx: Context, result: StatusResult, steps: Registry) -> None:
    result.library_name = os.path.basename(ctx.library)
    result.oldest_version, result.latest_version = steps.oldest, steps.latest
    with library.reading(ctx.library) as conn:
        version = library.read_version(conn)
        result.version = version
        steps.require_supported(version)
        result.journal_mode = library.journal_mode(conn)
        result.recordings = RecordingCounts(**library.recording_counts(conn))
        pending = steps.pending(conn, version)
    plan = pending[0][1] if pending else None
    if plan is not None:
        result.upgrade = UpgradePlan(schema_missing=plan.schema_missing,
                                     **{k: v for k, v in plan.counts.items() if k in UpgradePlan.model_fields})
    review = retention.review(ctx.library, upgraded=version > steps.oldest, exact=False)
    result.snapshots = backups.infos(review)
    result.snapshots_bytes = sum(s.size_bytes for s in result.snapshots)
    result.library_bytes = review.library_bytes
    result.can_migrate = bool(pending)
    # Only a way back that validates is offered.
    result.can_rollback = review.way_back is not None
