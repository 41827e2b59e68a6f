"""The snapshots folder: where snapshots live, what counts as one, and how one is checked.

A snapshot is two files in `<library>.snapshots/` beside the library's real file: the copy
`<id>.sqlite` and its manifest `<id>.json` (version, size, row counts, SHA-256, time, the
library's identity). Only ids the app makes count; a copy without a manifest is a leftover
of a run that died. The folder is the app's own or it is not used at all
(`require_safe_folder`), and the app deletes only names it made, by their exact pattern.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
import stat
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import apsw
from pydantic import BaseModel, Field

from app import __version__
from app.engine import errors, locations, private
from app.engine.progress import Progress
from app.engine.snapshots import identity
from app.engine.snapshots.content import content_hash, exact_and_content, hash_span

log = logging.getLogger(__name__)

PRE_UPGRADE = "pre-upgrade"
PRE_ROLLBACK = "pre-rollback"
PRE_CLEANUP = "pre-cleanup"
KINDS = (PRE_UPGRADE, PRE_ROLLBACK, PRE_CLEANUP)
# The ids this app makes (`taking`): a manifest with any other is not one of its snapshots.
ID_PATTERN = re.compile(r"(pre-upgrade|pre-rollback|pre-cleanup)-\d{8}T\d{12}Z")
_TEMP_SUFFIXES = (".tmp", ".tmp-journal", ".tmp-wal", ".tmp-shm")


class Manifest(BaseModel):
    id: str
    kind: str
    created_at: str
    app_version: str = __version__
    version: int
    journal_mode: str
    size_bytes: int
    row_counts: dict[str, int]
    sha256: str
    # The identity the copy holds (`identity`); None in manifests of earlier versions.
    library_id: str | None = None
    # SHA-256 of the content: the file with the header's write counters zeroed, equal for
    # two copies of one library state (`taking` keeps one of them).
    content_sha256: str | None = None
    # When an operation last took this snapshot as its own copy again (`taking`), in the
    # ids' time format: the safety copies kept are the ones used last.
    used_at: str | None = None
    # The other kinds it was reused as (a safety copy identical to it): it counts as one of
    # those too when retention picks the newest of a kind.
    used_as: list[str] = Field(default_factory=list)
    extra: dict[str, str] = Field(default_factory=dict)


def snapshot_dir(library: str) -> Path:
    """Beside the library's real file: a link to the library and the library itself
    share one snapshots folder, and the folder's path is absolute."""
    lib = Path(os.path.realpath(library))
    return lib.parent / f"{lib.name}.snapshots"


def file_for(library: str, snapshot_id: str) -> Path:
    return snapshot_dir(library) / f"{snapshot_id}.sqlite"


def manifest_path(library: str, snapshot_id: str) -> Path:
    return snapshot_dir(library) / f"{snapshot_id}.json"


def require_safe_folder(library: str) -> None:
    """SNAPSHOTS_UNSAFE unless the snapshots folder is missing or a real folder (not a
    link) of this user's: the app writes and deletes only there."""
    try:
        st = os.lstat(snapshot_dir(library))
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
        raise errors.SnapshotsUnsafe()


def folder_error(exc: OSError) -> errors.EngineError:
    """A snapshots folder that cannot be written, said as what it is."""
    log.warning("the snapshots folder cannot be written: %r", exc)
    if exc.errno == errno.ENOSPC:
        return errors.DiskFull()
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return errors.ReadOnly("The snapshots folder beside the library cannot be written to, so no "
                               "safety copy could be made. Check its permissions. Nothing was changed.")
    return errors.IOFault()


def fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_manifest(library: str, manifest: Manifest) -> None:
    """Atomically, as private as the library, synced with its folder."""
    path = manifest_path(library, manifest.id)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, private.file_mode(library))
    with open(fd, "w", encoding="utf-8") as f:
        f.write(manifest.model_dump_json(indent=1))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_path(path.parent)


