"""Materials, requests and the Keyring / CMM protocols (framework/structures.md,
framework/keyring-interface.md, framework/cmm-interface.md).

Materials are immutable: a keyring returns a new value (``with_data_key``, ``with_edk``)
instead of mutating its input, so a failed keyring can never leave half-set materials.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable

from cryptography.hazmat.primitives.asymmetric import ec

from cofre.esdk.suites import AlgorithmSuite, CommitmentPolicy


@dataclass(frozen=True)
class EncryptedDataKey:
    """structures.md#encrypted-data-key: provider id (UTF-8), provider info, ciphertext."""

    provider_id: str
    provider_info: bytes
    ciphertext: bytes


@dataclass(frozen=True)
class EncryptionMaterials:
    suite: AlgorithmSuite
    encryption_context: Mapping[str, str]
    encrypted_data_keys: tuple[EncryptedDataKey, ...] = ()
    plaintext_data_key: bytes | None = field(default=None, repr=False)
    signing_key: ec.EllipticCurvePrivateKey | None = field(default=None, repr=False)
    required_encryption_context_keys: tuple[str, ...] = ()

    def with_data_key(self, data_key: bytes) -> EncryptionMaterials:
        # structures.md#encryption-materials: the data key length MUST match the suite
        if self.plaintext_data_key is not None:
            raise ValueError("plaintext data key is already set")
        if len(data_key) != self.suite.data_key_length:
            raise ValueError("data key length does not match the algorithm suite")
        return replace(self, plaintext_data_key=data_key)

    def with_edk(self, edk: EncryptedDataKey) -> EncryptionMaterials:
        return replace(self, encrypted_data_keys=(*self.encrypted_data_keys, edk))


@dataclass(frozen=True)
class DecryptionMaterials:
    suite: AlgorithmSuite
    encryption_context: Mapping[str, str]
    plaintext_data_key: bytes | None = field(default=None, repr=False)
    verification_key: ec.EllipticCurvePublicKey | None = field(default=None, repr=False)
    required_encryption_context_keys: tuple[str, ...] = ()

    def with_data_key(self, data_key: bytes) -> DecryptionMaterials:
        if self.plaintext_data_key is not None:
            raise ValueError("plaintext data key is already set")
        if len(data_key) != self.suite.data_key_length:
            raise ValueError("data key length does not match the algorithm suite")
        return replace(self, plaintext_data_key=data_key)


@runtime_checkable
class Keyring(Protocol):
    """framework/keyring-interface.md.

    ``on_encrypt`` generates a data key when the materials have none and adds one or more
    encrypted data keys. ``on_decrypt`` returns the materials unchanged when it cannot
    decrypt any of ``edks`` (it raises only for a misconfiguration), and with the
    plaintext data key set when it can.
    """

    def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials: ...

    def on_decrypt(
        self, materials: DecryptionMaterials, edks: Sequence[EncryptedDataKey]
    ) -> DecryptionMaterials: ...


@dataclass(frozen=True)
class EncryptionMaterialsRequest:
    """cmm-interface.md#encryption-materials-request.

    ``required_encryption_context_keys``: keys whose pairs are authenticated but not stored
    in the message; set by CMMs for composition (the required-context CMM), never by
    ``encrypt`` itself.
    """

    encryption_context: Mapping[str, str]
    commitment_policy: CommitmentPolicy
    algorithm_suite: AlgorithmSuite | None = None
    max_plaintext_length: int | None = None
    required_encryption_context_keys: tuple[str, ...] = ()


@dataclass(frozen=True)
class DecryptMaterialsRequest:
    """cmm-interface.md#decrypt-materials-request.

    ``encryption_context`` is the context stored in the message header;
    ``reproduced_encryption_context`` is the context the caller gave to ``decrypt``.
    """

    algorithm_suite: AlgorithmSuite
    commitment_policy: CommitmentPolicy
    encrypted_data_keys: tuple[EncryptedDataKey, ...]
    encryption_context: Mapping[str, str]
    reproduced_encryption_context: Mapping[str, str] | None = None


@runtime_checkable
class CryptoMaterialsManager(Protocol):
    """framework/cmm-interface.md: the default, caching and required-context CMMs fit it."""

    def get_encryption_materials(
        self, request: EncryptionMaterialsRequest
    ) -> EncryptionMaterials: ...

    def decrypt_materials(self, request: DecryptMaterialsRequest) -> DecryptionMaterials: ...
