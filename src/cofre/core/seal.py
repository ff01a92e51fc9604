"""The root of trust's formats: the seal record a store keeps, and the text of a Shamir
share an operator holds (docs/formats/seal.md). Pure: no I/O, no randomness.

The hierarchy::

    seal (a file, Shamir shares, an HSM key, another KMS)
      └─ root key R         (never stored in the clear; the seal protects it)
          └─ keyring key K  (stored wrapped under R: ``SealRecord.keyring``)
              └─ key material, secret access keys, webhook secrets, ... (wrapped under K)

For the ``shamir`` seal the shares rebuild an unseal key U, which wraps R
(``SealRecord.sealed_root``); for ``pkcs11`` a key inside the HSM wraps R; for ``kms``
another KMS does. Rotating the root key rewraps only K; issuing new shares rewraps only R.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from cofre.errors import SealError

SEAL_TYPES = ("file", "shamir", "pkcs11", "kms")
RECORD_VERSION = 1
KEYRING_AAD = b"cofre/keyring/v1"
SHARE_VERSION = 1
SHARE_BYTES = 32
_SHARE_LAYOUT = 1 + 1 + 1 + 8 + SHARE_BYTES  # version, threshold, index, set id, y
_CHECK_BYTES = 5


def sealed_root_aad(seal_type: str, set_id: bytes = b"") -> bytes:
    """Associated data of the root key wrapped by a seal: bound to the seal and share set."""
    return b"cofre/sealed-root/v1\x00" + seal_type.encode() + b"\x00" + set_id


@dataclass(frozen=True, slots=True)
class ShamirSet:
    """What a store keeps of its shares: enough to check one, nothing to rebuild any."""

    set_id: bytes  # 8 random bytes naming this set of shares
    threshold: int
    shares: int
    digests: dict[int, bytes] = field(default_factory=dict)  # index -> share_digest()


@dataclass(frozen=True, slots=True)
class SealRecord:
    """A store's root of trust, kept in its database (``meta`` row ``seal``)."""

    seal_type: str
    keyring: bytes  # K wrapped under R (``cofre.core.crypto.wrap``, ``KEYRING_AAD``)
    sealed_root: bytes = b""  # R wrapped by the seal (empty for ``file``: R is in a file)
    shamir: ShamirSet | None = None
    params: dict[str, str] = field(default_factory=dict)  # pkcs11 labels, kms key id ...

    def with_root(self, keyring: bytes, sealed_root: bytes) -> SealRecord:
        """The record after the root key changed (same seal)."""
        return SealRecord(self.seal_type, keyring, sealed_root, self.shamir, self.params)


def encode_record(record: SealRecord) -> str:
    document: dict[str, Any] = {
        "v": RECORD_VERSION,
        "type": record.seal_type,
        "keyring": _b64(record.keyring),
        "sealed_root": _b64(record.sealed_root),
        "params": dict(record.params),
    }
    if record.shamir is not None:
        document["shamir"] = {
            "set_id": _b64(record.shamir.set_id),
            "threshold": record.shamir.threshold,
            "shares": record.shamir.shares,
            "digests": {str(i): _b64(d) for i, d in sorted(record.shamir.digests.items())},
        }
    return json.dumps(document, sort_keys=True)


def decode_record(text: str) -> SealRecord:
    """The record ``text`` holds; ``SealError`` if it is not one."""
    try:
        document = json.loads(text)
        if not isinstance(document, dict) or not isinstance(document.get("params", {}), dict):
            raise SealError("the store's seal record is damaged")
        if document.get("v") != RECORD_VERSION or document.get("type") not in SEAL_TYPES:
            raise SealError("the store's seal record is of an unknown version or type")
        shamir = None
        if "shamir" in document:
            raw = document["shamir"]
            shamir = ShamirSet(
                _unb64(raw["set_id"]),
                int(raw["threshold"]),
                int(raw["shares"]),
                {int(i): _unb64(d) for i, d in raw["digests"].items()},
            )
        return SealRecord(
            document["type"],
            _unb64(document["keyring"]),
            _unb64(document.get("sealed_root", "")),
            shamir,
            {str(k): str(v) for k, v in document.get("params", {}).items()},
        )
    except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
        raise SealError("the store's seal record is damaged") from exc


# Shamir shares --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Share:
    """One operator's share: a point (index, y) of the polynomials that hide U."""

    index: int  # 1..255
    threshold: int
    set_id: bytes
    y: bytes  # 32 bytes: two GF(2^128) halves


def encode_share(share: Share) -> str:
    """The text an operator keeps: base64 of version | threshold | index | set id | y |
    a 5-byte checksum (typing errors, not security)."""
    body = bytes((SHARE_VERSION, share.threshold, share.index)) + share.set_id + share.y
    return base64.b64encode(body + _checksum(body)).decode()


def decode_share(text: str) -> Share:
    """The share ``text`` holds (whitespace ignored); ``SealError`` naming what is wrong."""
    compact = "".join(text.split())
    try:
        raw = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise SealError(
            "an unseal key is base64 text, as `cofre operator init` printed it"
        ) from exc
    if len(raw) != _SHARE_LAYOUT + _CHECK_BYTES or raw[0] != SHARE_VERSION:
        raise SealError("that is not an unseal key of this version (wrong length or version)")
    body, check = raw[:_SHARE_LAYOUT], raw[_SHARE_LAYOUT:]
    if _checksum(body) != check:
        raise SealError("the unseal key's checksum does not match: a character is wrong")
    threshold, index = body[1], body[2]
    if index == 0 or threshold < 1:
        raise SealError("the unseal key is malformed")
    return Share(index, threshold, body[3:11], body[11:])


def share_digest(set_id: bytes, index: int, y: bytes) -> bytes:
    """What the store keeps to check a share (SHA-256; it cannot rebuild the share)."""
    return hashlib.sha256(b"cofre/shamir-digest/v1" + set_id + bytes((index,)) + y).digest()


def _checksum(body: bytes) -> bytes:
    return hashlib.sha256(b"cofre/shamir-share/v1" + body).digest()[:_CHECK_BYTES]


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)
