"""The audit journal's files on a real file system: each allocated whole and written
through a memory map, whole frames up to the header's end, a new file when one is full,
cut at its end when its writer moves on; a full disk refuses a new file, never an append
half done."""

from __future__ import annotations

import resource
from pathlib import Path

import pytest

from cofre.core.audit.contexts import call_entry
from cofre.core.audit.journal import Stop, decode_frames, encode_calls
from cofre.errors import AuditUnavailableError
from cofre.storage.audit_journal import HEADER, MAGIC, JournalFiles, frames_extent
from tests.unit.service.audit.test_trail import encrypt_call


def _frame(n: int, size: int = 1) -> bytes:
    """A frame of ``size`` calls of request id ``req-<n>``."""
    return encode_calls([call_entry(encrypt_call(n), None)] * size)


def _files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.journal"))


def _frames_of(files: JournalFiles, name: str) -> list[str]:
    """The request ids of the whole frames a reader finds in ``name``."""
    extent = files.extent(name)
    assert extent is not None
    start, end = extent
    batch, used, stop = decode_frames(files.read(name, start, end - start))
    assert (used, stop) == (end - start, Stop.END)
    return [call.request_id for call in batch.calls]


def test_a_file_is_allocated_whole_and_read_up_to_its_end(tmp_path: Path) -> None:
    files = JournalFiles(tmp_path, flush=False, file_bytes=4096)
    assert files.current == "" and _files(tmp_path) == []  # made on the first append
    files.append(_frame(0))
    files.append(_frame(1))
    [path] = _files(tmp_path)
    assert path.name == files.current
    assert path.stat().st_size == 4096
    assert path.stat().st_mode & 0o777 == 0o600
    head = path.read_bytes()[: HEADER.size]
    assert head[:3] == MAGIC
    assert files.extent(path.name) == (HEADER.size, HEADER.size + 2 * len(_frame(0)))
    assert _frames_of(files, path.name) == ["req-0", "req-1"]
    assert files.written == 2 * len(_frame(0))
    files.close()
    assert path.stat().st_size == HEADER.size + 2 * len(_frame(0))  # the rest went back
    assert _frames_of(files, path.name) == ["req-0", "req-1"]
    with pytest.raises(AuditUnavailableError):
        files.append(_frame(2))


def test_a_full_file_makes_way_for_a_new_one_and_a_large_frame_gets_its_own(
    tmp_path: Path,
) -> None:
    files = JournalFiles(tmp_path, flush=True, file_bytes=4096)
    used, fits = HEADER.size, 0
    while used + len(_frame(fits)) <= 4096:
        used += len(_frame(fits))
        fits += 1
    for n in range(fits + 1):
        files.append(_frame(n))
    first = files.current
    assert len(_files(tmp_path)) == 2
    [earlier] = [p.name for p in _files(tmp_path) if p.name != first]
    assert _frames_of(files, earlier) == [f"req-{n}" for n in range(fits)]
    assert (tmp_path / earlier).stat().st_size == used
    assert _frames_of(files, first) == [f"req-{fits}"]
    large = _frame(99, size=20)
    assert len(large) > 4096
    files.append(large)
    second = files.current
    assert (tmp_path / second).stat().st_size == HEADER.size + len(large)
    assert _frames_of(files, second) == ["req-99"] * 20
    files.close()
    assert len(_files(tmp_path)) == 3
    assert (tmp_path / first).stat().st_size == HEADER.size + len(_frame(fits))


def test_a_full_disk_refuses_a_new_file_not_an_append(tmp_path: Path) -> None:
    files = JournalFiles(tmp_path, flush=False, file_bytes=4096)
    files.append(_frame(0))
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, hard))  # no file may grow (EFBIG)
    try:
        files.append(_frame(1))  # into the space the file holds already
        with pytest.raises(AuditUnavailableError):
            files.append(_frame(2, size=20))  # needs a file of its own
        with pytest.raises(AuditUnavailableError):
            files.append(_frame(3))  # the full file is gone: a new one is needed
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    [path] = _files(tmp_path)  # the refused files were not left behind
    assert _frames_of(files, path.name) == ["req-0", "req-1"]
    files.append(_frame(4))
    assert _frames_of(files, files.current) == ["req-4"]
    files.close()


def test_the_extent_of_files_of_every_kind() -> None:
    header = HEADER.pack(MAGIC, 1, 100)
    assert frames_extent(header, 4096) == (HEADER.size, 100)
    assert frames_extent(header, 50) == (HEADER.size, 50)  # never past the file
    assert frames_extent(HEADER.pack(MAGIC, 1, 3), 4096) == (HEADER.size, HEADER.size)
    assert frames_extent(_frame(0)[: HEADER.size], 700) == (0, 700)  # an earlier version's
    assert frames_extent(b"", 0) == (0, 0)  # a file being made
    assert frames_extent(header[:10], 10) == (0, 10)


def test_a_file_gone_has_no_extent(tmp_path: Path) -> None:
    files = JournalFiles(tmp_path, flush=False)
    assert files.extent("0123456789abcdef.journal") is None
    assert files.read("0123456789abcdef.journal", 0, 10) == b""
