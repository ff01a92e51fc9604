"""Ciphertext blobs of symmetric KMS keys: Cofre's own versioned binary format.

Layout of formats 1 and 2 (docs/formats/ciphertext-blob.md)::

    offset  size  field
    0       1     format version: 0x01 (key id is a UUID), 0x02 (a multi-Region key id)
    1       16    key id (the UUID's bytes, or the 32 hex digits after ``mrk-`` as bytes)
    17      32    backing key version id (KeyMaterialId)
    49      12    AES-GCM IV (random)
    61      n     AES-256-GCM ciphertext
    61+n    16    GCM tag

The associated data is the 49-byte header followed by the canonical encryption context,
so neither the header nor the context can be changed without failing the tag check.
A format 2 blob names a multi-Region key id, which every related key shares: it decrypts
in any Region that holds a related key (ADR 16).
Every failure to read a blob is the same InvalidCiphertextError (no oracle).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from cofre.errors import InvalidCiphertextError

FORMAT_V1 = 0x01
FORMAT_V2 = 0x02
_MRK = "mrk-"
KEY_ID_LEN = 16
VERSION_ID_LEN = 32
IV_LEN = 12
TAG_LEN = 16
HEADER_LEN = 1 + KEY_ID_LEN + VERSION_ID_LEN
OVERHEAD = HEADER_LEN + IV_LEN + TAG_LEN


@dataclass(frozen=True, slots=True)
class BlobHeader:
    key_id: str  # canonical UUID text, or a multi-Region key id (mrk- and 32 hex digits)
    version_id: bytes  # 32 bytes

    def encode(self) -> bytes:
        if self.key_id.startswith(_MRK):
            return bytes((FORMAT_V2,)) + bytes.fromhex(self.key_id[len(_MRK) :]) + self.version_id
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
    if len(blob) < OVERHEAD or blob[0] not in (FORMAT_V1, FORMAT_V2):
        raise InvalidCiphertextError()
    header_bytes = blob[:HEADER_LEN]
    raw_id = blob[1 : 1 + KEY_ID_LEN]
    key_id = str(uuid.UUID(bytes=raw_id)) if blob[0] == FORMAT_V1 else _MRK + raw_id.hex()
    version_id = blob[1 + KEY_ID_LEN : HEADER_LEN]
    iv = blob[HEADER_LEN : HEADER_LEN + IV_LEN]
    return ParsedBlob(BlobHeader(key_id, version_id), header_bytes, iv, blob[HEADER_LEN + IV_LEN :])
