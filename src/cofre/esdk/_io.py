"""Small stream helpers shared by encrypt and decrypt."""

from __future__ import annotations

from typing import IO, BinaryIO

from cryptography.hazmat.primitives import hashes

COPY_CHUNK = 1 << 16


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


class HashingWriter:
    """Writes to ``sink`` and feeds the signature hash, when there is one."""

    def __init__(self, sink: BinaryIO, hasher: hashes.Hash | None) -> None:
        self.sink = sink
        self.hasher = hasher

    def write(self, data: bytes) -> None:
        self.sink.write(data)
        if self.hasher is not None:
            self.hasher.update(data)


class HashingReader:
    """Reads from ``source``; once ``hasher`` is set, every byte read also feeds it."""

    def __init__(self, source: BinaryIO) -> None:
        self.source = source
        self.hasher: hashes.Hash | None = None

    def read(self, n: int) -> bytes:
        data = read_full(self.source, n)
        if self.hasher is not None:
            self.hasher.update(data)
        return data

    def read_unhashed(self, n: int) -> bytes:
        return read_full(self.source, n)


def copy_stream(source: IO[bytes], sink: IO[bytes]) -> None:
    while chunk := source.read(COPY_CHUNK):
        sink.write(chunk)
