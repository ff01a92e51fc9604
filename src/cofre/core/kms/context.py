"""Encryption context: the canonical byte form that ciphertext blobs authenticate.

Format (see docs/formats/ciphertext-blob.md): a 4-byte big-endian pair count, then for
each pair in order of the key's UTF-8 bytes, 4-byte length + key bytes, 4-byte length +
value bytes. Length prefixes make the encoding injective, so two different contexts never
serialise to the same bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

EMPTY_CONTEXT = b"\x00\x00\x00\x00"

_U32 = struct.Struct(">I")


def canonical_context(context: Mapping[str, str] | None) -> bytes:
    if not context:
        return EMPTY_CONTEXT
    items = sorted((k.encode(), v.encode()) for k, v in context.items())
    out = bytearray(_U32.pack(len(items)))
    for key, value in items:
        out += _U32.pack(len(key))
        out += key
        out += _U32.pack(len(value))
        out += value
    return bytes(out)
