"""The content hash (`snapshots.content`): equal for two copies of one library state,
different when any byte of what the library holds differs, in either half."""

from __future__ import annotations

import hashlib
import importlib
import shutil
from pathlib import Path

import pytest

from app.engine.snapshots import store
from tests.conftest import fill

content = importlib.import_module("app.engine.snapshots.content")


def _file_hash(path: Path) -> str:
    data = path.read_bytes()
    return content.content_hash(lambda offset, amount: data[offset:offset + amount], len(data))


def _by_the_definition(data: bytes) -> str:
    """Written out here on purpose, not imported: the halves, the counters zeroed."""
    masked = bytearray(data)
    for start, end in ((18, 20), (24, 28), (40, 44), (92, 96)):
        masked[start:end] = bytes(end - start)
    half = len(data) // 2 // (1 << 20) * (1 << 20)
    parts = hashlib.sha256(masked[:half]).digest() + hashlib.sha256(masked[half:]).digest()
    return hashlib.sha256(b"library content, two halves\n" + parts).hexdigest()


@pytest.fixture
def library_file(make_library) -> Path:
    lib = make_library(journal_mode="delete")
    fill(lib, 6000)  # several MB: both halves hold pages
    assert lib.path.stat().st_size > 3 << 20
    return lib.path


def test_the_hash_is_the_definition(library_file: Path) -> None:
    assert _file_hash(library_file) == _by_the_definition(library_file.read_bytes())
    assert store.digests(library_file, fresh=True) == (hashlib.sha256(library_file.read_bytes()).hexdigest(),
                                                        _by_the_definition(library_file.read_bytes()))


@pytest.mark.parametrize("offset", [24, 40, 92, 18])
def test_write_counters_do_not_count(library_file: Path, tmp_path: Path, offset: int) -> None:
    copy = tmp_path / "copy.db"
    shutil.copyfile(library_file, copy)
    with open(copy, "r+b") as f:
        f.seek(offset)
        f.write(b"\x07")
    assert _file_hash(copy) == _file_hash(library_file)
    assert store.digests(copy, fresh=True)[0] != store.digests(library_file, fresh=True)[0]  # the exact one sees it


@pytest.mark.parametrize("where", ["header", "first half", "second half", "last byte"])
def test_any_other_byte_counts(library_file: Path, tmp_path: Path, where: str) -> None:
    size = library_file.stat().st_size
    offset = {"header": 60, "first half": 4096 + 17, "second half": size // 2 + (1 << 20) + 5,
              "last byte": size - 1}[where]
    copy = tmp_path / "copy.db"
    shutil.copyfile(library_file, copy)
    data = bytearray(copy.read_bytes())
    data[offset] ^= 0x01
    copy.write_bytes(bytes(data))
    assert _file_hash(copy) != _file_hash(library_file)


def test_one_thread_gives_the_same_hashes(library_file: Path) -> None:
    assert store.digests(library_file, fresh=True, parallel=False) == store.digests(library_file, fresh=True)


def test_one_pass_with_short_reads_keeps_the_halves_apart(library_file: Path) -> None:
    """The one-pass hash (a background check's) reads chunks of any length the OS gives,
    never across the middle: a chunk that ran over would hash bytes into the wrong half."""
    data = library_file.read_bytes()
    odd = 1000 * 1000 + 7  # never a divisor of the middle (a multiple of 1 MiB)
    exact, of_content = content.exact_and_content(lambda offset, amount: data[offset:offset + min(amount, odd)],
                                                  len(data))
    assert (exact.hex(), of_content) == (hashlib.sha256(data).hexdigest(), _by_the_definition(data))
