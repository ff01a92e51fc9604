"""Encryption context serialisation (framework/structures.md#serialization)."""

from __future__ import annotations

import struct
from collections.abc import Mapping

from cofre.esdk.errors import ConfigurationError, DecryptError

RESERVED_PREFIX = "aws-crypto-"
PUBLIC_KEY_FIELD = "aws-crypto-public-key"
_U16 = 0xFFFF


def serialize_encryption_context(context: Mapping[str, str]) -> bytes:
    """Count, then (key length, key, value length, value) sorted by key bytes; empty -> b""."""
    # structures.md#serialization: an empty context serialises to an empty byte sequence
    if not context:
        return b""
    pairs = sorted((k.encode("utf-8"), v.encode("utf-8")) for k, v in context.items())
    if len(pairs) > _U16:
        raise ConfigurationError("encryption context has too many entries")
    out = bytearray(struct.pack(">H", len(pairs)))
    for key, value in pairs:
        if len(key) > _U16 or len(value) > _U16:
            raise ConfigurationError("encryption context entry is too long")
        out += struct.pack(">H", len(key)) + key + struct.pack(">H", len(value)) + value
    if len(out) > _U16:
        raise ConfigurationError("serialised encryption context exceeds 65535 bytes")
    return bytes(out)


def deserialize_encryption_context(data: bytes) -> dict[str, str]:
    """Inverse of :func:`serialize_encryption_context`; DecryptError on any malformation."""
    if not data:
        return {}
    try:
        (count,) = struct.unpack_from(">H", data, 0)
        pos = 2
        result: dict[str, str] = {}
        for _ in range(count):
            (klen,) = struct.unpack_from(">H", data, pos)
            key = data[pos + 2 : pos + 2 + klen]
            pos += 2 + klen
            (vlen,) = struct.unpack_from(">H", data, pos)
            value = data[pos + 2 : pos + 2 + vlen]
            pos += 2 + vlen
            if len(key) != klen or len(value) != vlen:
                raise DecryptError("malformed message: truncated encryption context")
            k = key.decode("utf-8")
            # structures.md#serialization: duplicate keys MUST be rejected
            if k in result:
                raise DecryptError("malformed message: duplicate encryption context key")
            result[k] = value.decode("utf-8")
    except (struct.error, UnicodeDecodeError) as exc:
        raise DecryptError("malformed message: invalid encryption context") from exc
    if count == 0 or pos != len(data):
        raise DecryptError("malformed message: invalid encryption context")
    return result


def check_no_reserved_keys(context: Mapping[str, str]) -> None:
    """Callers may not set keys with the reserved ``aws-crypto-`` prefix."""
    for key in context:
        if key.startswith(RESERVED_PREFIX):
            raise ConfigurationError(f"encryption context key {key!r} uses a reserved prefix")
