"""The tamper-evident trail: canonical event bytes, the hash chain, MACs and signed digests.

Byte formats are specified in ``docs/formats/audit-chain.md``; golden vectors are in
``tests/vectors/audit/``. In short:

* an event is stored as its canonical JSON (keys sorted, no spaces, UTF-8);
* ``hash[n] = SHA-256("cofre/audit-chain" 0x00 | 0x01 | u64 n | u16 len(prev) | prev |
  u64 len(body) | body)`` with ``prev = hash[n-1]`` (32 zero bytes before the first);
* ``mac[n] = HMAC-SHA-256(K, "cofre/audit-mac" 0x00 | 0x01 | u64 n | hash[n])``, K derived
  from the root key: only Cofre can write a row that verifies, so an attacker who edits a
  body and recomputes every later hash is still named at the first row they touched;
* a digest signs ``"cofre/audit-digest" 0x00 | 0x01 | kind | u64 first | u64 last |
  u8 32 | head hash | i64 time in microseconds`` with Ed25519 (kind 1: the chain head,
  kind 2: the anchor left by pruning).

Integers are big-endian. Everything here is pure: keys and times are arguments.
"""

from __future__ import annotations

import hashlib
import hmac
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import IntEnum
from typing import Any

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)

CHAIN_VERSION = 1
HASH_LEN = 32
GENESIS_HASH = bytes(HASH_LEN)
_CHAIN_DOMAIN = b"cofre/audit-chain\x00"
_MAC_DOMAIN = b"cofre/audit-mac\x00"
_DIGEST_DOMAIN = b"cofre/audit-digest\x00"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


class DigestKind(IntEnum):
    HEAD = 1  # the chain head, signed periodically
    ANCHOR = 2  # where the kept trail starts after pruning


@dataclass(slots=True)  # not frozen: built per record on the hot path
class EventIndex:
    """The columns LookupEvents filters on, all derived from the event body."""

    event_id: str
    account_id: str  # recipientAccountId ("" when no account is known)
    region: str
    event_time: datetime
    event_source: str
    event_name: str
    read_only: bool
    username: str
    access_key_id: str
    resources: tuple[tuple[str, str], ...]  # (ARN, type), in the record's order


@dataclass(slots=True)  # not frozen: built per record on the hot path
class ChainedEvent:
    """One stored row of the trail."""

    seq: int
    body: bytes  # the canonical JSON of the record
    hash: bytes
    mac: bytes
    index: EventIndex


@dataclass(frozen=True, slots=True)
class SignedDigest:
    first_seq: int
    last_seq: int
    head_hash: bytes
    signed_at: datetime
    signature: bytes


@dataclass(frozen=True, slots=True)
class Anchor:
    """Where the kept trail starts: seq 0 and the genesis hash until something is pruned;
    afterwards the last pruned event's (seq, hash), signed as an ANCHOR digest."""

    seq: int = 0
    hash: bytes = GENESIS_HASH
    signed_at: datetime | None = None
    signature: bytes | None = None


@dataclass(frozen=True, slots=True)
class ChainState:
    """The one-row head of the chain that writers lock."""

    head_seq: int
    head_hash: bytes
    anchor: Anchor
    digest_seq: int  # the last seq covered by a HEAD digest


def to_micros(value: datetime) -> int:
    return (value - _EPOCH) // _MICROSECOND


def canonical_json(event: Mapping[str, Any]) -> bytes:
    """Keys sorted (by code point), no insignificant whitespace, UTF-8, no escapes beyond
    what JSON requires."""
    return orjson.dumps(event, option=orjson.OPT_SORT_KEYS)


_CHAIN_BASE = hashlib.sha256(_CHAIN_DOMAIN)  # copied per row: no digest lookup each time
_HEADER = struct.Struct(">BQH")
_LENGTH = struct.Struct(">Q")
_MAC_HEADER = struct.Struct(">BQ")
_SHA256_BLOCK = 64
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


def chain_hash(prev_hash: bytes, seq: int, canonical: bytes) -> bytes:
    if len(prev_hash) != HASH_LEN:
        raise ValueError("the previous hash must be 32 bytes")
    digest = _CHAIN_BASE.copy()
    digest.update(
        b"".join(
            (
                _HEADER.pack(CHAIN_VERSION, seq, HASH_LEN),
                prev_hash,
                _LENGTH.pack(len(canonical)),
                canonical,
            )
        )
    )
    return digest.digest()


