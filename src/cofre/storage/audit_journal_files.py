"""The audit journal's files (ADR 11, "Journal"; the format is
:mod:`cofre.core.audit_journal`).

Each process that serves calls appends to a journal file of its own in
``<data dir>/audit-journal/``, named at random, and holds an exclusive ``flock`` on it for
as long as it writes there. A file whose lock can be taken has no writer any more (its
process ended, or moved on to a new file): whoever takes the lock empties it into the
chain and deletes it. Every append is one ``write`` of whole frames; a write that fails
is cut back off (``ftruncate``), so a failed append leaves nothing a reader would take
for records -- and if even that fails, the writer moves to a new file.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

from cofre.errors import AuditUnavailableError

log = logging.getLogger(__name__)

SUFFIX = ".journal"
ROTATE_AT = 64 * 1024 * 1024  # bytes: a writer then starts a new file


def journal_dir(data_dir: Path) -> Path:
    return data_dir / "audit-journal"


class JournalFiles:
    """The journal directory of a data directory: the file this process appends to
    (thread-safe), and every journal file in it by name
    (``cofre.service.ports.AuditJournal``)."""

    def __init__(self, directory: Path, *, flush: bool, rotate_at: int = ROTATE_AT) -> None:
        self.directory = directory
        self._flush = flush
        self._rotate_at = rotate_at
        self._lock = threading.Lock()
        self._fd = -1
        self.current = ""  # the file this process appends to ("" before the first write)
        self._current_size = 0  # bytes of whole frames in it
        self.written = 0  # bytes written by this writer, in every file
        self._closed = False

    def append(self, data: bytes) -> None:
        """Write ``data`` (whole frames) durably enough to answer;
        ``AuditUnavailableError`` if it could not be written."""
        with self._lock:
            if self._closed:
                raise AuditUnavailableError("The audit trail is shut down.")
            try:
                if self._fd < 0:
                    self._open()
                written = os.write(self._fd, data)
                if written != len(data):
                    raise OSError(f"short write: {written} of {len(data)} bytes")
                if self._flush:
                    os.fdatasync(self._fd)
            except OSError as exc:
                self._cut_back()
                log.warning("cannot write the audit journal: %s", exc)
                raise AuditUnavailableError() from exc
            self._current_size += len(data)
            self.written += len(data)
            if self._current_size >= self._rotate_at:
                self._release()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._release()

    def _open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        name = secrets.token_hex(8) + SUFFIX
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC
        fd = os.open(self.directory / name, flags, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise
        self._fd, self.current, self._current_size = fd, name, 0

    def _cut_back(self) -> None:
        """Drop whatever a failed write left after the last whole frame; if that fails
        too, leave the file (its torn tail marks its end) and start a new one."""
        if self._fd < 0:
            return
        try:
            os.ftruncate(self._fd, self._current_size)
        except OSError:
            log.warning("cannot cut the audit journal back; starting a new one")
            self._release()

    def _release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # releases the lock: the file is for the ingesters now
            self._fd = -1

    def names(self) -> list[str]:
        """The journal files, oldest first (by modification time)."""
        try:
            found = [p for p in self.directory.iterdir() if p.name.endswith(SUFFIX)]
        except FileNotFoundError:
            return []
        return [p.name for p in sorted(found, key=_mtime)]

    def size(self, name: str) -> int | None:
        try:
            return os.stat(self.directory / name).st_size
        except FileNotFoundError:
            return None

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
