"""The engine's error hierarchy.

Every expected failure is an `EngineError` subclass with a stable `code` (what scripts,
the window and tests match on), a plain-words `message` written here from a template
(never from a third-party exception's text, which may hold paths or SQL), and an
`exit_code` for the CLI. The original exception, if any, is chained with `from` and
goes to the log only.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_IN_PROGRESS = 75  # EX_TEMPFAIL: try again later


class EngineError(Exception):
    code = "INTERNAL_ERROR"
    exit_code = EXIT_FAILED
    default_message = "Something unexpected went wrong. The library was not changed; details are in the log."

    def __init__(self, message: str | None = None, **details: object) -> None:
        self.message = message or self.default_message
        self.details = details
        super().__init__(self.message)


class DatabaseError(EngineError):
    code = "DATABASE_ERROR"
    default_message = (
        "The library's database reported an error, so the operation was undone and nothing "
        "was changed. Details are in the log."
    )


class InvalidArgument(EngineError):
    code = "INVALID_ARGUMENT"
    exit_code = EXIT_BAD_INPUT
    default_message = "An argument was not valid."


class InProgress(EngineError):
    code = "IN_PROGRESS"
    exit_code = EXIT_IN_PROGRESS
    default_message = (
        "Another operation is already working on this library (in this window or another copy "
        "of the app). Nothing was changed; try again when it has finished."
    )


class LibraryNotFound(EngineError):
    code = "LIBRARY_NOT_FOUND"
    exit_code = EXIT_BAD_INPUT
    default_message = "No library was found at the given location. Nothing was created or changed."


class NotALibrary(EngineError):
    code = "NOT_A_LIBRARY"
    exit_code = EXIT_BAD_INPUT
    default_message = "The file is not a meeting-recorder library. Nothing was changed."


class LibraryTooOld(EngineError):
    code = "LIBRARY_TOO_OLD"
    exit_code = EXIT_BAD_INPUT

    def __init__(self, version: int, oldest: int) -> None:
        super().__init__(
            f"The library is at version {version}; this upgrade starts from version {oldest}. "
            "Open it once in the meeting-recorder app, which brings it to the version this "
            "upgrade starts from, then try again. Nothing was changed.",
            version=version, oldest=oldest,
        )


class LibraryTooNew(EngineError):
    code = "LIBRARY_TOO_NEW"
    exit_code = EXIT_BAD_INPUT

    def __init__(self, version: int, latest: int) -> None:
        super().__init__(
            f"The library is at version {version}, newer than this tool upgrades to ({latest}). "
            "It needs no upgrade from this tool; use it with the app that made it. "
            "Nothing was changed.",
            version=version, latest=latest,
        )


class LibraryUnsupported(EngineError):
    """The library lacks a table or column the upgrade cannot work without."""

    code = "LIBRARY_UNSUPPORTED"
    exit_code = EXIT_BAD_INPUT

    def __init__(self, missing: list[str]) -> None:
        super().__init__(
            "The library lacks what the upgrade needs, so it was not touched: "
            + "; ".join(missing) + ". Nothing was changed.",
            missing=missing,
        )


class LibraryCorrupt(EngineError):
    code = "LIBRARY_CORRUPT"
    exit_code = EXIT_BAD_INPUT
    default_message = (
        "The library file is damaged, so it was not touched. Restore it from a backup or a "
        "snapshot before upgrading."
    )


class ReadOnly(EngineError):
    code = "READ_ONLY"
    exit_code = EXIT_FAILED
    default_message = (
        "The library (or its folder) cannot be written to. Check its permissions. "
        "Nothing was changed."
    )


class SnapshotsUnsafe(EngineError):
    """The snapshots folder is a link, not a folder, or someone else's: the app writes and
    deletes only in a folder that is its own."""

    code = "SNAPSHOTS_UNSAFE"
    exit_code = EXIT_FAILED
    default_message = (
        "The snapshots folder beside the library is not a plain folder of yours (it is a link, "
        "a file, or another user's), so nothing was written or deleted there and the library "
        "was not changed. Move it out of the way and try again."
    )


class DiskFull(EngineError):
    code = "DISK_FULL"
    exit_code = EXIT_FAILED
    default_message = "There is not enough free disk space for this operation. Nothing was changed."

    @classmethod
    def needing(cls, needed: int, free: int) -> "DiskFull":
        mb = 1024 * 1024
        return cls(
            f"This needs about {needed // mb + 1} MB of free disk space beside the library and "
            f"only {free // mb} MB is free. Free some space and try again. Nothing was changed.",
            needed=needed,
            free=free,
        )


class IOFault(EngineError):
    code = "IO_ERROR"
    exit_code = EXIT_FAILED
    default_message = (
        "The disk reported an error while working on the library. The operation was undone; "
        "check the disk and try again."
    )


class Cancelled(EngineError):
    code = "CANCELLED"
    exit_code = EXIT_FAILED
    default_message = "The operation was cancelled. The library is exactly as it was before."


class VerificationFailed(EngineError):
    code = "VERIFICATION_FAILED"
    exit_code = EXIT_FAILED
    default_message = (
        "The upgraded data did not pass verification, so nothing was saved: the library is "
        "exactly as it was before."
    )


class NothingToRollBack(EngineError):
    code = "NOTHING_TO_ROLL_BACK"
    exit_code = EXIT_FAILED
    default_message = "The library has not been upgraded, so there is nothing to go back from."


class NoSnapshot(EngineError):
    code = "NO_SNAPSHOT"
    exit_code = EXIT_FAILED
    default_message = (
        "No snapshot from before the upgrade was found, so the library cannot be restored. "
        "Nothing was changed."
    )


class SnapshotInvalid(EngineError):
    code = "SNAPSHOT_INVALID"
    exit_code = EXIT_FAILED
    default_message = (
        "The snapshot from before the upgrade is damaged or incomplete, so it was not used. "
        "Nothing was changed."
    )


class WouldLoseData(EngineError):
    code = "WOULD_LOSE_DATA"
    exit_code = EXIT_FAILED


class RestoreFailed(EngineError):
    code = "RESTORE_FAILED"
    exit_code = EXIT_FAILED
    default_message = (
        "The restored library did not match its snapshot, so the state from just before the "
        "restore was put back."
    )


class SnapshotForeign(EngineError):
    """The snapshot holds another library (its recorded identity is not this library's):
    restoring it would replace this library with someone else's, so force does not apply."""

    code = "SNAPSHOT_FOREIGN"
    exit_code = EXIT_FAILED
    default_message = (
        "That snapshot belongs to another library (or was made by an earlier version of this "
        "app), so it cannot be restored into this one, not even with force. Nothing was changed."
    )


class SnapshotNeeded(EngineError):
    """Deleting the way back without force: the upgrade could no longer be undone."""

    code = "SNAPSHOT_NEEDED"
    exit_code = EXIT_FAILED
    default_message = (
        "That snapshot is the library's way back to before its upgrade: without it the upgrade "
        "can no longer be undone. Nothing was deleted. To delete it anyway, confirm again (on the "
        "command line: add --force)."
    )
