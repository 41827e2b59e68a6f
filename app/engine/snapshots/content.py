"""The content hash of a library file: what two copies of one library state share.

The file's bytes with the header's write counters zeroed (two copies of one content
differ only there: `_COUNTERS`), hashed in two halves at once, one core each (SHA-256
is sequential: one stream is one core's speed, and the hash after an upgrade is on the
user's wait); the hash is the SHA-256 of the two halves' SHA-256s. Snapshots record it
(`Manifest.content_sha256`) to find an identical copy, and a rollback compares the
library's with the one recorded after its upgrade (`fingerprint`).

Values recorded by versions that hashed in one stream never equal these: a comparison
with one then says "different", which costs the full check, never a wrong answer.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from app.engine import errors

CHUNK = 1 << 20
# Bytes of SQLite's file header that say how it was written, not what it holds (the
# format versions that WAL mode sets, the file change counter, the schema cookie, which
# the backup API bumps in every copy it writes, and the version-valid-for number).
_COUNTERS = ((18, 20), (24, 28), (40, 44), (92, 96))
_TAG = b"library content, two halves\n"

Read = Callable[[int, int], bytes]  # (offset, amount) -> the bytes there


def content_hash(read: Read, size: int, cancelled: Callable[[], bool] = lambda: False) -> str:
    """The content hash of a file of `size` bytes read by `read`, which must be safe to
    call from two threads (`serialised` makes any reader so); the two halves at once."""
    half = _half(size)
    spans = ((0, half), (half, size))

    def one(span: tuple[int, int]) -> bytes:
        return hash_span(read, *span, cancelled, masked=True)

    with ThreadPoolExecutor(2, thread_name_prefix="content-hash") as pool:
        return _combined(list(pool.map(one, spans)))


def exact_and_content(read: Read, size: int, cancelled: Callable[[], bool] = lambda: False) -> tuple[bytes, str]:
    """The file's SHA-256 and its content hash, in this thread, each chunk read once: for
    a check that runs beside other work (two passes would read the file twice)."""
    exact, halves = hashlib.sha256(), (hashlib.sha256(), hashlib.sha256())
    half = _half(size)
    offset = 0
    while offset < size:
        # Never across the middle, even after a short read: each half hashes its own bytes.
        chunk = read(offset, min(CHUNK, (half if offset < half else size) - offset))
        if not chunk:
            raise OSError(f"the file ended {size - offset} bytes early")
        exact.update(chunk)
        halves[offset >= half].update(_zero_counters(chunk) if offset == 0 else chunk)
        offset += len(chunk)
        if cancelled():
            raise errors.Cancelled()
    return exact.digest(), _combined([h.digest() for h in halves])


def _half(size: int) -> int:
    return size // 2 // CHUNK * CHUNK


def _combined(halves: list[bytes]) -> str:
    return hashlib.sha256(_TAG + b"".join(halves)).hexdigest()


def hash_span(read: Read, start: int, end: int, cancelled: Callable[[], bool] = lambda: False,
              masked: bool = False) -> bytes:
    """SHA-256 of the bytes from `start` to `end` (`masked`: the header's counters zeroed);
    a cancel stops it within one chunk."""
    sha = hashlib.sha256()
    offset = start
    while offset < end:
        chunk = read(offset, min(CHUNK, end - offset))
        if not chunk:
            raise OSError(f"the file ended {end - offset} bytes early")
        if masked and offset == 0:
            chunk = _zero_counters(chunk)
        sha.update(chunk)  # leaves the GIL: the two halves hash at once
        offset += len(chunk)
        if cancelled():
            raise errors.Cancelled()
    return sha.digest()


def serialised(read: Read) -> Read:
    """`read` called by one thread at a time (a VFS file handle is not shared safely)."""
    lock = threading.Lock()

    def locked(offset: int, amount: int) -> bytes:
        with lock:
            return read(offset, amount)
    return locked


def _zero_counters(chunk: bytes) -> bytes:
    masked = bytearray(chunk)
    for start, end in _COUNTERS:
        masked[start:end] = bytes(end - start)
    return bytes(masked)
