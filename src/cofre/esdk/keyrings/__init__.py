"""Keyrings: raw AES, raw RSA and multi (framework/*-keyring.md)."""

from cofre.esdk.keyrings.multi import MultiKeyring
from cofre.esdk.keyrings.raw_aes import RawAesKeyring
from cofre.esdk.keyrings.raw_rsa import RawRsaKeyring, RsaPadding

__all__ = ["MultiKeyring", "RawAesKeyring", "RawRsaKeyring", "RsaPadding"]
