"""The official aws-encryption-sdk (legacy master-key API), for interoperability tests."""

from __future__ import annotations

from typing import Any

import aws_encryption_sdk
from aws_encryption_sdk.identifiers import (
    Algorithm,
    CommitmentPolicy,
    EncryptionKeyType,
    WrappingAlgorithm,
)
from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
from aws_encryption_sdk.key_providers.raw import RawMasterKey, RawMasterKeyProvider

from cofre import esdk

POLICIES = {p: CommitmentPolicy[p.name] for p in esdk.CommitmentPolicy}


def algorithm(suite: esdk.AlgorithmSuite) -> Any:
    return Algorithm.get_by_id(suite.suite_id)


def aes_master_key(namespace: str, name: str, key: bytes) -> RawMasterKey:
    wrapping = {
        16: WrappingAlgorithm.AES_128_GCM_IV12_TAG16_NO_PADDING,
        24: WrappingAlgorithm.AES_192_GCM_IV12_TAG16_NO_PADDING,
        32: WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
    }[len(key)]
    return RawMasterKey(
        provider_id=namespace,
        key_id=name.encode(),
        wrapping_key=WrappingKey(
            wrapping_algorithm=wrapping,
            wrapping_key=key,
            wrapping_key_type=EncryptionKeyType.SYMMETRIC,
        ),
    )


def rsa_master_key(namespace: str, name: str, private_pem: bytes) -> RawMasterKey:
    return RawMasterKey(
        provider_id=namespace,
        key_id=name.encode(),
        wrapping_key=WrappingKey(
            wrapping_algorithm=WrappingAlgorithm.RSA_OAEP_SHA256_MGF1,
            wrapping_key=private_pem,
            wrapping_key_type=EncryptionKeyType.PRIVATE,
        ),
    )


class StaticProvider(RawMasterKeyProvider):  # type: ignore[misc]
    """One provider id, several raw wrapping keys: encrypts under all of them."""

    provider_id = "cofre-test"

    def __init__(self) -> None:
        self.keys: dict[bytes, WrappingKey] = {}

    def _get_raw_key(self, key_id: bytes) -> WrappingKey:
        return self.keys[key_id]


def multi_provider(keys: list[RawMasterKey]) -> StaticProvider:
    """A provider encrypting under every key of ``keys`` (all in namespace cofre-test)."""
    provider = StaticProvider()
    provider.keys.update({k.key_id: k.config.wrapping_key for k in keys})
    provider.add_master_keys_from_list([k.key_id for k in keys])
    return provider


def client(policy: esdk.CommitmentPolicy) -> Any:
    return aws_encryption_sdk.EncryptionSDKClient(commitment_policy=POLICIES[policy])
