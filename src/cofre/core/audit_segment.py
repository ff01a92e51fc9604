"""Segments: how a batch of chained records is stored, one database row per batch.

Inserting a row per record cost more than building the record (ADR 11, "Cost"), so a
group commit stores its whole batch as one segment: the records in seq order, each with
its chain hash and MAC, framed and compressed. The chain itself is unchanged -- each
record is still hashed and MACed on its own (docs/formats/audit-chain.md) -- so
verification, export and lookups read segments back as the same stream of
:class:`ChainedEvent`.

Layout (docs/formats/audit-chain.md, "Storage")::

    0x01 | zlib( frame* )       (version 1, compressed: segments of 16 KiB and more)
    0x02 | frame*               (version 2, stored: smaller ones, where zlib's set-up
                                 would cost more than the write)
    frame = seq (u64) | body length (u32) | hash (32) | mac (32) | body

A segment that does not decode is reported by verification as altered, for every seq the
row claims to hold.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cofre.core.audit_chain import HASH_LEN, ChainedEvent, EventIndex, index_body, to_micros

COMPRESSED, STORED = 1, 2  # the segment versions
COMPRESS_FROM = 16 * 1024  # bytes of frames
MAX_SEGMENT_BYTES = 64 * 1024 * 1024  # decompressed; a bound against a forged zip bomb
_FRAME = struct.Struct(">QI")
# Fast, and a 4 KiB window: zlib's default (32 KiB, memLevel 8) spends ~80 µs setting up
# its state, more than a small segment costs to write; this costs ~10 µs and compresses
# records nearly as well (they repeat within a record, and across neighbours).
_LEVEL, _WBITS, _MEM_LEVEL = 1, 12, 5


class SegmentError(ValueError):
    """Bytes that are not a segment (verification reports them as altered)."""


@dataclass(frozen=True, slots=True)
class AccountSpan:
    """Where one account's records in one Region are in a segment (the lookup index)."""

    account_id: str
    region: str
    first_time: int  # microseconds
    last_time: int


@dataclass(frozen=True, slots=True)
class Segment:
    first_seq: int
    last_seq: int
    first_time: int  # microseconds, the earliest and latest event time in it
    last_time: int
    data: bytes
    accounts: tuple[AccountSpan, ...]


def encode_segment(events: Sequence[ChainedEvent]) -> Segment:
    """One segment of ``events`` (consecutive seqs, at least one)."""
    if not events:
        raise ValueError("a segment holds at least one event")
    frames: list[bytes] = []
    spans: dict[tuple[str, str], list[int]] = {}
    times: list[int] = []
    for event in events:
        if len(event.hash) != HASH_LEN or len(event.mac) != HASH_LEN:
            raise ValueError("hashes and MACs are 32 bytes")
        frames.append(_FRAME.pack(event.seq, len(event.body)))
        frames.append(event.hash)
        frames.append(event.mac)
        frames.append(event.body)
        index = event.index
        micros = to_micros(index.event_time)
        times.append(micros)
        if index.account_id:
            span = spans.setdefault((index.account_id, index.region), [micros, micros])
            span[0] = min(span[0], micros)
            span[1] = max(span[1], micros)
    raw = b"".join(frames)
    if len(raw) < COMPRESS_FROM:
        data = bytes([STORED]) + raw
    else:
        deflate = zlib.compressobj(_LEVEL, zlib.DEFLATED, _WBITS, _MEM_LEVEL)
        data = b"".join((bytes([COMPRESSED]), deflate.compress(raw), deflate.flush()))
    accounts = tuple(
        AccountSpan(account, region, first, last)
        for (account, region), (first, last) in spans.items()
    )
    return Segment(events[0].seq, events[-1].seq, min(times), max(times), data, accounts)


def decode_frames(data: bytes) -> list[tuple[int, bytes, bytes, bytes]]:
    """(seq, body, hash, mac) of each framed record; SegmentError if ``data`` is not a
    segment."""
    if not data or data[0] not in (COMPRESSED, STORED):
        raise SegmentError("unknown segment version")
    raw = data[1:] if data[0] == STORED else _inflate(data[1:])
    out: list[tuple[int, bytes, bytes, bytes]] = []
    offset = 0
    view = memoryview(raw)
    while offset < len(raw):
        if offset + _FRAME.size + 2 * HASH_LEN > len(raw):
            raise SegmentError("a frame is cut short")
        seq, length = _FRAME.unpack_from(raw, offset)
        offset += _FRAME.size
        hash_ = bytes(view[offset : offset + HASH_LEN])
        mac = bytes(view[offset + HASH_LEN : offset + 2 * HASH_LEN])
        offset += 2 * HASH_LEN
        if offset + length > len(raw):
            raise SegmentError("a frame is cut short")
        out.append((seq, bytes(view[offset : offset + length]), hash_, mac))
        offset += length
    return out


def _inflate(data: bytes) -> bytes:
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(data, MAX_SEGMENT_BYTES)
        if inflater.unconsumed_tail or not inflater.eof:
            raise SegmentError("the segment is truncated or too large")
    except zlib.error as exc:
        raise SegmentError("the segment does not decompress") from exc
    return raw


_NO_INDEX_TIME = datetime(1970, 1, 1, tzinfo=UTC)


def unreadable_index() -> EventIndex:
    """The index of bytes that are not a record (verification reports the row)."""
    return EventIndex("", "", "", _NO_INDEX_TIME, "", "", False, "", "", ())


def decode_segment(data: bytes) -> list[ChainedEvent]:
    """The records of a segment, each with the index its body gives."""
    return [
        ChainedEvent(seq, body, hash_, mac, index_body(body) or unreadable_index())
        for seq, body, hash_, mac in decode_frames(data)
    ]


def select(events: Iterable[ChainedEvent], after: int, until: int | None) -> list[ChainedEvent]:
    """The events with ``after < seq <= until``, in seq order."""
    return [e for e in events if e.seq > after and (until is None or e.seq <= until)]
