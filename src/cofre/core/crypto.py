"""Symmetric primitives, all AES-256-GCM and HKDF-SHA256 through pyca/cryptography.

Randomness is injected (``Random``) so the core stays free of I/O.
Three uses:

* ``Cipher.seal``/``Cipher.open``: one encryption under one key, IV chosen by the caller;
* ``wrap``/``unwrap``: key material (or other secrets) stored under the keyring key (or the
  keyring key under the root key), in a versioned envelope ``0x01 | IV | ciphertext | tag``
  whose associated data names where the secret belongs (docs/formats/wrapped-secret.md);
* ``hkdf_key``: a key for one purpose derived from another (RFC 5869). ``legacy_derive_key``
  is the construction stores made before HKDF used, kept only to read what they wrote.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from cofre.errors import InvalidCiphertextError

Random = Callable[[int], bytes]

KEY_LEN = 32
IV_LEN = 12
WRAP_FORMAT_V1 = 0x01


class Aead(Protocol):
    """What wraps and unwraps: an AES-256-GCM key (:class:`Cipher`), or a holder of one
    that may be absent (the service layer's keyring, sealed or not)."""

    def seal(self, iv: bytes, plaintext: bytes, aad: bytes) -> bytes: ...
    def open(self, iv: bytes, sealed: bytes, aad: bytes) -> bytes: ...


class Cipher:
    """An AES-256-GCM key, ready to use (building AESGCM costs more than a 64-byte seal)."""

    __slots__ = ("_aead",)

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_LEN:
            raise ValueError("AES-256 keys are 32 bytes")
        self._aead = AESGCM(key)

    def seal(self, iv: bytes, plaintext: bytes, aad: bytes) -> bytes:
        return self._aead.encrypt(iv, plaintext, aad)

    def open(self, iv: bytes, sealed: bytes, aad: bytes) -> bytes:
        """Decrypt; any failure is InvalidCiphertextError."""
        try:
            return self._aead.decrypt(iv, sealed, aad)
        except (InvalidTag, ValueError) as exc:
            raise InvalidCiphertextError() from exc


def wrap(root: Aead, secret: bytes, aad: bytes, random: Random) -> bytes:
    iv = random(IV_LEN)
    return bytes((WRAP_FORMAT_V1,)) + iv + root.seal(iv, secret, aad)


def unwrap(root: Aead, wrapped: bytes, aad: bytes) -> bytes:
    if len(wrapped) < 1 + IV_LEN + 16 or wrapped[0] != WRAP_FORMAT_V1:
        raise InvalidCiphertextError()
    return root.open(wrapped[1 : 1 + IV_LEN], wrapped[1 + IV_LEN :], aad)


def key_version_aad(key_arn: str, version_id: bytes) -> bytes:
    """Associated data binding wrapped key material to its key and version."""
    return b"cofre/key-version/v1\x00" + key_arn.encode() + b"\x00" + version_id


def credential_aad(access_key_id: str) -> bytes:
    """Associated data binding a wrapped secret access key to its access key id."""
    return b"cofre/access-key/v1\x00" + access_key_id.encode()


ROOT_CHECK_AAD = b"cofre/root-key-check/v1"
ROOT_CHECK_PLAINTEXT = b"cofre root key check value"


HKDF_SALT = b"cofre/hkdf/v1"


def hkdf_key(key: bytes, label: bytes) -> bytes:
    """A 32-byte key for one purpose (``label``), derived from ``key`` with HKDF-SHA256
    (RFC 5869; a fixed salt, the label as info)."""
    return HKDF(hashes.SHA256(), KEY_LEN, HKDF_SALT, b"cofre/derived-key/v2\x00" + label).derive(
        key
    )


def legacy_derive_key(root: Aead, label: bytes) -> bytes:
    """The key derivation of stores made before HKDF (version 1): kept to check what they
    wrote (audit MACs, imported material ids), never for anything new.

    AES-GCM over 32 zero bytes with an IV fixed by the label (the first 12 bytes of its
    SHA-256): the output is AES-CTR keystream under the key for that IV.
    """
    iv = hashlib.sha256(b"cofre/derived-key/v1\x00" + label).digest()[:IV_LEN]
    return root.seal(iv, bytes(KEY_LEN), b"")[:KEY_LEN]