def remove_leftovers(library: str) -> None:
    """Delete what runs that died left behind: temp files, and copies without a manifest.
    Called only while holding the library lock, only in a folder that is the app's own,
    and only names the app makes (`_leftover`)."""
    require_safe_folder(library)
    folder = snapshot_dir(library)
    if not folder.is_dir():
        return
    for path in folder.iterdir():
        if _leftover(library, path.name):
            log.info("removing leftover snapshot file %s", path.name)
            path.unlink(missing_ok=True)


# The upgrade helper's scratch file (steps.v11.split_pass) and its journal files.
_SCRATCH = re.compile(r"split-pass-\d+-\d+\.tmp(-journal|-wal|-shm)?")


def _leftover(library: str, name: str) -> bool:
    if _SCRATCH.fullmatch(name):
        return True
    core = next((name.removesuffix(s) for s in _TEMP_SUFFIXES if name.endswith(s)), name)
    stem, dot, ext = core.rpartition(".")
    if not dot or ext not in ("sqlite", "json") or not ID_PATTERN.fullmatch(stem):
        return False
    if core != name:  # a temp file of a copy or a manifest
        return True
    return ext == "sqlite" and not manifest_path(library, stem).exists()


def list_manifests(library: str) -> list[Manifest]:
    """Every snapshot with a readable manifest, oldest first. Does not hash the files."""
    folder = snapshot_dir(library)
    found = []
    if folder.is_dir():
        for path in sorted(folder.glob("*.json")):
            try:
                manifest = Manifest.model_validate_json(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):  # unreadable or not ours: not a snapshot
                log.warning("ignoring unreadable snapshot manifest %s", path.name)
                continue
            if (manifest.id == path.stem and ID_PATTERN.fullmatch(manifest.id)
                    and manifest.id.startswith(manifest.kind + "-") and file_for(library, manifest.id).is_file()):
                found.append(manifest)
    # Oldest first by the time the id records (made by `taking`, to the microsecond).
    return sorted(found, key=lambda m: m.id.rsplit("-", 1)[1])


def latest(library: str, kind: str) -> Manifest | None:
    candidates = [m for m in list_manifests(library) if m.kind == kind]
    return candidates[-1] if candidates else None


# SHA-256 of snapshot files already hashed, by what stat says of them. Any write to a
# file, or another file put in its place, changes its ctime (which no user can set) or
# its inode: then it is hashed again. Kept in memory and in `verified.json` in the user's
# cache folder, so that status and the list stay quick across runs; a restore always
# hashes its snapshot afresh (`fresh`), which a cache cannot stand in for.
VERIFIED = "verified.json"
_hashed: dict[tuple, tuple[str, str]] = {}
_hashed_lock = threading.Lock()


