"""Result contracts: what every operation returns to the CLI, the window and the tests.

Plain pydantic models, JSON-serialisable as they are. Every result has `success`, coded
`errors` and `warnings`; messages are scrubbed by `app.engine.redact` before they get here.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from app import __version__


class Problem(BaseModel):
    """One coded error or warning, safe to show a user."""

    model_config = ConfigDict(frozen=True)

    code: str
    message: str
    count: int | None = None


class OperationResult(BaseModel):
    operation: str
    success: bool = False
    errors: list[Problem] = Field(default_factory=list)
    warnings: list[Problem] = Field(default_factory=list)
    duration_seconds: float = 0.0
    # The version read from a fresh connection once the operation has finished, so the
    # reported state is the true state even after a failure.
    version: int | None = None


class RecordingCounts(BaseModel):
    pending: int = 0
    migrated: int = 0
    skipped: int = 0
    error: int = 0
    total: int = 0


class SnapshotInfo(BaseModel):
    id: str
    kind: str
    # What it is for, in words for users.
    purpose: str = ""
    created_at: str
    version: int
    size_bytes: int
    # Whether it can be restored into this library: its file is the copy that was checked,
    # and it holds this library's identity. `problem` says why not, in words.
    valid: bool = False
    problem: str | None = None
    # What a plain rollback restores.
    way_back: bool = False


class UpgradePlan(BaseModel):
    """What `migrate` would still do: recordings that would get a capture, be marked
    migrated to a capture that already names them, or be marked skipped; schema objects
    it would add."""

    to_upgrade: int = 0
    to_adopt: int = 0
    to_skip: int = 0
    schema_missing: list[str] = Field(default_factory=list)


class StatusResult(OperationResult):
    operation: str = "status"
    app_version: str = __version__
    library_name: str | None = None
    journal_mode: str | None = None
    # The versions this tool upgrades from and to (from the registry of steps).
    oldest_version: int | None = None
    latest_version: int | None = None
    recordings: RecordingCounts = Field(default_factory=RecordingCounts)
    # True while the upgrade is not finished: recordings to upgrade, adopt or skip, or an
    # incomplete schema, whatever the stored version says.
    can_migrate: bool = False
    upgrade: UpgradePlan = Field(default_factory=UpgradePlan)
    can_rollback: bool = False
    snapshots: list[SnapshotInfo] = Field(default_factory=list)
    snapshots_bytes: int = 0
    library_bytes: int = 0


class StepOutcome(BaseModel):
    """One upgrade step this run applied, with its own counts."""

    id: str
    source: int
    target: int
    counts: dict[str, int] = Field(default_factory=dict)


class MigrateResult(OperationResult):
    operation: str = "migrate"
    version_before: int | None = None
    # Totals over the steps (each step's counts of the same name).
    captures_created: int = 0
    captures_adopted: int = 0
    action_items_created: int = 0
    audio_sources_created: int = 0
    recordings_skipped: int = 0
    dangling_meeting_refs: int = 0
    undecodable_recordings: int = 0
    verified: bool = False
    snapshot_id: str | None = None
    steps: list[StepOutcome] = Field(default_factory=list)


class RollbackResult(OperationResult):
    operation: str = "rollback"
    version_before: int | None = None
    restored_snapshot_id: str | None = None
    safety_snapshot_id: str | None = None
    # Rows that differ from what the upgrade created, per table: what a restore would lose.
    would_lose: dict[str, int] = Field(default_factory=dict)


class Finding(BaseModel):
    count: int = 0
    sample: list[dict[str, str | int | None]] = Field(default_factory=list)


class CleanupPreview(OperationResult):
    operation: str = "cleanup-preview"
    orphaned_transcripts: Finding = Field(default_factory=Finding)
    duplicate_recordings: Finding = Field(default_factory=Finding)
    invalid_meeting_refs: Finding = Field(default_factory=Finding)


class CleanupStep(BaseModel):
    name: str
    count: int = 0
    error: Problem | None = None


class CleanupResult(OperationResult):
    operation: str = "cleanup"
    orphaned_transcripts_removed: int = 0
    duplicate_recordings_removed: int = 0
    transcripts_moved: int = 0
    embeddings_removed: int = 0
    invalid_meeting_refs_fixed: int = 0
    steps: list[CleanupStep] = Field(default_factory=list)
    snapshot_id: str | None = None


class SnapshotsResult(OperationResult):
    """Every snapshot beside the library, oldest first, and the disk they take."""

    operation: str = "snapshots"
    snapshots: list[SnapshotInfo] = Field(default_factory=list)
    total_bytes: int = 0
    library_bytes: int = 0


class SnapshotDeleteResult(OperationResult):
    operation: str = "snapshot-delete"
    deleted_id: str | None = None
    freed_bytes: int = 0


class SnapshotPruneResult(OperationResult):
    operation: str = "snapshot-prune"
    removed: list[str] = Field(default_factory=list)
    freed_bytes: int = 0


class AuditEntry(BaseModel):
    """One operation as the upgrade log recorded it (`app.engine.audit`), without the
    library's file name: codes, counts and versions only, never a message or a path."""

    time: str
    operation: str
    success: bool = False
    version_before: int | None = None
    version_after: int | None = None
    counts: dict[str, int] = Field(default_factory=dict)
    duration_seconds: float = 0.0
    errors: list[str] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


class ReportSnapshot(BaseModel):
    """A snapshot as a support report shows it: what it is, not where it is."""

    kind: str
    created_at: str
    version: int
    size_bytes: int
    valid: bool = False
    way_back: bool = False


class SupportReport(OperationResult):
    """What support needs to know about a library and its recent operations, scrubbed of
    anything that could identify the user: no path, no file or user name, no recording
    contents, no SQL (`app.engine.report`)."""

    operation: str = "report"
    app_version: str = __version__
    python_version: str = ""
    system: str = ""
    oldest_version: int | None = None
    latest_version: int | None = None
    journal_mode: str | None = None
    recordings: RecordingCounts = Field(default_factory=RecordingCounts)
    library_bytes: int = 0
    snapshot_count: int = 0
    snapshots_bytes: int = 0
    snapshots: list[ReportSnapshot] = Field(default_factory=list)
    # The last operations the upgrade log holds for a library of this file name, oldest first.
    recent_operations: list[AuditEntry] = Field(default_factory=list)
