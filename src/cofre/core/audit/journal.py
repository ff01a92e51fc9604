"""The audit journal's format: the read-only calls answered, as written before their
responses leave and read back when they are appended to the chain (ADR 11, "Journal").

A journal is a file of *frames*, one per write (the calls of one burst)::

    frame   = "CJ" | version (u8) | payload length (u32) | CRC-32 of payload (u32) | payload

Version 2 (what is written) holds calls, not records: the payload is the JSON array of
the calls' entries (:class:`~cofre.core.audit.contexts.JournalEntry`), each what the record
needs to be built -- the caller, the time, the request id, the parameters already
redacted, the outcome. So the serving process does the least it can before answering:
no record is built there; the ingester builds them
(:meth:`~cofre.service.audit.records.RecordBuilder.render_into`) when it appends the
frames to the chain. Nothing secret is ever in a journal: the parameters are redacted
before they are written, exactly as the record logs them.

Version 1 (written by earlier versions, still read) holds finished records::

    payload = meta length (u32) | meta | body*
    meta    = JSON [[[account, region, event time (µs), event id, body length], ...],
                    [[key ARN, operation, time (µs), event id, request id], ...]]

The CRC tells a frame cut short by a crash, or garbled, from a whole one; it is no
protection against tampering -- the journal lives in the server's own data directory and
is emptied into the chain within milliseconds, where the hash chain, MACs and signed
digests take over.
"""

from __future__ import annotations

import dataclasses
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

import orjson

from cofre.core.audit.chain import EventIndex, to_micros
from cofre.core.audit.contexts import Contexts, JournalContext, JournalEntry
from cofre.core.audit.events import AuditCall, KeyUsage

MAGIC = b"CJ"
RECORDS = 1  # a frame of finished records (earlier versions)
CALLS = 2  # a frame of calls (what is written)
_HEADER = struct.Struct(">2sBII")
_META_LEN = struct.Struct(">I")
MAX_FRAME = 64 * 1024 * 1024
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_MAX_MICROS = 253_402_300_800_000_000  # 10000-01-01: past datetime's range


@dataclass(frozen=True, slots=True)
class Prepared:
    """The records of one call, built and ready to append: each body with its index, and
    the key usages the call reports."""

    entries: tuple[tuple[bytes, EventIndex], ...]
    usages: tuple[KeyUsage, ...]


@dataclass(slots=True)  # not frozen: one per journaled call, and frozen costs ~1 µs
class JournalCall:
    """A journaled call: its context, time (µs), request id, parameters (redacted) and
    error message."""

    context: JournalContext
    micros: int
    request_id: str
    request: dict[str, Any] | None
    message: str | None

    def whole(self) -> AuditCall:
        """The call itself."""
        return dataclasses.replace(
            self.context.call,
            time=_EPOCH + timedelta(microseconds=self.micros),
            request_id=self.request_id,
            params=self.request,
            error_message=self.message,
        )


@dataclass(slots=True)
class JournalRecords:
    """Records as the journal takes them (:func:`encode_records`):
    the bodies, and per body and per key usage the meta the journal keeps."""

    bodies: list[bytes] = field(default_factory=list)
    entries: list[list[Any]] = field(default_factory=list)  # account, Region, µs, id, length
    usages: list[list[Any]] = field(default_factory=list)  # ARN, operation, µs, id, request


@dataclass(slots=True)
class JournalBatch:
    """What frames read back hold, column by column, in order: what appending needs."""

    bodies: list[bytes] = field(default_factory=list)
    times: list[int] = field(default_factory=list)  # event times, µs
    accounts: list[tuple[str, str]] = field(default_factory=list)  # (account, Region)
    usages: dict[str, KeyUsage] = field(default_factory=dict)  # the latest per key
    calls: list[JournalCall] = field(default_factory=list)  # version 2

    def __len__(self) -> int:
        """How many calls (version 2) or records (version 1) were read into it."""
        return len(self.calls) if self.calls else len(self.bodies)

    def add_records(self, records: JournalRecords) -> None:
        """Add records built from calls (:attr:`calls`) by the appender."""
        self.bodies += records.bodies
        for account, region, micros, _event_id, _length in records.entries:
            self.times.append(micros)
            self.accounts.append((account, region))
        self.note_uses(records.usages)

    def note_uses(self, raw: list[list[Any]]) -> None:
        """Note key usages ``[arn, operation, µs, event id, request id]``, keeping each
        key's latest only (one row per key and batch is written)."""
        newest: dict[str, list[Any]] = {}
        for use in raw:
            known = newest.get(use[0])
            if known is None or use[2] >= known[2]:
                newest[use[0]] = use
        for arn, (_, operation, micros, event_id, request_id) in newest.items():
            when = _EPOCH + timedelta(microseconds=micros)
            known_use = self.usages.get(arn)
            if known_use is None or when >= known_use.time:
                self.usages[arn] = KeyUsage(arn, operation, when, event_id, request_id)


