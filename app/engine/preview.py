"""preview: what the upgrade would make of the library, counted without writing to it.

The window shows these counts before the user clicks Upgrade, so they must be the
upgrade's own numbers, not an estimate: the same data pass (`steps.v11.rows`) runs over
the library, in one read transaction, into the temp stage the upgrade itself uses (temp
storage belongs to this connection, not to the library file), and the stage is dropped
with the transaction. What the pass cannot tell by itself (recordings to adopt or to skip)
comes from the step's own `plan`, read in the same transaction, so every count describes
one state of the library.

It reads only: the library file keeps its bytes (tests/test_preview.py checks them). On a
100,000-recording library the pass takes seconds; it reports progress in its own phase
(`counting`) and stops at the next batch when cancelled, so a writer never waits for it
(`app.desktop.api` cancels a running preview before it starts an operation that writes).
"""

from __future__ import annotations

import apsw
from pydantic import Field

from app.engine import errors, library
from app.engine.operation import Context, run
from app.engine.progress import ProgressRegistry
from app.engine.results import OperationResult
from app.engine.steps import REGISTRY, Plan, Registry, Step
from app.engine.steps.v11 import KnowledgeCaptures, rows

OPERATION = "upgrade-preview"
PHASE = "counting"


class UpgradePreview(OperationResult):
    """The counts `migrate` would report, under `migrate`'s own names, so that a reader
    (and the test that compares them) needs no mapping. `needed` is false when the library
    has nothing left to upgrade; `uncounted` names later steps whose work this preview
    does not count (their descriptions, in words)."""

    operation: str = OPERATION
    needed: bool = False
    captures_created: int = 0
    captures_adopted: int = 0
    recordings_skipped: int = 0
    action_items_created: int = 0
    dangling_meeting_refs: int = 0
    undecodable_recordings: int = 0
    schema_missing: list[str] = Field(default_factory=list)
    uncounted: list[str] = Field(default_factory=list)


def preview_upgrade(library_path: str, registry: ProgressRegistry | None = None,
                    steps: Registry | None = None) -> UpgradePreview:
    """Count what `migrate` would do to the library now. Changes nothing."""
    return run(UpgradePreview(), library_path, lambda ctx, res: _preview(ctx, res, steps or REGISTRY),
               writes=False, registry=registry)


def _preview(ctx: Context, result: UpgradePreview, steps: Registry) -> None:
    with library.reading(ctx.library) as conn:
        conn.execute("BEGIN")  # one read transaction: the plan and the pass see one state
        try:
            result.version = library.read_version(conn)
            pending = steps.pending(conn, result.version)
            result.needed = bool(pending)
            for step, plan in pending:
                _count_step(conn, ctx, result, step, plan)
        except apsw.Error as exc:
            raise library.translate(exc, OPERATION) from exc
        finally:
            conn.execute("ROLLBACK")  # the temp stage goes with it


def _count_step(conn: apsw.Connection, ctx: Context, result: UpgradePreview, step: Step,
                plan: Plan | None) -> None:
    """The V11 step's counts; any other step is named as not counted."""
    if not isinstance(step, KnowledgeCaptures) or plan is None:
        result.uncounted.append(step.description)
        return
    result.captures_adopted = plan.counts.get("to_adopt", 0)
    result.recordings_skipped = plan.counts.get("to_skip", 0)
    result.schema_missing = list(plan.schema_missing)
    total = plan.counts.get("to_upgrade", 0)
    ctx.tracker.update(PHASE, 0, total)

    def on_batch(processed: int) -> None:
        if ctx.tracker.cancelled:
            raise errors.Cancelled("Counting was stopped. Nothing was changed.")
        ctx.tracker.update(PHASE, processed, total)

    counts = rows.stage(conn, on_batch=on_batch)
    result.captures_created = counts.captures
    result.action_items_created = counts.action_items
    result.dangling_meeting_refs = counts.dangling_meetings
    result.undecodable_recordings = counts.undecodable
