"""The bytes of the XKS Encrypt and Decrypt operations (XKS Proxy API Specification,
"Encrypt", "Decrypt" and Appendix C), pure.

A Cofre key answers XKS calls with its own backing versions (AES-256-GCM). What the key
sees as associated data is::

    "cofre/xks/v1" || uint16(len(aad)) || aad || uint8(len(metadata)) || metadata

the length-prefixed form the specification asks for ("Encrypt", ciphertextMetadata:
"2-byte length of additionalAuthenticatedData ... 1-byte length of ciphertextMetadata"),
after a constant label. The label separates the two uses of one backing version: the
associated data of Cofre's own ciphertext blobs starts with their format byte (1 or 2),
so no XKS ciphertext is ever a valid Cofre blob, nor the other way round.

``ciphertextMetadata`` (20 bytes, the most the specification allows) is a format byte and
the first 19 bytes of the backing version id that encrypted: rotating the Cofre key adds
a version and keeps the old ones, so ciphertexts AWS already holds still decrypt.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable

from cofre.errors import InvalidCiphertextError

LABEL = b"cofre/xks/v1"
METADATA_V1 = 0x01
VERSION_PREFIX_LEN = 19
METADATA_LEN = 1 + VERSION_PREFIX_LEN  # 20: the specification's maximum
MAX_METADATA = 20
MAX_AAD = 8192  # the specification's minimum to support; more is refused as unsupported
MAX_PLAINTEXT = 4300  # likewise for plaintext and ciphertext
IV_LENGTHS = (12, 16)
TAG_LEN = 16


def metadata_for(version_id: bytes) -> bytes:
    return bytes((METADATA_V1,)) + version_id[:VERSION_PREFIX_LEN]


def version_of(metadata: bytes, versions: Iterable[bytes]) -> bytes:
    """The backing version a ciphertext's metadata names, among ``versions``; any
    mismatch is InvalidCiphertextError (no oracle)."""
    if len(metadata) != METADATA_LEN or metadata[0] != METADATA_V1:
        raise InvalidCiphertextError()
    prefix = metadata[1:]
    for version_id in versions:
        if version_id[:VERSION_PREFIX_LEN] == prefix:
            return version_id
    raise InvalidCiphertextError()


def key_aad(aad: bytes, metadata: bytes) -> bytes:
    """The associated data the key sees (module docstring)."""
    return LABEL + struct.pack(">H", len(aad)) + aad + bytes((len(metadata),)) + metadata


def integrity_value(aad: bytes, metadata: bytes, iv: bytes, ciphertext: bytes, tag: bytes) -> bytes:
    """The Ciphertext Data Integrity Value (Appendix C): SHA-256 over the concatenation."""
    return hashlib.sha256(aad + metadata + iv + ciphertext + tag).digest()