def _stat_key(path: Path) -> tuple:
    st = os.stat(path)
    return (str(path), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def sha256(path: Path, tracker: Progress | None = None) -> str:
    """The file's SHA-256; a cancel stops it within one 1 MB chunk."""
    return digests(path, tracker)[0]


def digests(path: Path, tracker: Progress | None = None, fresh: bool = False,
            parallel: bool = True) -> tuple[str, str]:
    """The file's SHA-256, and its content hash (`content`), on two cores at once (unless
    `parallel` is False: then in one pass, in this thread); from the caches unless `fresh`."""
    key = _stat_key(path)
    if not fresh:
        with _hashed_lock:
            known = _hashed.get(key)
        known = known or _persisted(path).get(str(path), {}).get(repr(key[1:]))
        if known is not None:
            return (known[0], known[1])
    cancelled = (lambda: tracker.cancelled) if tracker is not None else (lambda: False)
    with open(path, "rb") as f:  # our own snapshot file, never the locked library
        fd = f.fileno()
        size = os.fstat(fd).st_size
        read = lambda offset, amount: os.pread(fd, amount, offset)  # noqa: E731 - safe from any thread
        if parallel:
            with ThreadPoolExecutor(1, thread_name_prefix="exact-hash") as pool:
                exact = pool.submit(hash_span, read, 0, size, cancelled)
                of_content = content_hash(read, size, cancelled)
                found = (exact.result().hex(), of_content)
        else:
            exact_digest, of_content = exact_and_content(read, size, cancelled)
            found = (exact_digest.hex(), of_content)
    remember_hash(path, found, key)
    return found


def remember_hash(path: Path, sha: tuple[str, str], key: tuple | None = None) -> None:
    key = key or _stat_key(path)
    with _hashed_lock:
        _hashed[key] = sha
    _persist(path, key, sha)


def _persisted(path: Path) -> dict:
    try:
        data = json.loads((locations.cache_dir() / VERIFIED).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # none yet, or unreadable: nothing is known
        return {}
    return data if isinstance(data, dict) else {}


def _persist(path: Path, key: tuple, sha: tuple[str, str]) -> None:
    """Best effort, in the user's own cache folder (readable by the user alone): a status
    run must not fail over it. Only snapshots under their own names; entries of files
    that are gone are dropped."""
    if not ID_PATTERN.fullmatch(path.name.removesuffix(".sqlite")):
        return  # a copy under its temporary name: remembered once it has its own
    folder = locations.cache_dir()
    try:
        private.private_tree(folder)
        data = {name: value for name, value in _persisted(path).items() if os.path.exists(name)}
        data[str(path)] = {repr(key[1:]): list(sha)}
        tmp = folder / f"{VERIFIED}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
        with open(fd, "w", encoding="utf-8") as f:
            json.dump(data, f)
        os.replace(tmp, folder / VERIFIED)
    except OSError:  # a read-only home, a full disk: the hash is computed again next time
        log.debug("could not remember a snapshot's hash", exc_info=True)


def problem(library: str, manifest: Manifest, library_id: str | None,
            tracker: Progress | None = None, fresh: bool = False, hashed: bool = True) -> str | None:
    """Why the snapshot cannot be restored into this library, in words; None when it can:
    its file is exactly what was checked when it was taken, and it holds this library's
    identity. `hashed=False`: all but the hash (which the caller checks later, afresh)."""
    path = file_for(library, manifest.id)
    try:
        if path.stat().st_size != manifest.size_bytes or (
                hashed and digests(path, tracker, fresh)[0] != manifest.sha256):
            return "It is damaged: its file is not the copy that was checked when it was taken."
        held = identity.of_file(path)
    except (OSError, apsw.Error):  # gone or unreadable: not a usable snapshot
        return "It cannot be read."
    if held is None or held != manifest.library_id or held != library_id:
        return FOREIGN
    return None


FOREIGN = "It belongs to another library (or to an earlier version of this app)."


def validate(library: str, manifest: Manifest, library_id: str | None,
             tracker: Progress | None = None, fresh: bool = False, hashed: bool = True) -> None:
    """SNAPSHOT_INVALID when damaged, SNAPSHOT_FOREIGN when another library's. `fresh`:
    hash the file again whatever the caches say (before a restore)."""
    found = problem(library, manifest, library_id, tracker, fresh, hashed)
    if found is None:
        return
    log.warning("snapshot %s cannot be used: %s", manifest.id, found)
    if found == FOREIGN:
        raise errors.SnapshotForeign()
    raise errors.SnapshotInvalid()


def remove(library: str, manifest: Manifest) -> bool:
    """Delete a snapshot: the manifest first, so that whatever stops it halfway leaves a
    copy without a manifest, which is no snapshot and goes with the next clean-up of
    leftovers. Never raises: the operation's own outcome is what matters."""
    try:
        manifest_path(library, manifest.id).unlink(missing_ok=True)
        fsync_path(snapshot_dir(library))
        file_for(library, manifest.id).unlink(missing_ok=True)
        fsync_path(snapshot_dir(library))
    except OSError:  # a whole snapshot, or a copy without manifest, left: both harmless
        log.warning("could not remove snapshot %s", manifest.id, exc_info=True)
        return False
    log.info("snapshot %s removed", manifest.id)
    return True
