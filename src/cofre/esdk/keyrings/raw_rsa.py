"""Raw RSA keyring (framework/raw-rsa-keyring.md)."""

from __future__ import annotations

import enum
import os
from collections.abc import Sequence

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from cofre.esdk.errors import ConfigurationError, EncryptError
from cofre.esdk.keyrings.raw_aes import check_namespace
from cofre.esdk.materials import DecryptionMaterials, EncryptedDataKey, EncryptionMaterials


class RsaPadding(enum.Enum):
    """raw-rsa-keyring.md#supported-padding-schemes (OAEP uses MGF1 with the same hash)."""

    PKCS1 = "PKCS1"
    OAEP_SHA1_MGF1 = "OAEP-SHA1"
    OAEP_SHA256_MGF1 = "OAEP-SHA256"
    OAEP_SHA384_MGF1 = "OAEP-SHA384"
    OAEP_SHA512_MGF1 = "OAEP-SHA512"

    def padding(self) -> padding.AsymmetricPadding:
        if self is RsaPadding.PKCS1:
            return padding.PKCS1v15()
        algorithm: hashes.HashAlgorithm = {
            RsaPadding.OAEP_SHA1_MGF1: hashes.SHA1(),  # noqa: S303 - required by the spec
            RsaPadding.OAEP_SHA256_MGF1: hashes.SHA256(),
            RsaPadding.OAEP_SHA384_MGF1: hashes.SHA384(),
            RsaPadding.OAEP_SHA512_MGF1: hashes.SHA512(),
        }[self]
        return padding.OAEP(mgf=padding.MGF1(algorithm), algorithm=algorithm, label=None)


class RawRsaKeyring:
    """Wraps data keys with RSA; a public key suffices to encrypt, decrypt needs the private."""

    def __init__(
        self,
        key_namespace: str,
        key_name: str,
        padding_scheme: RsaPadding,
        *,
        public_key: rsa.RSAPublicKey | None = None,
        private_key: rsa.RSAPrivateKey | None = None,
    ) -> None:
        check_namespace(key_namespace)
        if public_key is None and private_key is None:
            raise ConfigurationError("raw RSA keyring needs a public or a private key")
        if public_key is None and private_key is not None:
            public_key = private_key.public_key()
        self.key_namespace = key_namespace
        self.key_name = key_name
        self._name = key_name.encode("utf-8")
        self._padding = padding_scheme
        self._public = public_key
        self._private = private_key

    def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
        if self._public is None:
            raise EncryptError("raw RSA keyring has no public key")
        if materials.plaintext_data_key is None:
            materials = materials.with_data_key(os.urandom(materials.suite.data_key_length))
        data_key = materials.plaintext_data_key
        assert data_key is not None
        try:
            wrapped = self._public.encrypt(data_key, self._padding.padding())
        except ValueError as exc:
            raise EncryptError("raw RSA keyring could not wrap the data key") from exc
        # raw-rsa-keyring.md#onencrypt: provider id = namespace, provider info = key name
        return materials.with_edk(EncryptedDataKey(self.key_namespace, self._name, wrapped))

    def on_decrypt(
        self, materials: DecryptionMaterials, edks: Sequence[EncryptedDataKey]
    ) -> DecryptionMaterials:
        if materials.plaintext_data_key is not None or self._private is None:
            return materials
        for edk in edks:
            if edk.provider_id != self.key_namespace or edk.provider_info != self._name:
                continue
            try:
                data_key = self._private.decrypt(edk.ciphertext, self._padding.padding())
            except ValueError:
                continue
            if len(data_key) == materials.suite.data_key_length:
                return materials.with_data_key(data_key)
        return materials
