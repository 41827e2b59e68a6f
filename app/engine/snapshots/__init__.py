"""Snapshots: full copies of a library as it was before an operation's transaction.

- `store`: the folder, manifests, ids, validation (`problem`), removal;
- `identity`: the proof that a snapshot was taken of this library;
- `taking`: making a checked copy, beside the operation's transaction;
- `restore`: putting a copy back over the library;
- `retention`: what is kept, and pruning the rest.
Everything callers need is re-exported here.
"""

from app.engine.snapshots.restore import BACKUP_STEP_PAGES, file_signature, restore
from app.engine.snapshots.store import (ID_PATTERN, KINDS, PRE_CLEANUP, PRE_ROLLBACK, PRE_UPGRADE, Manifest,
                                        file_for, latest, list_manifests, problem, remove_leftovers,
                                        require_safe_folder, snapshot_dir, validate)
from app.engine.snapshots.taking import Taking, take, taking

__all__ = [
    "BACKUP_STEP_PAGES", "ID_PATTERN", "KINDS", "PRE_CLEANUP", "PRE_ROLLBACK", "PRE_UPGRADE", "Manifest",
    "Taking", "file_for", "file_signature", "latest", "list_manifests", "problem", "remove_leftovers",
    "require_safe_folder", "restore", "snapshot_dir", "take", "taking", "validate",
]