class ChainMac:
    """``chain_mac`` under one key: HMAC-SHA256 (RFC 2104) spelt out, with the inner hash
    (over the padded key and the domain) and the outer one (over the padded key) begun
    once, so that each MAC is two copies and two short updates -- half of what the
    ``hmac`` module's ``copy()`` costs per record in the appender's hot loop."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        if len(key) > _SHA256_BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(_SHA256_BLOCK, b"\x00")
        self._inner = hashlib.sha256(key.translate(_IPAD) + _MAC_DOMAIN)
        self._outer = hashlib.sha256(key.translate(_OPAD))

    def __call__(self, seq: int, hash_: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(_MAC_HEADER.pack(CHAIN_VERSION, seq) + hash_)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


@dataclass(frozen=True, slots=True)
class MacKeys:
    """The chain's MAC keys: ``current`` from seq ``since`` on, ``earlier`` before it -- a
    store whose key derivation changed (to HKDF) goes on checking its older records."""

    current: bytes
    since: int = 0
    earlier: bytes | None = None

    def for_seq(self, seq: int) -> bytes:
        if seq >= self.since or self.earlier is None:
            return self.current
        return self.earlier


def chain_mac(key: bytes, seq: int, hash_: bytes) -> bytes:
    message = _MAC_DOMAIN + _MAC_HEADER.pack(CHAIN_VERSION, seq) + hash_
    return hmac.digest(key, message, "sha256")


def digest_message(
    kind: DigestKind, first_seq: int, last_seq: int, head_hash: bytes, time: datetime
) -> bytes:
    """The bytes a digest signs."""
    if len(head_hash) != HASH_LEN:
        raise ValueError("the head hash must be 32 bytes")
    return (
        _DIGEST_DOMAIN
        + struct.pack(">BBQQB", CHAIN_VERSION, kind, first_seq, last_seq, HASH_LEN)
        + head_hash
        + struct.pack(">q", to_micros(time))
    )


def sign_digest(
    private: Ed25519PrivateKey,
    first_seq: int,
    last_seq: int,
    head_hash: bytes,
    time: datetime,
    kind: DigestKind = DigestKind.HEAD,
) -> bytes:
    return private.sign(digest_message(kind, first_seq, last_seq, head_hash, time))


def verify_digest(
    public: Ed25519PublicKey,
    first_seq: int,
    last_seq: int,
    head_hash: bytes,
    time: datetime,
    signature: bytes,
    kind: DigestKind = DigestKind.HEAD,
) -> bool:
    try:
        public.verify(signature, digest_message(kind, first_seq, last_seq, head_hash, time))
    except (InvalidSignature, ValueError):
        return False
    return True


def signing_key(seed: bytes) -> Ed25519PrivateKey:
    """The signing key from its 32-byte seed (what is stored, wrapped)."""
    return Ed25519PrivateKey.from_private_bytes(seed)


def public_key_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def load_public_key(pem: str) -> Ed25519PublicKey:
    key = load_pem_public_key(pem.encode())
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("the audit public key must be an Ed25519 key")
    return key


def _username(identity: Mapping[str, Any]) -> str:
    """LookupEvents' Username: the IAM user, "root", or the role session's name."""
    kind = identity.get("type")
    if kind == "Root":
        return "root"
    if kind == "IAMUser":
        return str(identity.get("userName") or "")
    if kind == "AssumedRole":
        return str(identity.get("arn") or "").rsplit("/", 1)[-1]
    return ""


def parse_time(text: str) -> datetime:
    """An eventTime (``2025-03-14T09:26:53Z``) as an aware datetime."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("eventTime must be in UTC")
    return value.astimezone(UTC)


def whole_second(time: datetime) -> datetime:
    """An index's event time: UTC, to the second (as the record's eventTime)."""
    if time.tzinfo is UTC:  # what the clocks give: no conversion
        return time.replace(microsecond=0)
    if time.tzinfo is None:
        time = time.replace(tzinfo=UTC)
    return time.astimezone(UTC).replace(microsecond=0)


def index_event(event: Mapping[str, Any], time: datetime | None = None) -> EventIndex:
    """The lookup columns of a record (ValueError/KeyError/TypeError if it is not one).
    ``time``: the time the record was built from (its eventTime is that, to the second)."""
    identity = event.get("userIdentity") or {}
    resources = tuple(
        (str(r.get("ARN", "")), str(r.get("type", ""))) for r in event.get("resources") or ()
    )
    return EventIndex(
        event_id=str(event["eventID"]),
        account_id=str(event.get("recipientAccountId") or ""),
        region=str(event.get("awsRegion") or ""),
        event_time=parse_time(event["eventTime"]) if time is None else whole_second(time),
        event_source=str(event["eventSource"]),
        event_name=str(event["eventName"]),
        read_only=bool(event.get("readOnly")),
        username=_username(identity),
        access_key_id=str(identity.get("accessKeyId") or ""),
        resources=resources,
    )


def index_body(body: bytes) -> EventIndex | None:
    """The lookup columns of stored bytes; None when they are not a record."""
    try:
        event = orjson.loads(body)
        return index_event(event) if isinstance(event, dict) else None
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        return None
