"""The audit journal's frames: what is written reads back, and a frame cut short or
garbled is told apart from a whole one. Frames of calls (version 2) are what is written;
frames of records (version 1, earlier versions) are still read."""

from __future__ import annotations

import dataclasses
import struct
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cofre.core.audit.contexts import Contexts, ContextTexts, call_entry, context_text
from cofre.core.audit.events import AuditCall
from cofre.core.audit.journal import (
    CALLS,
    JournalBatch,
    Stop,
    decode_frames,
    encode_calls,
    encode_records,
    frame_length,
)
from cofre.core.audit.template import JournalRecords
from cofre.core.iam.principals import Caller

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
T0 = datetime(2026, 3, 14, 9, 26, 53, 589_793, tzinfo=UTC)
KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROLE = Caller(
    "111122223333", "arn:aws:sts::111122223333:assumed-role/app/s", "ASIAEXAMPLE",
    "eu-west-1", "127.0.0.1", "tests/1.0", True, None, None, "AROAEXAMPLE:s",
    "arn:aws:iam::111122223333:role/app",
)  # fmt: skip


def _call(n: int, **changes: Any) -> AuditCall:
    call = AuditCall(
        T0 + timedelta(microseconds=n), "kms", "Encrypt", "eu-west-1", ROLE, f"req-{n}",
        params={"keyId": KEY, "encryptionContext": {"n": str(n)}}, resources=(KEY,),
        session_created_at=T0 - timedelta(hours=1), redacted=True,
    )  # fmt: skip
    return dataclasses.replace(call, **changes)


def _entries(count: int, start: int = 0) -> list[list[Any]]:
    return [call_entry(_call(n), _call(n).params) for n in range(start, start + count)]  # type: ignore[arg-type]


def test_calls_read_back_whole_and_in_order() -> None:
    data = encode_calls(_entries(3)) + encode_calls(_entries(2, start=3))
    batch, used, stop = decode_frames(data)
    assert (used, stop, len(batch)) == (len(data), Stop.END, 5)
    assert [journaled.whole() for journaled in batch.calls] == [_call(n) for n in range(5)]
    assert batch.calls[0].context is batch.calls[4].context  # parsed once
    assert batch.calls[0].context.accounts == ("111122223333",)


@pytest.mark.parametrize(
    "changes",
    [
        {"caller": None, "access_key_id": "AKIAUNKNOWN", "account_id": "444455556666"},
        {"error_code": "AccessDeniedException", "error_message": "denied: ünïcode"},
        {"operation": "GetParameter", "service": "ssm", "resources": (), "params": None},
        {"read_only": True, "session_created_at": None, "extra": {"note": [1, "x"]}},
    ],
)
def test_every_field_of_a_call_reads_back(changes: dict[str, Any]) -> None:
    call = _call(7, **changes)
    [journaled] = decode_frames(encode_calls([call_entry(call, call.params)]))[0].calls  # type: ignore[arg-type]
    assert journaled.whole() == call


def test_calls_whose_record_logs_a_response_are_not_journaled() -> None:
    with pytest.raises(ValueError, match="journaled"):
        call_entry(_call(1, operation="CreateKey"), None)
    call_entry(_call(1, operation="CreateKey", error_code="LimitExceededException"), None)


@settings(max_examples=60)
@given(cut=st.integers(min_value=1, max_value=200))
def test_a_frame_cut_short_is_partial_and_the_whole_ones_before_it_count(cut: int) -> None:
    first, second = encode_calls(_entries(2)), encode_calls(_entries(3, start=2))
    data = first + second[: max(0, len(second) - cut)]
    batch, used, stop = decode_frames(data)
    assert (used, stop, len(batch)) == (len(first), Stop.PARTIAL, 2)


@pytest.mark.parametrize("position", [0, 2, 8, 12, 20, -1])  # not the length
def test_a_garbled_frame_is_corrupt(position: int) -> None:
    first, second = encode_calls(_entries(1)), bytearray(encode_calls(_entries(2, start=1)))
    second[position] ^= 0x40
    batch, used, stop = decode_frames(first + bytes(second))
    assert (used, stop, len(batch)) == (len(first), Stop.CORRUPT, 1)


def _raw(version: int, payload: bytes) -> bytes:
    return b"CJ" + struct.pack(">BII", version, len(payload), zlib.crc32(payload)) + payload


_GOOD = _entries(1)[0]


