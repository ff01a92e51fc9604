"""Golden vectors of the audit chain (docs/formats/audit-chain.md), checked by a second
construction written from the format page, and Cofre's own functions against them."""

from __future__ import annotations

import hashlib
import hmac
import json
import struct
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from hypothesis import given
from hypothesis import strategies as st

from cofre.core.audit.chain import (
    GENESIS_HASH,
    ChainMac,
    DigestKind,
    canonical_json,
    chain_hash,
    chain_mac,
    digest_message,
    load_public_key,
    public_key_pem,
    sign_digest,
    signing_key,
    verify_digest,
)
from tests.support.vectors import VECTORS as VECTOR_DIR

VECTORS = json.loads((VECTOR_DIR / "audit" / "audit-chain-v1.json").read_text("utf-8"))
EVENTS = VECTORS["events"]
DIGESTS = VECTORS["digests"]


# the second construction: stdlib only, from the format page ---------------------------------
def _canonical(event: Any) -> bytes:
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _hash(prev: bytes, seq: int, body: bytes) -> bytes:
    data = b"cofre/audit-chain\x00" + bytes([1]) + struct.pack(">Q", seq)
    data += struct.pack(">H", len(prev)) + prev + struct.pack(">Q", len(body)) + body
    return hashlib.sha256(data).digest()


def _mac(key: bytes, seq: int, hash_: bytes) -> bytes:
    return hmac.new(
        key, b"cofre/audit-mac\x00\x01" + struct.pack(">Q", seq) + hash_, "sha256"
    ).digest()


def _message(kind: int, first: int, last: int, head: bytes, micros: int) -> bytes:
    return (
        b"cofre/audit-digest\x00"
        + bytes([1, kind])
        + struct.pack(">QQ", first, last)
        + bytes([32])
        + head
        + struct.pack(">q", micros)
    )


@pytest.mark.parametrize("vector", EVENTS, ids=[f"seq{v['seq']}" for v in EVENTS])
def test_event_vector_independent(vector: dict[str, Any]) -> None:
    body = _canonical(vector["event"])
    assert body == vector["canonical"].encode("utf-8")
    hash_ = _hash(bytes.fromhex(vector["prevHash"]), vector["seq"], body)
    assert hash_.hex() == vector["hash"]
    assert _mac(bytes.fromhex(VECTORS["macKey"]), vector["seq"], hash_).hex() == vector["mac"]


def test_vectors_form_a_chain() -> None:
    prev = GENESIS_HASH.hex()
    for vector in EVENTS:
        assert vector["prevHash"] == prev
        prev = vector["hash"]


@pytest.mark.parametrize("vector", EVENTS, ids=[f"seq{v['seq']}" for v in EVENTS])
def test_event_vector_cofre(vector: dict[str, Any]) -> None:
    body = canonical_json(vector["event"])
    assert body.decode("utf-8") == vector["canonical"]
    hash_ = chain_hash(bytes.fromhex(vector["prevHash"]), vector["seq"], body)
    assert hash_.hex() == vector["hash"]
    assert chain_mac(bytes.fromhex(VECTORS["macKey"]), vector["seq"], hash_).hex() == vector["mac"]


@pytest.mark.parametrize(
    "vector", DIGESTS, ids=[f"kind{d['kind']}-{d['lastSeq']}" for d in DIGESTS]
)
def test_digest_vector_independent(vector: dict[str, Any]) -> None:
    message = _message(
        vector["kind"],
        vector["firstSeq"],
        vector["lastSeq"],
        bytes.fromhex(vector["headHash"]),
        vector["timeMicros"],
    )
    assert message.hex() == vector["message"]
    public = load_pem_public_key(VECTORS["publicKeyPem"].encode())
    assert isinstance(public, Ed25519PublicKey)
    public.verify(bytes.fromhex(vector["signature"]), message)  # raises if wrong


@pytest.mark.parametrize(
    "vector", DIGESTS, ids=[f"kind{d['kind']}-{d['lastSeq']}" for d in DIGESTS]
)
def test_digest_vector_cofre(vector: dict[str, Any]) -> None:
    private = signing_key(bytes.fromhex(VECTORS["signingSeed"]))
    assert public_key_pem(private.public_key()) == VECTORS["publicKeyPem"]
    time = datetime.fromisoformat(vector["time"])
    kind = DigestKind(vector["kind"])
    head = bytes.fromhex(vector["headHash"])
    first, last = vector["firstSeq"], vector["lastSeq"]
    assert digest_message(kind, first, last, head, time).hex() == vector["message"]
    signature = sign_digest(private, first, last, head, time, kind)
    assert signature.hex() == vector["signature"]  # Ed25519 is deterministic
    public = load_public_key(VECTORS["publicKeyPem"])
    assert verify_digest(public, first, last, head, time, signature, kind)
    other = DigestKind.HEAD if kind is DigestKind.ANCHOR else DigestKind.ANCHOR
    assert not verify_digest(public, first, last, head, time, signature, other)
    assert not verify_digest(public, first, last + 1, head, time, signature, kind)
    assert not verify_digest(
        public, first, last, head, time + timedelta(microseconds=1), signature, kind
    )
    assert not verify_digest(public, first, last, bytes(32), time, signature, kind)
    assert not verify_digest(public, first, last, head, time, signature[:-1] + b"\x00", kind)


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(), _JSON, max_size=6))
def test_canonical_json_matches_the_stdlib_construction(event: dict[str, Any]) -> None:
    """orjson (Cofre) and json (the format page) agree on every record Cofre can write:
    strings, integers, booleans, null, lists and objects (no floats in records)."""
    try:
        ours = canonical_json(event)
    except TypeError:  # lone surrogates: Cofre cleans text before it gets here
        return
    assert ours == _canonical(event)


@given(
    st.binary(max_size=200),
    st.integers(min_value=0, max_value=2**64 - 1),
    st.binary(min_size=32, max_size=32),
)
def test_chain_mac_object_is_hmac_sha256(key: bytes, seq: int, hash_: bytes) -> None:
    """The appender's ChainMac (HMAC spelt out over pre-begun hashes) gives exactly the
    stdlib's HMAC of the format page's message, for keys shorter and longer than a block."""
    message = b"cofre/audit-mac\x00" + struct.pack(">BQ", 1, seq) + hash_
    expected = hmac.new(key, message, hashlib.sha256).digest()
    assert ChainMac(key)(seq, hash_) == expected == chain_mac(key, seq, hash_)


def test_chain_hash_is_bound_to_position_and_predecessor() -> None:
    body = b'{"a":1}'
    one = chain_hash(GENESIS_HASH, 1, body)
    assert chain_hash(GENESIS_HASH, 2, body) != one
    assert chain_hash(b"\x01" * 32, 1, body) != one
    assert chain_hash(GENESIS_HASH, 1, body + b" ") != one
    with pytest.raises(ValueError, match="32 bytes"):
        chain_hash(b"short", 1, body)


def test_times_are_utc_microseconds() -> None:
    moment = datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    message = digest_message(DigestKind.HEAD, 1, 2, bytes(32), moment)
    assert struct.unpack(">q", message[-8:])[0] == int(moment.timestamp()) * 1_000_000 + 6
