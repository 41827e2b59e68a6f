"""What an upgrade left: the library's content hash right after its commit, so that a
rollback can tell "nothing has changed since" at the cost of the hash it computes anyway.

A rollback takes a safety copy of the library and hashes it (`content`, the
header's write counters zeroed). When that hash equals the one recorded here after the
upgrade, the library holds exactly what the upgrade left, byte for byte, and the whole
"what would a restore discard" comparison (which replays the upgrade) has nothing to find.
Any other hash, or none recorded, means the full comparison runs, exactly as before.

The hash is read through SQLite's own VFS (`apsw.VFSFile`), never with a plain `open()`:
closing a plain descriptor of the library would silently drop the POSIX locks SQLite
holds on it in this process. The write lock pins the state while it is read, and in WAL
mode the hash is taken only when the -wal is empty (the file then is the content).
"""

from __future__ import annotations

import logging
import os

import apsw

from app.engine import library
from app.engine.snapshots import store
from app.engine.snapshots.content import content_hash, serialised
from app.engine.snapshots.store import Manifest

log = logging.getLogger(__name__)

# The manifest entry (in the pre-upgrade snapshot's `extra`) that holds the hash.
AFTER = "after_content_sha256"


def content(conn: apsw.Connection) -> str | None:
    """The content hash of the library as committed, or None when the file alone is not
    the content (WAL mode with frames still in the -wal: a reader kept the commit's
    checkpoint from emptying it). `conn` holds the write lock (`transaction.relocked`):
    no commit, and so no checkpoint, changes the file while it is read."""
    real = conn.filename  # the file SQLite opened (a link resolved): the VFS opens no link
    if library.journal_mode(conn) == "wal" and _wal_bytes(real) > 0:
        return None
    return _hash_file(real, library.size_bytes(conn))


def record(conn: apsw.Connection, library_path: str, snapshot_id: str) -> None:
    """Remember in the snapshot's manifest what the library holds now (right after the
    operation that took the snapshot committed), holding the write lock again. Best
    effort: without it a rollback compares everything."""
    manifest = next((m for m in store.list_manifests(library_path) if m.id == snapshot_id), None)
    if manifest is None:
        return
    try:
        found = content(conn)
    except (apsw.Error, OSError):  # a busy or failing disk after the commit: no shortcut later
        log.warning("could not hash the library after its upgrade", exc_info=True)
        return
    extra = {k: v for k, v in manifest.extra.items() if k != AFTER}
    if found is not None:
        extra[AFTER] = found
    try:
        store.write_manifest(library_path, manifest.model_copy(update={"extra": extra}))
    except OSError:  # the manifest as it was stays valid; only the shortcut is lost
        log.warning("could not record the library's hash after its upgrade", exc_info=True)


def expected(target: Manifest, base: Manifest) -> str | None:
    """The content a library has when a restore of `target` would discard nothing: for a
    copy taken before a restore, what that restore put back (`base`); for a pre-upgrade
    snapshot, what its upgrade left. None when unknown."""
    if base is not target:
        return base.content_sha256
    return target.extra.get(AFTER)


def _wal_bytes(library_path: str) -> int:
    try:
        return os.stat(library_path + "-wal").st_size  # stat opens nothing: no lock is lost
    except FileNotFoundError:
        return 0


def _hash_file(library_path: str, size: int) -> str | None:
    """The content hash of the file's first `size` bytes (its pages), read through the
    default VFS, which keeps this process's locks when the handle closes."""
    flags = apsw.SQLITE_OPEN_MAIN_DB | apsw.SQLITE_OPEN_READONLY
    handle = apsw.VFSFile("", library_path, [flags, 0])
    try:
        if handle.xFileSize() < size:
            return None
        return content_hash(serialised(lambda offset, amount: handle.xRead(amount, offset)), size)
    finally:
        handle.xClose()
