"""The backup file's framing: a magic, then frames, each checked on its own, the last of
them a trailer that checks the whole (docs/formats/backup.md).

Layout::

    file    = MAGIC frame*                     the last frame is the trailer ('Z')
    frame   = kind (1 byte) | length (u32, big-endian) | payload | sha256 (32 bytes)
              the hash covers kind, length and payload

    'H' header    JSON: format version, schema version and migrations, the tables
    'T' table     JSON: {"table", "rows"}, before the table's row frames
    'R' rows      row count (u32) | zstd(JSON array of rows)  (:mod:`.rows`)
    'E' end       JSON: {"table", "rows", "sha256"}, the digest of the table's frame hashes
    'Z' trailer   JSON: per-table rows and digests, the audit chain head, and the SHA-256
                  of every byte before the trailer

Every byte is under one of the frames' hashes, so a flipped byte is found in its frame and
named by the frame's place (byte offset, table, first row); a frame dropped, doubled or
moved inside a table changes that table's digest; anything cut off loses the trailer.
Pure: the writer hands bytes to a function it is given, the reader takes them from one.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from cofre.errors import BackupError

MAGIC = b"\x89COFREBK\r\n\x1a\n"  # a text-mode transfer or a truncated copy shows at once
FORMAT_VERSION = 1
HEADER, TABLE, ROWS, END, TRAILER = b"H", b"T", b"R", b"E", b"Z"
KINDS = {HEADER: "header", TABLE: "table", ROWS: "rows", END: "table end", TRAILER: "trailer"}
_PREFIX = struct.Struct(">cI")
HASH_LEN = 32
MAX_FRAME = 256 * 1024 * 1024  # a bound against a damaged length that claims gigabytes


def frame(kind: bytes, payload: bytes) -> bytes:
    """One frame, its hash included."""
    prefix = _PREFIX.pack(kind, len(payload))
    return prefix + payload + hashlib.sha256(prefix + payload).digest()


def json_frame(kind: bytes, value: Any) -> bytes:
    return frame(kind, orjson.dumps(value, option=orjson.OPT_SORT_KEYS))


@dataclass(frozen=True, slots=True)
class Frame:
    kind: bytes
    payload: bytes
    offset: int  # of its first byte in the file
    digest: bytes  # its sha256

    def json(self) -> Any:
        try:
            return orjson.loads(self.payload)
        except orjson.JSONDecodeError as exc:
            raise BackupError(f"byte offset {self.offset}: the {self.name} is not JSON") from exc

    @property
    def name(self) -> str:
        return KINDS.get(self.kind, "frame")


class Writer:
    """Frames out, counting bytes and hashing everything for the trailer."""

    def __init__(self, write: Callable[[bytes], object]) -> None:
        self._write = write
        self._file = hashlib.sha256()
        self.size = 0
        self._out(MAGIC)

    def _out(self, data: bytes) -> bytes:
        self._write(data)
        self._file.update(data)
        self.size += len(data)
        return data[-HASH_LEN:]

    def put(self, kind: bytes, payload: bytes) -> bytes:
        """Write a frame; its hash (which the table digests chain)."""
        return self._out(frame(kind, payload))

    def put_json(self, kind: bytes, value: Any) -> bytes:
        return self._out(json_frame(kind, value))

    def trailer(self, value: dict[str, Any]) -> None:
        """The last frame: ``value`` with the hash of every byte before it."""
        self._out(json_frame(TRAILER, {**value, "file_sha256": self._file.hexdigest()}))


class Reader:
    """Frames in, each checked against its hash before it is handed out; the file's hash
    for the trailer. Errors name the byte offset."""

    def __init__(self, read: Callable[[int], bytes]) -> None:
        self._read = read
        self._file = hashlib.sha256()
        self.offset = 0
        magic = self._take(len(MAGIC))
        if magic != MAGIC:
            raise BackupError("not a Cofre backup (its first bytes are not the backup magic)")
        self._file.update(magic)

    def _take(self, n: int) -> bytes:
        data = self._read(n)
        self.offset += len(data)
        return data

    def file_digest(self) -> str:
        """The hash of every byte read before the frame being read now."""
        return self._file.hexdigest()

    def next(self) -> Frame | None:
        """The next frame, checked; None at the end of the file."""
        start = self.offset
        prefix = self._take(_PREFIX.size)
        if not prefix:
            return None
        if len(prefix) < _PREFIX.size:
            raise BackupError(f"byte offset {start}: the file ends inside a frame (truncated)")
        kind, length = _PREFIX.unpack(prefix)
        if kind not in KINDS:
            raise BackupError(f"byte offset {start}: not a frame (kind byte 0x{kind.hex()})")
        if length > MAX_FRAME:
            raise BackupError(
                f"byte offset {start}: the {KINDS[kind]} frame claims {length} bytes:"
                " its length is damaged"
            )
        payload = self._take(length)
        digest = self._take(HASH_LEN)
        if len(payload) < length or len(digest) < HASH_LEN:
            raise BackupError(
                f"byte offset {start}: the file ends inside a {KINDS[kind]} frame"
                f" of {length} bytes (truncated, or its length is damaged)"
            )
        found = hashlib.sha256(prefix + payload).digest()
        if found != digest:
            raise BackupError(
                f"byte offset {start}: the {KINDS[kind]} frame does not match its checksum"
            )
        if kind != TRAILER:
            self._file.update(prefix + payload + digest)
        return Frame(kind, payload, start, digest)

    def at_end(self) -> bool:
        """Whether the file has no byte left."""
        return not self._read(1)


def table_digest(frame_hashes: list[bytes]) -> str:
    """A table's digest: the hash of its frames' hashes, in order."""
    return hashlib.sha256(b"".join(frame_hashes)).hexdigest()
