"""The envelope of Advanced-tier SecureString values (docs/formats/securestring-envelope.md).

A value larger than one KMS Encrypt takes (4 KB) is encrypted locally with AES-256-GCM under
a data key from KMS GenerateDataKey; the envelope keeps the data key's KMS ciphertext::

    offset   size  field
    0        1     format version (0x01)
    1        2     n, length of the encrypted data key (big-endian)
    3        n     encrypted data key: a KMS ciphertext blob, context {"PARAMETER_ARN": arn}
    3+n      12    AES-GCM IV (random)
    15+n     m     AES-256-GCM ciphertext of the UTF-8 value
    15+n+m   16    GCM tag

The associated data is the header (bytes 0 .. 3+n) followed by the canonical encryption
context, so the envelope opens only as the value of the parameter it was made for, and
neither the data key nor the header can be swapped. Every failure to open one is
InvalidCiphertextError.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass

from cofre.core.crypto import IV_LEN, KEY_LEN, Cipher, Random
from cofre.core.kms.context import canonical_context
from cofre.errors import InvalidCiphertextError

ENVELOPE_V1 = 0x01
TAG_LEN = 16
_LENGTH = struct.Struct(">H")
_HEADER_FIXED = 1 + _LENGTH.size


@dataclass(frozen=True, slots=True)
class Envelope:
    header: bytes  # format version, length, encrypted data key: authenticated as is
    encrypted_key: bytes
    iv: bytes
    sealed: bytes  # ciphertext || tag


def seal_envelope(
    data_key: bytes,
    encrypted_key: bytes,
    plaintext: bytes,
    context: Mapping[str, str],
    random: Random,
) -> bytes:
    if len(data_key) != KEY_LEN or not 0 < len(encrypted_key) <= 0xFFFF:
        raise ValueError("a 32-byte data key and its KMS ciphertext are needed")
    header = bytes((ENVELOPE_V1,)) + _LENGTH.pack(len(encrypted_key)) + encrypted_key
    iv = random(IV_LEN)
    sealed = Cipher(data_key).seal(iv, plaintext, header + canonical_context(context))
    return header + iv + sealed


def parse_envelope(data: bytes) -> Envelope:
    if len(data) < _HEADER_FIXED or data[0] != ENVELOPE_V1:
        raise InvalidCiphertextError()
    (length,) = _LENGTH.unpack_from(data, 1)
    end = _HEADER_FIXED + length
    if length == 0 or len(data) < end + IV_LEN + TAG_LEN:
        raise InvalidCiphertextError()
    return Envelope(
        data[:end], data[_HEADER_FIXED:end], data[end : end + IV_LEN], data[end + IV_LEN :]
    )


def open_envelope(envelope: Envelope, data_key: bytes, context: Mapping[str, str]) -> bytes:
    if len(data_key) != KEY_LEN:
        raise InvalidCiphertextError()
    aad = envelope.header + canonical_context(context)
    return Cipher(data_key).open(envelope.iv, envelope.sealed, aad)
