"""The audit journal's files (ADR 11, "Journal"; the frames' format is
:mod:`cofre.core.audit.journal`, the files' layout docs/formats/audit-chain.md).

Each process that serves calls appends to a journal file of its own in
``<data dir>/audit-journal/``, named at random, and holds an exclusive ``flock`` on it for
as long as it writes there. A file whose lock can be taken has no writer any more (its
process ended, or moved on to a new file): whoever takes the lock empties it into the
chain and deletes it.

A file is allocated whole when it is made (``posix_fallocate``: a full disk refuses the
file, never an append half done) and written through a shared memory map, so that an
append is a copy into the page cache with no system call -- a ``write`` was the dearest
single step of a call's audit under light load. The pages are the OS's as a ``write``'s
are: kept if the process is killed, written back as usual, and with ``flush`` synced
(``msync``) before an append returns. Layout::

    header = "CJM" | layout (u8, 1) | 4 zero bytes | end (u64, little-endian)
    frames from byte 16 up to ``end``; what follows is not written yet

``end`` moves after an append's frames are copied, so readers take only whole frames
(a reader in another process may still see it move before the frames, on a CPU that
orders stores loosely, or read it torn: it then finds the frame not yet whole and looks
again later -- :mod:`cofre.service.audit.ingest`); a writer that moves on cuts its file
at ``end``. Files of earlier versions have no header: their frames run from byte 0 to the
file's size.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import mmap
import os
import secrets
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

from cofre.errors import AuditUnavailableError

log = logging.getLogger(__name__)

SUFFIX = ".journal"
FILE_BYTES = 16 * 1024 * 1024  # allocated per file: a writer then starts a new one
MAGIC = b"CJM"
LAYOUT = 1
HEADER = struct.Struct("<3sB4xQ")
_END = struct.Struct("<Q")  # the header's last field (at byte 8, aligned: one store)
_END_AT = HEADER.size - _END.size


def journal_dir(data_dir: Path) -> Path:
    return data_dir / "audit-journal"


def frames_extent(head: bytes, size: int) -> tuple[int, int]:
    """Where the whole frames of a journal file start and end, from its first bytes
    (``head``, up to the header's length) and its size."""
    if len(head) < HEADER.size or head[: len(MAGIC)] != MAGIC:
        return 0, size  # an earlier version's file: frames from its first byte
    _, _layout, end = HEADER.unpack(head)
    return HEADER.size, max(HEADER.size, min(end, size))


class JournalFiles:
    """The journal directory of a data directory: the file this process appends to
    (thread-safe), and every journal file in it by name
    (``cofre.service.ports.AuditJournal``)."""

    def __init__(self, directory: Path, *, flush: bool, file_bytes: int = FILE_BYTES) -> None:
        self.directory = directory
        self._flush = flush
        self._file_bytes = file_bytes
        self._lock = threading.Lock()
        self._fd = -1
        self._map: mmap.mmap | None = None
        self.current = ""  # the file this process appends to ("" before the first write)
        self._end = 0  # where the next frame goes in it
        self._capacity = 0  # its allocated bytes
        self.written = 0  # bytes written by this writer, in every file
        self._closed = False

    def append(self, data: bytes) -> None:
        """Copy ``data`` (whole frames) into the file, durably enough to answer;
        ``AuditUnavailableError`` if it could not be (nothing of it is then read)."""
        with self._lock:
            if self._closed:
                raise AuditUnavailableError("The audit trail is shut down.")
            start = self._end
            end = start + len(data)
            if end > self._capacity:
                start = self._new_file(len(data))
                end = start + len(data)
            mapped = self._map
            assert mapped is not None
            mapped[start:end] = data
            _END.pack_into(mapped, _END_AT, end)
            if self._flush:
                try:
                    mapped.flush(0, end)
                except OSError as exc:
                    _END.pack_into(mapped, _END_AT, start)  # not acknowledged: not read
                    log.warning("cannot sync the audit journal: %s", exc)
                    raise AuditUnavailableError() from exc
            self._end = end
            self.written += len(data)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._release()

    def _new_file(self, needed: int) -> int:
        """Move on to a new file with room for ``needed`` bytes; where they go in it."""
        self._release()
        try:
            self._open(max(self._file_bytes, HEADER.size + needed))
        except OSError as exc:
            log.warning("cannot make a new audit journal file: %s", exc)
            raise AuditUnavailableError() from exc
        return self._end

    def _open(self, capacity: int) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = secrets.token_hex(8) + SUFFIX
        path = self.directory / name
        flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC
        fd = os.open(path, flags, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.pwrite(fd, HEADER.pack(MAGIC, LAYOUT, HEADER.size), 0)
            os.posix_fallocate(fd, 0, capacity)
            mapped = mmap.mmap(fd, capacity)
        except OSError:
            os.close(fd)
            path.unlink(missing_ok=True)  # it never held a frame
            raise
        self._fd, self._map, self.current = fd, mapped, name
        self._end, self._capacity = HEADER.size, capacity

    def _release(self) -> None:
        """Stop writing to the current file: cut it at its end (the space it did not use
        goes back) and release its lock -- it is the ingesters' now."""
        if self._map is not None:
            self._map.close()
            self._map = None
        if self._fd >= 0:
            try:
                os.ftruncate(self._fd, self._end)
            except OSError:
                log.warning("cannot cut the audit journal %s at its end", self.current)
            os.close(self._fd)
            self._fd = -1
        self._capacity = 0

    def names(self) -> list[str]:
        """The journal files, oldest first (by modification time)."""
        try:
            found = [p for p in self.directory.iterdir() if p.name.endswith(SUFFIX)]
        except FileNotFoundError:
            return []
        return [p.name for p in sorted(found, key=_mtime)]

    def extent(self, name: str) -> tuple[int, int] | None:
        """Where the whole frames of ``name`` start and end (None if it is gone)."""
        try:
            fd = os.open(self.directory / name, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None
        try:
            return frames_extent(os.pread(fd, HEADER.size, 0), os.fstat(fd).st_size)
        finally:
            os.close(fd)

    def read(self, name: str, offset: int, limit: int) -> bytes:
        """Up to ``limit`` bytes of ``name`` from ``offset`` (b"" if it is gone)."""
        try:
            with (self.directory / name).open("rb") as file:
                file.seek(offset)
                return file.read(limit)
        except FileNotFoundError:
            return b""

    @contextlib.contextmanager
    def abandoned(self, name: str) -> Iterator[bool]:
        """Whether ``name`` has no writer (its lock could be taken); the lock is held
        until the block ends, so one cleaner at a time deletes it."""
        try:
            fd = os.open(self.directory / name, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            yield False
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            yield True
        finally:
            os.close(fd)

    def remove(self, name: str) -> None:
        (self.directory / name).unlink(missing_ok=True)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except FileNotFoundError:
        return 0.0
