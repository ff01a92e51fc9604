"""Ciphertext blobs of symmetric KMS keys: Cofre's own versioned binary format.

Layout of format 1 (docs/formats/ciphertext-blob.md)::

    offset  size  field
    0       1     format version (0x01)
    1       16    key id (UUID bytes)
    17      32    backing key version id (KeyMaterialId)
    49      12    AES-GCM IV (random)
    61      n     AES-256-GCM ciphertext
    61+n    16    GCM tag

The associated data is the 49-byte header followed by the canonical encryption context,
so neither the header nor the context can be changed without failing the tag check.
Every failure to read a blob is the same InvalidCiphertextError (no oracle).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from cofre.errors import InvalidCiphertextError

FORMAT_V1 = 0x01
KEY_ID_LEN = 16
VERSION_ID_LEN = 32
IV_LEN = 12
TAG_LEN = 16
HEADER_LEN = 1 + KEY_ID_LEN + VERSION_ID_LEN
OVERHEAD = HEADER_LEN + IV_LEN + TAG_LEN


@dataclass(frozen=True, slots=True)
class BlobHeader:
    key_id: str  # canonical UUID text
    version_id: bytes  # 32 bytes

    def encode(self) -> bytes:
        return bytes((FORMAT_V1,)) + uuid.UUID(self.key_id).bytes + self.version_id


@dataclass(frozen=True, slots=True)
class ParsedBlob:
    header: BlobHeader
    header_bytes: bytes
    iv: bytes
    sealed: bytes  # ciphertext || tag


def encode_blob(header_bytes: bytes, iv: bytes, sealed: bytes) -> bytes:
    return header_bytes + iv + sealed


def parse_blob(blob: bytes) -> ParsedBlob:
    if len(blob) < OVERHEAD or blob[0] != FORMAT_V1:
        raise InvalidCiphertextError()
    header_bytes = blob[:HEADER_LEN]
    key_id = str(uuid.UUID(bytes=blob[1 : 1 + KEY_ID_LEN]))
    version_id = blob[1 + KEY_ID_LEN : HEADER_LEN]
    iv = blob[HEADER_LEN : HEADER_LEN + IV_LEN]
    return ParsedBlob(BlobHeader(key_id, version_id), header_bytes, iv, blob[HEADER_LEN + IV_LEN :])
