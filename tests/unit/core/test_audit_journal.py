"""The audit journal's frames: what is written reads back, and a frame cut short or
garbled is told apart from a whole one."""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cofre.core.audit_journal import (
    JournalBatch,
    Stop,
    decode_frames,
    encode_frame,
    frame_length,
)
from cofre.core.audit_template import JournalRecords

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"


def _records(count: int, start: int = 0) -> JournalRecords:
    out = JournalRecords()
    for n in range(start, start + count):
        body = b'{"eventID":"e%d","pad":"%s"}' % (n, b"x" * (n % 7))
        out.bodies.append(body)
        out.entries.append(["111122223333", "eu-west-1", n * 1_000_000, f"e{n}", len(body)])
        out.usages.append([KEY, "Encrypt", n * 1_000_000 + 5, f"e{n}", f"r{n}"])
    return out


def test_frames_read_back_in_order_with_the_latest_key_use() -> None:
    data = encode_frame(_records(3)) + encode_frame(_records(2, start=3))
    batch, used, stop = decode_frames(data)
    assert (used, stop) == (len(data), Stop.END)
    assert batch.bodies == _records(5).bodies
    assert batch.times == [n * 1_000_000 for n in range(5)]
    assert batch.accounts == [("111122223333", "eu-west-1")] * 5
    [usage] = batch.usages.values()  # one key: its latest use only
    assert (usage.event_id, usage.request_id) == ("e4", "r4")
    assert usage.time == EPOCH + timedelta(microseconds=4_000_005)


@settings(max_examples=60)
@given(cut=st.integers(min_value=1, max_value=200))
def test_a_frame_cut_short_is_partial_and_the_whole_ones_before_it_count(cut: int) -> None:
    first, second = encode_frame(_records(2)), encode_frame(_records(3, start=2))
    data = first + second[: max(0, len(second) - cut)]
    batch, used, stop = decode_frames(data)
    assert (used, stop) == (len(first), Stop.PARTIAL)
    assert len(batch.bodies) == 2


@pytest.mark.parametrize("position", [0, 2, 8, 12, 20, -1])  # not the length
def test_a_garbled_frame_is_corrupt(position: int) -> None:
    first, second = encode_frame(_records(1)), bytearray(encode_frame(_records(2, start=1)))
    second[position] ^= 0x40
    batch, used, stop = decode_frames(first + bytes(second))
    assert (used, stop) == (len(first), Stop.CORRUPT)
    assert len(batch.bodies) == 1


def _frame(meta: bytes, bodies: bytes) -> bytes:
    payload = struct.pack(">I", len(meta)) + meta + bodies
    return b"CJ\x01" + struct.pack(">II", len(payload), zlib.crc32(payload)) + payload


@pytest.mark.parametrize(
    ("meta", "bodies"),
    [
        (b'[[["a","r",1,"e",10]],[]]', b"{}"),  # a body longer than the frame
        (b'[[["a","r",1,"e",2]],[]]', b"{}{}"),  # bytes after the last body
        (b'[[["a","r","1","e",2]],[]]', b"{}"),  # a time that is not a number
        (b'[[["a","r",1,"e",2]],[["k","Encrypt",1,"e"]]]', b"{}"),  # a short key usage
        (b"not json", b""),
    ],
)
def test_a_frame_whose_meta_does_not_fit_is_corrupt(meta: bytes, bodies: bytes) -> None:
    good = _frame(b'[[["a","r",1,"e",2]],[]]', b"{}")
    assert decode_frames(good)[1:] == (len(good), Stop.END)
    batch, used, stop = decode_frames(good + _frame(meta, bodies))
    assert (used, stop, batch.bodies) == (len(good), Stop.CORRUPT, [b"{}"])


def test_frame_length_needs_the_header() -> None:
    frame = encode_frame(_records(4))
    assert frame_length(frame[:5]) is None
    assert frame_length(frame[:11]) == len(frame)


def test_note_uses_keeps_each_keys_latest() -> None:
    batch = JournalBatch()
    batch.note_uses([[KEY, "Encrypt", 10, "a", "ra"], [KEY, "Decrypt", 30, "b", "rb"]])
    batch.note_uses([[KEY, "Sign", 20, "c", "rc"], ["other", "Encrypt", 1, "d", "rd"]])
    assert {arn: use.event_id for arn, use in batch.usages.items()} == {KEY: "b", "other": "d"}
