"""Raw AES keyring (framework/raw-aes-keyring.md)."""

from __future__ import annotations

import os
import struct
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from cofre.esdk.context import serialize_encryption_context
from cofre.esdk.errors import ConfigurationError
from cofre.esdk.materials import DecryptionMaterials, EncryptedDataKey, EncryptionMaterials

_TAG_BITS = 128
_IV_LEN = 12
RESERVED_NAMESPACE = "aws-kms"


def check_namespace(namespace: str) -> None:
    # raw-aes-keyring.md / raw-rsa-keyring.md: the key namespace MUST NOT be "aws-kms"
    if namespace == RESERVED_NAMESPACE:
        raise ConfigurationError("key namespace 'aws-kms' is reserved")


class RawAesKeyring:
    """Wraps data keys with AES-GCM under a caller-held 128/192/256-bit key."""

    def __init__(self, key_namespace: str, key_name: str, wrapping_key: bytes) -> None:
        check_namespace(key_namespace)
        # raw-aes-keyring.md#wrapping-key: 128, 192 or 256 bits
        if len(wrapping_key) not in (16, 24, 32):
            raise ConfigurationError("raw AES wrapping key must be 16, 24 or 32 bytes")
        self.key_namespace = key_namespace
        self.key_name = key_name
        self._name = key_name.encode("utf-8")
        self._aead = AESGCM(wrapping_key)

    def _provider_info(self, iv: bytes) -> bytes:
        # raw-aes-keyring.md#ciphertext: key name, tag length (bits), IV length, IV
        return self._name + struct.pack(">II", _TAG_BITS, _IV_LEN) + iv

    def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
        if materials.plaintext_data_key is None:
            # raw-aes-keyring.md#onencrypt: generate a data key of the suite's length
            materials = materials.with_data_key(os.urandom(materials.suite.data_key_length))
        data_key = materials.plaintext_data_key
        assert data_key is not None
        iv = os.urandom(_IV_LEN)
        # raw-aes-keyring.md#onencrypt: AAD is the serialised encryption context
        aad = serialize_encryption_context(materials.encryption_context)
        sealed = self._aead.encrypt(iv, data_key, aad)
        edk = EncryptedDataKey(self.key_namespace, self._provider_info(iv), sealed)
        return materials.with_edk(edk)

    def _matches(self, edk: EncryptedDataKey) -> bytes | None:
        """Return the IV when ``edk`` was written by this keyring, else None."""
        info = edk.provider_info
        if edk.provider_id != self.key_namespace or len(info) != len(self._name) + 8 + _IV_LEN:
            return None
        if info[: len(self._name)] != self._name:
            return None
        tag_bits, iv_len = struct.unpack_from(">II", info, len(self._name))
        if tag_bits != _TAG_BITS or iv_len != _IV_LEN:
            return None
        return info[-_IV_LEN:]

    def on_decrypt(
        self, materials: DecryptionMaterials, edks: Sequence[EncryptedDataKey]
    ) -> DecryptionMaterials:
        # raw-aes-keyring.md#ondecrypt: do nothing if a data key is already present
        if materials.plaintext_data_key is not None:
            return materials
        aad = serialize_encryption_context(materials.encryption_context)
        for edk in edks:
            iv = self._matches(edk)
            if iv is None:
                continue
            try:
                data_key = self._aead.decrypt(iv, edk.ciphertext, aad)
            except InvalidTag:
                continue
            if len(data_key) == materials.suite.data_key_length:
                return materials.with_data_key(data_key)
        return materials
