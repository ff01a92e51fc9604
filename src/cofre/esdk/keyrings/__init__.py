"""Keyrings: raw AES, raw RSA, multi and AWS KMS (framework/*-keyring.md, framework/aws-kms/)."""

from cofre.esdk.keyrings.kms import DiscoveryFilter, KmsClient, KmsDiscoveryKeyring, KmsKeyring
from cofre.esdk.keyrings.multi import MultiKeyring
from cofre.esdk.keyrings.raw_aes import RawAesKeyring
from cofre.esdk.keyrings.raw_rsa import RawRsaKeyring, RsaPadding

__all__ = [
    "DiscoveryFilter",
    "KmsClient",
    "KmsDiscoveryKeyring",
    "KmsKeyring",
    "MultiKeyring",
    "RawAesKeyring",
    "RawRsaKeyring",
    "RsaPadding",
]
