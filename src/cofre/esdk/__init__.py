"""Cofre's AWS Encryption SDK: the message format, keyrings and materials managers.

Usable without the server: imports only the standard library and ``cryptography``.

    from cofre import esdk
    keyring = esdk.RawAesKeyring("ns", "key", key_bytes)
    message, header = esdk.encrypt(b"data", keyring, encryption_context={"purpose": "demo"})
    plaintext, header = esdk.decrypt(message, keyring)

Materials managers compose: ``CachingCmm`` reuses data keys within limits,
``RequiredEncryptionContextCmm`` authenticates context pairs without storing them.
"""

from cofre.esdk.caching import CachingCmm, LocalCache
from cofre.esdk.cmm import DefaultCmm
from cofre.esdk.decrypt import decrypt, decrypt_stream
from cofre.esdk.encrypt import DEFAULT_FRAME_LENGTH, encrypt, encrypt_stream
from cofre.esdk.errors import ConfigurationError, DecryptError, EncryptError, EsdkError
from cofre.esdk.header import ContentType, MessageHeader
from cofre.esdk.keyrings import (
    DiscoveryFilter,
    KmsClient,
    KmsDiscoveryKeyring,
    KmsKeyring,
    MultiKeyring,
    RawAesKeyring,
    RawRsaKeyring,
    RsaPadding,
)
from cofre.esdk.materials import (
    CryptoMaterialsManager,
    DecryptionMaterials,
    DecryptMaterialsRequest,
    EncryptedDataKey,
    EncryptionMaterials,
    EncryptionMaterialsRequest,
    Keyring,
)
from cofre.esdk.required_context import RequiredEncryptionContextCmm
from cofre.esdk.suites import AlgorithmSuite, CommitmentPolicy

__all__ = [
    "DEFAULT_FRAME_LENGTH",
    "AlgorithmSuite",
    "CachingCmm",
    "CommitmentPolicy",
    "ConfigurationError",
    "ContentType",
    "CryptoMaterialsManager",
    "DecryptError",
    "DecryptMaterialsRequest",
    "DecryptionMaterials",
    "DefaultCmm",
    "DiscoveryFilter",
    "EncryptError",
    "EncryptedDataKey",
    "EncryptionMaterials",
    "EncryptionMaterialsRequest",
    "EsdkError",
    "Keyring",
    "KmsClient",
    "KmsDiscoveryKeyring",
    "KmsKeyring",
    "LocalCache",
    "MessageHeader",
    "MultiKeyring",
    "RawAesKeyring",
    "RawRsaKeyring",
    "RequiredEncryptionContextCmm",
    "RsaPadding",
    "decrypt",
    "decrypt_stream",
    "encrypt",
    "encrypt_stream",
]