class Stop(Enum):
    """Why reading stopped before the end of the bytes."""

    END = "end"  # every byte was read
    PARTIAL = "partial"  # the last frame is not all there (yet, or ever: a torn write)
    CORRUPT = "corrupt"  # a frame that is not one: bad magic, version, length or CRC


def encode_calls(entries: Sequence[JournalEntry]) -> bytes:
    """One frame holding the calls of ``entries``: a JSON array of the entries' arrays."""
    payload = orjson.dumps(entries)
    return _HEADER.pack(MAGIC, CALLS, len(payload), zlib.crc32(payload)) + payload


def encode_records(records: JournalRecords) -> bytes:
    """One version-1 frame holding finished ``records`` (as earlier versions wrote)."""
    meta = orjson.dumps([records.entries, records.usages])
    payload = b"".join((_META_LEN.pack(len(meta)), meta, *records.bodies))
    return _HEADER.pack(MAGIC, RECORDS, len(payload), zlib.crc32(payload)) + payload


def add_prepared(out: JournalRecords, prepared: Prepared) -> None:
    """Add records built the general way (not by template) to ``out``."""
    for body, index in prepared.entries:
        time = to_micros(index.event_time)
        out.bodies.append(body)
        out.entries.append([index.account_id, index.region, time, index.event_id, len(body)])
    for usage in prepared.usages:
        out.usages.append(
            [usage.key_arn, usage.operation, to_micros(usage.time), usage.event_id,
             usage.request_id]
        )  # fmt: skip


def decode_frames(data: bytes, contexts: Contexts | None = None) -> tuple[JournalBatch, int, Stop]:
    """The calls or records of the frames at the start of ``data``, how many bytes those
    frames took, and why reading stopped. A batch holds frames of one version: reading
    ends (``Stop.END``) before a frame of the other. ``contexts``: the calls' contexts
    known from earlier reads."""
    batch = JournalBatch()
    contexts = Contexts() if contexts is None else contexts
    offset = 0
    version = 0
    view = memoryview(data)
    while offset < len(data):
        if offset + _HEADER.size > len(data):
            return batch, offset, Stop.PARTIAL
        magic, frame_version, length, crc = _HEADER.unpack_from(data, offset)
        if magic != MAGIC or frame_version not in (CALLS, RECORDS) or length > MAX_FRAME:
            return batch, offset, Stop.CORRUPT
        if version and frame_version != version:
            return batch, offset, Stop.END
        version = frame_version
        start = offset + _HEADER.size
        if start + length > len(data):
            return batch, offset, Stop.PARTIAL
        payload = view[start : start + length]
        if zlib.crc32(payload) != crc:
            return batch, offset, Stop.CORRUPT
        try:
            if version == CALLS:
                _decode_calls(payload, batch, contexts)
            else:
                _decode_records(payload, batch)
        except (ValueError, TypeError, IndexError, OverflowError, orjson.JSONDecodeError):
            return batch, offset, Stop.CORRUPT
        offset = start + length
    return batch, offset, Stop.END


def frame_length(data: bytes) -> int | None:
    """The whole length of the frame ``data`` starts with, if its header is there."""
    if len(data) < _HEADER.size:
        return None
    length: int = _HEADER.unpack_from(data, 0)[2]
    return _HEADER.size + length


def _decode_calls(payload: memoryview, batch: JournalBatch, contexts: Contexts) -> None:
    """Add one frame's calls to ``batch``: all of them, or none (raising)."""
    entries = orjson.loads(payload)
    if not isinstance(entries, list) or not entries:
        raise ValueError("a frame holds no calls")
    calls: list[JournalCall] = []
    for entry in entries:
        text, micros, request_id, request, message = entry
        if (
            type(text) is not str
            or type(micros) is not int
            or not 0 <= micros < _MAX_MICROS
            or type(request_id) is not str
            or not (request is None or type(request) is dict)
            or not (message is None or type(message) is str)
        ):
            raise ValueError("a journaled call is malformed")
        calls.append(JournalCall(contexts(text), micros, request_id, request, message))
    batch.calls += calls


def _decode_records(payload: memoryview, batch: JournalBatch) -> None:
    """Add one version-1 frame's records to ``batch``: all of them, or none (raising)."""
    (meta_len,) = _META_LEN.unpack_from(payload, 0)
    position = _META_LEN.size + meta_len
    entries_meta, usages_meta = orjson.loads(payload[_META_LEN.size : position])
    bodies: list[bytes] = []
    times: list[int] = []
    accounts: list[tuple[str, str]] = []
    for account, region, micros, _event_id, length in entries_meta:
        end = position + length
        if end > len(payload) or not isinstance(micros, int):
            raise ValueError("a body is cut short")
        bodies.append(payload[position:end].tobytes())
        times.append(micros)
        accounts.append((str(account), str(region)))
        position = end
    if position != len(payload):
        raise ValueError("bytes after the last body")
    for use in usages_meta:
        if len(use) != 5 or not isinstance(use[2], int):
            raise ValueError("a key usage is malformed")
    batch.bodies += bodies
    batch.times += times
    batch.accounts += accounts
    batch.note_uses(usages_meta)
