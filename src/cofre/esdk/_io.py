"""Stream helpers shared by encrypt and decrypt."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from types import TracebackType
from typing import IO, BinaryIO, Protocol

from cryptography.hazmat.primitives import hashes

from cofre.esdk.errors import DecryptError

Buffer = bytes | bytearray | memoryview


class Sink(Protocol):
    """Where plaintext goes: a binary file, a ``BytesIO``, a :class:`Spool`."""

    def write(self, data: Buffer, /) -> object: ...


COPY_CHUNK = 1 << 20


def read_full(stream: BinaryIO, n: int) -> bytes:
    """Read exactly ``n`` bytes unless the stream ends first (pipes may return short reads)."""
    data = stream.read(n)
    if len(data) == n or not data:
        return data
    parts = [data]
    got = len(data)
    while got < n:
        chunk = stream.read(n - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def copy_stream(source: IO[bytes], sink: IO[bytes]) -> None:
    while chunk := source.read(COPY_CHUNK):
        sink.write(chunk)


class Overlap:
    """Runs jobs in order on one helper thread, at most one in flight, so that hashing and
    I/O overlap the caller's AES work (OpenSSL's AES-GCM and SHA-2, and file writes,
    release the GIL). Hashing and writing each get their own ``Overlap``.

    ``run(job, background=False)`` runs ``job`` here, after the job in flight; with
    ``background=True`` it returns once the previous job finished and ``job`` started. A
    buffer given to a background job must not change until the next ``run`` or ``close``
    returns (callers alternate two buffers). The thread starts with the first background
    job, so a short message never starts one. Use as a context manager: ``close`` waits for
    the last job and re-raises its error.
    """

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._pending: Future[object] | None = None

    def wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def run(self, job: Callable[[], object], *, background: bool = False) -> None:
        self.wait()
        if not background:
            job()
            return
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="esdk-io")
        self._pending = self._executor.submit(job)

    def close(self) -> None:
        try:
            self.wait()
        finally:
            if self._executor is not None:
                self._executor.shutdown(wait=True)
                self._executor = None

    def __enter__(self) -> Overlap:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc is None:
            self.close()
            return
        with contextlib.suppress(Exception):  # the caller's error wins over the job's
            self.close()


class ChunkReader:
    """Reads ``source`` in chunks of at least ``chunk`` bytes and hands out exact ranges.

    Every byte handed out feeds ``hasher`` (when set), in bulk, on the ``overlap`` helper
    thread, until :meth:`finish_hash`. With ``chunk=0`` it reads exactly what is asked, so
    it never reads past what the caller consumes; otherwise :meth:`leftover` returns the
    bytes read but not handed out.
    """

    def __init__(
        self, source: BinaryIO, hasher: hashes.Hash | None, overlap: Overlap, chunk: int
    ) -> None:
        self._source = source
        self._hasher = hasher
        self._overlap = overlap
        self._chunk = chunk
        self._buf = b""
        self._view = memoryview(self._buf)
        self._pos = 0
        self._hashed = 0

    def _hash_consumed(self, *, background: bool) -> None:
        hasher = self._hasher
        if hasher is not None and self._pos > self._hashed:
            data = self._view[self._hashed : self._pos]
            self._overlap.run(partial(hasher.update, data), background=background)
        self._hashed = self._pos

    def peek(self, n: int) -> memoryview:
        """The next ``n`` bytes, not consumed; DecryptError if the stream ends first."""
        if len(self._buf) - self._pos < n:
            self._hash_consumed(background=True)
            rest = self._buf[self._pos :]
            more = read_full(self._source, max(n, self._chunk) - len(rest))
            self._buf = rest + more if rest else more
            self._view = memoryview(self._buf)
            self._pos = self._hashed = 0
            if len(self._buf) < n:
                raise DecryptError("malformed message: truncated body")
        return self._view[self._pos : self._pos + n]

    def take(self, n: int) -> memoryview:
        view = self.peek(n)
        self._pos += n
        return view

    def finish_hash(self) -> None:
        """Hash what was handed out so far and wait for it; later reads are not hashed."""
        self._hash_consumed(background=False)
        self._hasher = None

    def leftover(self) -> bytes:
        return self._buf[self._pos :]


class Spool:
    """Plaintext held back until it may be released: in memory up to ``memory`` bytes, then
    in an anonymous temporary file.

    The file's blocks are reserved ahead of the writes (``posix_fallocate``, 64 MiB at a
    time): on ext4, appending without that cost about five times more than writing into
    reserved space. The file may thus be longer than what was written; :meth:`copy_to`
    copies exactly the bytes written.
    """

    RESERVE_STEP = 64 << 20

    def __init__(self, memory: int) -> None:
        self._memory = memory
        self._buffer: io.BytesIO | None = io.BytesIO()
        self._file: IO[bytes] | None = None
        self._size = 0
        self._reserved = 0

    def write(self, data: Buffer) -> int:
        n = len(data)
        if self._buffer is not None and self._size + n <= self._memory:
            self._buffer.write(data)
        else:
            if self._file is None:
                self._file = tempfile.TemporaryFile()
                if self._buffer is not None:
                    with self._buffer.getbuffer() as held:
                        self._reserve(self._size + n)
                        self._file.write(held)
                self._buffer = None
            self._reserve(self._size + n)
            self._file.write(data)
        self._size += n
        return n

    def _reserve(self, end: int) -> None:
        if self._file is None or end <= self._reserved or not hasattr(os, "posix_fallocate"):
            return
        target = max(end, self._reserved + self.RESERVE_STEP)
        try:
            os.posix_fallocate(self._file.fileno(), self._reserved, target - self._reserved)
        except OSError:  # no space to reserve ahead, or not supported: plain appends
            self._reserved = 1 << 62
            return
        self._reserved = target

    def copy_to(self, sink: Sink) -> None:
        if self._file is None:
            if self._buffer is not None:
                with self._buffer.getbuffer() as held:
                    sink.write(held)
            return
        self._file.flush()
        self._file.seek(0)
        left = self._size
        while left:
            chunk = self._file.read(min(COPY_CHUNK, left))
            if not chunk:
                raise OSError("spool file ended early")
            sink.write(chunk)
            left -= len(chunk)

    def close(self) -> None:
        self._buffer = None
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
