"""Records by template equal records built from scratch, byte for byte, whatever the call;
segments give back what was put in them, and refuse what is not a segment."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import zstandard
from botocore.loaders import Loader
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cofre.core.audit.chain import (
    ChainedEvent,
    ChainMac,
    EventIndex,
    canonical_json,
    chain_hash,
    index_event,
    to_micros,
)
from cofre.core.audit.events import SERVICE_EVENT, AuditCall, build_event, key_usages
from cofre.core.audit.redact import ModelRedactor
from cofre.core.audit.segment import (
    SegmentError,
    chain_segment,
    decode_segment,
    encode_segment,
)
from cofre.core.audit.template import EventTemplates, JournalRecords
from cofre.core.iam.principals import Caller

ACCOUNT = "111122223333"
OTHER = "444455556666"
REGION = "eu-west-1"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OTHER_KEY = f"arn:aws:kms:{REGION}:{OTHER}:key/0987dcba-09fe-87dc-65ba-ab0987654321"
MODELS: dict[str, Mapping[str, Any]] = {
    name: Loader().load_service_model(name, "service-2") for name in ("kms", "ssm")
}
NONCE = "0123456789abcdef"

text = st.text(max_size=30)  # any code points, lone surrogates and control characters too
callers = st.builds(
    Caller,
    account_id=st.sampled_from([ACCOUNT, OTHER]),
    principal_arn=st.sampled_from(
        [f"arn:aws:iam::{ACCOUNT}:root", f"arn:aws:iam::{ACCOUNT}:user/al\u00efce"]
    ),
    access_key_id=st.sampled_from(["AKIAONE", "AKIATWO"]),
    region=st.just(REGION),
    source_ip=st.sampled_from(["127.0.0.1", "::1"]),
    user_agent=st.one_of(  # posing as a marker; or as a % format (templates are forms)
        text, st.just(f"\x00{NONCE}:eventID"), st.just("agent %s %% %b %(x)s %")
    ),
    user_name=st.one_of(st.none(), text),
    principal_id=st.sampled_from(["", "AIDAEXAMPLE"]),
    role_arn=st.one_of(st.none(), st.just(f"arn:aws:iam::{ACCOUNT}:role/Admin")),
)
operations = st.sampled_from(
    [("kms", "Encrypt"), ("kms", "CreateKey"), ("kms", "Decrypt"), ("ssm", "PutParameter")]
)


@st.composite
def calls(draw: st.DrawFn) -> AuditCall:
    service, operation = draw(operations)
    params: dict[str, Any] = {
        "KeyId": draw(st.sampled_from([KEY, "alias/x"])),
        "EncryptionContext": draw(st.dictionaries(text, text, max_size=3)),
        "Plaintext": b"secret",
        "Description": draw(text),
        "Name": draw(text),
        "Value": "secret",
    }
    error = draw(st.one_of(st.none(), st.sampled_from(["AccessDeniedException", "Boom"])))
    return AuditCall(
        time=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
        + timedelta(microseconds=draw(st.integers(0, 10**8))),
        service=service,
        operation=operation,
        region=REGION,
        caller=draw(st.one_of(st.none(), callers)),
        request_id=draw(st.sampled_from(["", "req-1", "r\u00e9q"])),
        params=params,
        output={"KeyId": KEY, "KeyMetadata": {"Arn": KEY, "Description": draw(text)}},
        error_code=error,
        error_message=None if error is None else draw(text),
        resources=tuple(draw(st.lists(st.sampled_from([KEY, OTHER_KEY]), max_size=2))),
        event_type=draw(st.sampled_from(["AwsApiCall", SERVICE_EVENT])),
        access_key_id=draw(st.sampled_from(["", "AKIATRIED"])),
        account_id=draw(st.sampled_from([None, ACCOUNT])),
    )


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(first=calls(), second=calls(), event_id=st.sampled_from(["e-1", "e\u00e9"]))
def test_a_template_renders_exactly_what_build_event_builds(
    first: AuditCall, second: AuditCall, event_id: str
) -> None:
    redactor = ModelRedactor(MODELS.get)
    templates = EventTemplates(redactor, NONCE)
    for call in (first, second, first):  # the second render of ``first`` uses its template
        recipient = call.owner_account
        rendered = templates.render(call, event_id, recipient)
        event = build_event(call, event_id, redactor=redactor, recipient=recipient)
        if rendered is None:
            continue
        assert rendered.body == canonical_json(event)
        assert rendered.index == index_event(event, call.time)
        assert rendered.usages == key_usages(call, event_id, recipient)
        records = JournalRecords()  # the journal's form of the same record
        assert templates.render_into(records, call, event_id, recipient, 1 << 20)
        index = rendered.index
        assert records.bodies == [rendered.body]
        assert records.entries == [
            [index.account_id, index.region, to_micros(index.event_time), event_id,
             len(rendered.body)]
        ]  # fmt: skip
        assert records.usages == [
            [u.key_arn, u.operation, to_micros(u.time), u.event_id, u.request_id]
            for u in rendered.usages
        ]
        assert not templates.render_into(records, call, event_id, recipient, 10)
        assert len(records.bodies) == 1  # a record too long is not added


def test_calls_with_extra_data_take_the_general_path() -> None:
    call = AuditCall(datetime.now(UTC), "kms", "RotateKey", REGION, None, "r", extra={"keyId": "k"})
    assert EventTemplates(ModelRedactor(MODELS.get), NONCE).render(call, "e", ACCOUNT) is None


def _event(seq: int, body: bytes) -> ChainedEvent:
    call = AuditCall(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=seq), "kms",
                     "Encrypt", REGION, None, account_id=ACCOUNT)  # fmt: skip
    event = build_event(call, f"e{seq}")
    return ChainedEvent(seq, body or canonical_json(event), bytes([seq]) * 32,
                        bytes([seq + 1]) * 32, index_event(event))  # fmt: skip


def test_a_segment_gives_back_its_records() -> None:
    events = [_event(seq, b"") for seq in range(5, 9)]
    segment = encode_segment(events)
    assert (segment.first_seq, segment.last_seq) == (5, 8)
    assert [(a.account_id, a.region) for a in segment.accounts] == [(ACCOUNT, REGION)]
    assert segment.data[0] == 2  # small: stored
    assert decode_segment(segment.data) == events
    many = [_event(seq, b"") for seq in range(1, 200)]
    big = encode_segment(many)
    assert big.data[0] == 3 and len(big.data) < sum(len(e.body) for e in many) / 4  # zstd
    assert decode_segment(big.data) == many
    old = b"\x01" + zlib.compress(_frames(many))  # written before zstd: still read
    assert decode_segment(old) == many


def _frames(events: list[ChainedEvent]) -> bytes:
    return b"".join(
        struct.pack(">QI", e.seq, len(e.body)) + e.hash + e.mac + e.body for e in events
    )


@settings(max_examples=50)
@given(
    count=st.integers(1, 120),
    first=st.integers(1, 2**40),
    accounts=st.lists(
        st.sampled_from([("", ""), (ACCOUNT, REGION), ("444455556666", "eu-west-1")]), min_size=1
    ),
)
def test_chain_segment_is_chaining_then_encode_segment(
    count: int, first: int, accounts: list[tuple[str, str]]
) -> None:
    mac = ChainMac(b"k" * 32)
    bodies = [b'{"n":%d,"pad":"%s"}' % (n, b"x" * (n * 37 % 300)) for n in range(count)]
    times = [1_767_225_600_000_000 + (n * 7919 % 50) * 1_000_000 for n in range(count)]
    where = [accounts[n % len(accounts)] for n in range(count)]
    prev = b"\x07" * 32
    segment, head = chain_segment(prev, first, bodies, times, where, mac)
    events = []
    for n, body in enumerate(bodies):
        seq = first + n
        prev = chain_hash(prev, seq, body)
        when = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=times[n])
        index = EventIndex("", where[n][0], where[n][1], when, "", "", False, "", "", ())
        events.append(ChainedEvent(seq, body, prev, mac(seq, prev), index))
    expected = encode_segment(events)
    assert head == prev
    assert (segment.first_seq, segment.last_seq) == (expected.first_seq, expected.last_seq)
    assert (segment.first_time, segment.last_time) == (expected.first_time, expected.last_time)
    assert sorted(segment.accounts, key=str) == sorted(expected.accounts, key=str)
    assert [(e.seq, e.body, e.hash, e.mac) for e in decode_segment(segment.data)] == [
        (e.seq, e.body, e.hash, e.mac) for e in events
    ]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x02" + zlib.compress(b""),
        b"\x01not zlib",
        b"\x01" + zlib.compress(b"\x00" * 20),
        b"\x03not zstd",
        b"\x03" + zstandard.ZstdCompressor().compress(b"\x00" * 20),
        b"\x03" + zstandard.ZstdCompressor(write_content_size=False).compress(b"x" * 100),
        b"\x04",
    ],
)
def test_what_is_not_a_segment_is_refused(data: bytes) -> None:
    with pytest.raises(SegmentError):
        decode_segment(data)