@pytest.mark.parametrize(
    "entries",
    [
        [],  # no calls
        {"a": 1},  # not a list
        [[_GOOD[0], _GOOD[1], _GOOD[2], _GOOD[3]]],  # a field missing
        [[_GOOD[0], str(_GOOD[1]), *_GOOD[2:]]],  # a time that is not a number
        [[_GOOD[0], -1, *_GOOD[2:]]],  # a time before the epoch
        [[_GOOD[0], _GOOD[1], 7, *_GOOD[3:]]],  # a request id that is not text
        [[*_GOOD[:3], ["keyId"], _GOOD[4]]],  # parameters that are not an object
        [["[1,2]", *_GOOD[1:]]],  # a context that is not one
        [[_GOOD[0].replace('"kms"', "5"), *_GOOD[1:]]],  # a service that is not text
        [[_GOOD[0].replace('"111122223333",', "", 1), *_GOOD[1:]]],  # a short caller
    ],
)
def test_a_frame_of_malformed_calls_is_corrupt(entries: Any) -> None:
    good = encode_calls(_entries(1))
    batch, used, stop = decode_frames(good + _raw(CALLS, orjson.dumps(entries)))
    assert (used, stop, len(batch)) == (len(good), Stop.CORRUPT, 1)


def _records(count: int, start: int = 0) -> JournalRecords:
    out = JournalRecords()
    for n in range(start, start + count):
        body = b'{"eventID":"e%d","pad":"%s"}' % (n, b"x" * (n % 7))
        out.bodies.append(body)
        out.entries.append(["111122223333", "eu-west-1", n * 1_000_000, f"e{n}", len(body)])
        out.usages.append([KEY, "Encrypt", n * 1_000_000 + 5, f"e{n}", f"r{n}"])
    return out


def test_records_of_earlier_versions_read_back_with_the_latest_key_use() -> None:
    data = encode_records(_records(3)) + encode_records(_records(2, start=3))
    batch, used, stop = decode_frames(data)
    assert (used, stop, len(batch)) == (len(data), Stop.END, 5)
    assert batch.bodies == _records(5).bodies
    assert batch.times == [n * 1_000_000 for n in range(5)]
    assert batch.accounts == [("111122223333", "eu-west-1")] * 5
    [usage] = batch.usages.values()  # one key: its latest use only
    assert (usage.event_id, usage.request_id) == ("e4", "r4")
    assert usage.time == EPOCH + timedelta(microseconds=4_000_005)


def test_a_batch_holds_frames_of_one_version() -> None:
    records, calls = encode_records(_records(2)), encode_calls(_entries(2))
    batch, used, stop = decode_frames(records + calls)
    assert (used, stop, len(batch.bodies), batch.calls) == (len(records), Stop.END, 2, [])
    batch, used, stop = decode_frames(calls + records)
    assert (used, stop, len(batch.calls), batch.bodies) == (len(calls), Stop.END, 2, [])


def _frame(meta: bytes, bodies: bytes) -> bytes:
    return _raw(1, struct.pack(">I", len(meta)) + meta + bodies)


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
    frame = encode_calls(_entries(4))
    assert frame_length(frame[:5]) is None
    assert frame_length(frame[:11]) == len(frame)


def test_note_uses_keeps_each_keys_latest() -> None:
    batch = JournalBatch()
    batch.note_uses([[KEY, "Encrypt", 10, "a", "ra"], [KEY, "Decrypt", 30, "b", "rb"]])
    batch.note_uses([[KEY, "Sign", 20, "c", "rc"], ["other", "Encrypt", 1, "d", "rd"]])
    assert {arn: use.event_id for arn, use in batch.usages.items()} == {KEY: "b", "other": "d"}


def test_contexts_are_bounded() -> None:
    contexts = Contexts(limit=2)
    texts = [entry[0] for entry in (call_entry(_call(n, region=f"r-{n}"), None) for n in range(3))]
    first = contexts(texts[0])
    assert contexts(texts[0]) is first
    contexts(texts[1]), contexts(texts[2])  # the cache was emptied on the way
    assert contexts(texts[0]) is not first and contexts(texts[0]) == first


def test_context_texts_are_the_contexts_of_their_calls() -> None:
    texts = ContextTexts(limit=3)
    calls = [
        _call(1),
        _call(2),  # another call of the same context
        _call(3, caller=dataclasses.replace(ROLE, user_agent="other/2.0")),
        _call(4, error_code="AccessDeniedException", error_message="no"),
        _call(5, extra={"note": "x"}),
        _call(6, resources=[KEY]),  # a list rather than a tuple
    ]
    for call in calls * 2:  # the second time round from the cache (or after emptying it)
        assert texts(call) == context_text(call)
    assert texts(calls[0]) is texts(calls[1])
    assert len({texts(call) for call in calls}) == 4
