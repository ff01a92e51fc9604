"""Segments: how a batch of chained records is stored, one database row per batch.

Inserting a row per record cost more than building the record (ADR 11, "Cost"), so a
group commit stores its whole batch as one segment: the records in seq order, each with
its chain hash and MAC, framed and compressed. The chain itself is unchanged -- each
record is still hashed and MACed on its own (docs/formats/audit-chain.md) -- so
verification, export and lookups read segments back as the same stream of
:class:`ChainedEvent`.

Layout (docs/formats/audit-chain.md, "Storage")::

    0x03 | zstd( frame* )       (version 3, compressed: segments of 16 KiB and more)
    0x02 | frame*               (version 2, stored: smaller ones)
    0x01 | zlib( frame* )       (version 1: written until zstd replaced it; still read)
    frame = seq (u64) | body length (u32) | hash (32) | mac (32) | body

zstd (level -1) compresses records about as well as zlib did, ten times faster: under
0.5 µs per record against 5-7 (ADR 11, "Cost").

A segment that does not decode is reported by verification as altered, for every seq the
row claims to hold.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import zstandard

from cofre.core.audit.chain import (
    HASH_LEN,
    ChainedEvent,
    ChainMac,
    EventIndex,
    chain_hash,
    index_body,
    to_micros,
)

ZLIB, STORED, ZSTD = 1, 2, 3  # the segment versions
COMPRESS_FROM = 16 * 1024  # bytes of frames
MAX_SEGMENT_BYTES = 64 * 1024 * 1024  # decompressed; a bound against a forged zip bomb
_FRAME = struct.Struct(">QI")
_ZSTD_LEVEL = -1  # as small as level 1 on journaled records (~8%), a third faster


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
    accounts = tuple(
        AccountSpan(account, region, first, last)
        for (account, region), (first, last) in spans.items()
    )
    return Segment(events[0].seq, events[-1].seq, min(times), max(times), _pack(frames), accounts)


def chain_segment(
    prev_hash: bytes,
    first_seq: int,
    bodies: Sequence[bytes],
    times: Sequence[int],
    accounts: Sequence[tuple[str, str]],
    mac: ChainMac,
) -> tuple[Segment, bytes]:
    """Chain ``bodies`` after ``prev_hash`` from ``first_seq`` on and store them as one
    segment: the segment and the last record's hash. ``times`` are the records' event
    times (µs), ``accounts`` their (recipient account, Region) -- "" when none. The same
    records and bytes as :func:`chain_hash`, :class:`ChainMac` and :func:`encode_segment`
    give, without building a :class:`ChainedEvent` per record (the journal's hot loop)."""
    if not bodies:
        raise ValueError("a segment holds at least one event")
    frames: list[bytes] = []
    pack = _FRAME.pack
    seq = first_seq
    for body in bodies:
        prev_hash = chain_hash(prev_hash, seq, body)
        frames += (pack(seq, len(body)), prev_hash, mac(seq, prev_hash), body)
        seq += 1
    spans: dict[tuple[str, str], list[int]] = {}
    for where, micros in zip(accounts, times, strict=True):
        if not where[0]:
            continue
        span = spans.get(where)
        if span is None:
            spans[where] = [micros, micros]
        elif micros < span[0]:
            span[0] = micros
        elif micros > span[1]:
            span[1] = micros
    spans_out = tuple(AccountSpan(a, r, first, last) for (a, r), (first, last) in spans.items())
    segment = Segment(first_seq, seq - 1, min(times), max(times), _pack(frames), spans_out)
    return segment, prev_hash


def _pack(frames: list[bytes]) -> bytes:
    raw = b"".join(frames)
    if len(raw) < COMPRESS_FROM:
        return bytes([STORED]) + raw
    return bytes([ZSTD]) + _compressor().compress(raw)


def _compressor() -> zstandard.ZstdCompressor:
    """A compressor for one segment (a few µs to make; a segment holds a batch)."""
    return zstandard.ZstdCompressor(level=_ZSTD_LEVEL)


def decode_frames(data: bytes) -> list[tuple[int, bytes, bytes, bytes]]:
    """(seq, body, hash, mac) of each framed record; SegmentError if ``data`` is not a
    segment."""
    if not data or data[0] not in (ZLIB, STORED, ZSTD):
        raise SegmentError("unknown segment version")
    if data[0] == STORED:
        raw = data[1:]
    elif data[0] == ZSTD:
        raw = _unzstd(data[1:])
    else:
        raw = _inflate(data[1:])
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


def _unzstd(data: bytes) -> bytes:
    try:
        size = zstandard.frame_content_size(data)
        if size < 0 or size > MAX_SEGMENT_BYTES:  # unknown (we always write it), or a bomb
            raise SegmentError("the segment's size is missing or too large")
        return zstandard.ZstdDecompressor().decompress(data, max_output_size=size)
    except zstandard.ZstdError as exc:
        raise SegmentError("the segment does not decompress") from exc


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
