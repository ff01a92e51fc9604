"""AWS KMS keyrings (framework/aws-kms/aws-kms-keyring.md, aws-kms-discovery-keyring.md).

The keyrings take any KMS client with boto3's call shape (``client.encrypt(KeyId=...,
Plaintext=..., EncryptionContext=...)`` returning a dict): a boto3 ``kms`` client against
AWS or Cofre, or a test double. boto3 is never imported here.

Following ``Keyring`` (materials.py), ``on_decrypt`` returns the materials unchanged when
no encrypted data key could be decrypted; KMS errors for one key are swallowed and the
next key is tried. An ``aws-kms`` encrypted data key whose provider info is not a KMS key
ARN is malformed and fails the call (spec: "OnDecrypt MUST fail").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from cofre.esdk.errors import ConfigurationError, DecryptError, EncryptError
from cofre.esdk.materials import DecryptionMaterials, EncryptedDataKey, EncryptionMaterials

PROVIDER_ID = "aws-kms"


class KmsClient(Protocol):
    """The three calls the keyrings make, in boto3's keyword-argument shape."""

    def encrypt(self, **kwargs: Any) -> Mapping[str, Any]: ...

    def decrypt(self, **kwargs: Any) -> Mapping[str, Any]: ...

    def generate_data_key(self, **kwargs: Any) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class KmsArn:
    """aws-kms-key-arn.md: ``arn:<partition>:kms:<region>:<account>:<type>/<id>``."""

    partition: str
    region: str
    account: str
    resource_type: str
    resource_id: str

    @classmethod
    def parse(cls, value: str) -> KmsArn | None:
        """The parsed ARN, or None when ``value`` is not a valid AWS KMS ARN."""
        parts = value.split(":", 5)
        if len(parts) != 6 or parts[0] != "arn" or parts[2] != "kms":
            return None
        _, partition, _, region, account, resource = parts
        resource_type, sep, resource_id = resource.partition("/")
        if not (partition and region and account and sep and resource_id):
            return None
        if resource_type not in ("key", "alias"):
            return None
        return cls(partition, region, account, resource_type, resource_id)


def _valid_key_id(key_id: str) -> bool:
    """aws-kms-key-arn.md#a-valid-aws-kms-identifier: an ARN, alias name or key id."""
    if key_id.startswith("arn:"):
        return KmsArn.parse(key_id) is not None
    return bool(key_id) and ":" not in key_id


def _key_arn(value: object) -> str | None:
    """``value`` when it is a KMS ARN of resource type ``key``, else None."""
    if not isinstance(value, str):
        return None
    arn = KmsArn.parse(value)
    return value if arn is not None and arn.resource_type == "key" else None


def _edk_arn(edk: EncryptedDataKey) -> KmsArn:
    """The key ARN in an aws-kms EDK's provider info; a malformed one fails decryption."""
    try:
        info = edk.provider_info.decode("utf-8")
    except UnicodeDecodeError:
        info = ""
    arn = KmsArn.parse(info)
    if arn is None or arn.resource_type != "key":
        # aws-kms-keyring.md#ondecrypt: "MUST be a valid AWS KMS ARN ... or OnDecrypt MUST fail"
        raise DecryptError("malformed message: aws-kms provider info is not a key ARN")
    return arn


def _kms_decrypt(
    client: KmsClient,
    key_id: str,
    edk: EncryptedDataKey,
    materials: DecryptionMaterials,
    grant_tokens: tuple[str, ...],
) -> bytes | None:
    """One Decrypt call; the data key when KMS answers for ``key_id`` with a valid key."""
    request: dict[str, Any] = {
        "KeyId": key_id,
        "CiphertextBlob": edk.ciphertext,
        "EncryptionContext": dict(materials.encryption_context),
    }
    if grant_tokens:
        request["GrantTokens"] = list(grant_tokens)
    try:
        response = client.decrypt(**request)
    except Exception:  # any KMS or transport error: try the next EDK
        return None
    plaintext = response.get("Plaintext")
    # spec: the response KeyId MUST equal the requested key and the length MUST match
    if response.get("KeyId") != key_id or not isinstance(plaintext, bytes):
        return None
    if len(plaintext) != materials.suite.data_key_length:
        return None
    return plaintext


class KmsKeyring:
    """Generates or wraps data keys with one KMS key; decrypts only EDKs of that key."""

    def __init__(self, client: KmsClient, key_id: str, grant_tokens: Iterable[str] = ()) -> None:
        # aws-kms-keyring.md#initialization: a client and a valid, non-empty key identifier
        if client is None:
            raise ConfigurationError("a KMS client is required")
        if not isinstance(key_id, str) or not _valid_key_id(key_id):
            raise ConfigurationError("key_id must be a KMS key id, key ARN, alias name or ARN")
        self.client = client
        self.key_id = key_id
        self.grant_tokens = tuple(grant_tokens)

    def _request(self, **fields: Any) -> dict[str, Any]:
        request: dict[str, Any] = {"KeyId": self.key_id, **fields}
        if self.grant_tokens:
            request["GrantTokens"] = list(self.grant_tokens)
        return request

    def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
        context = dict(materials.encryption_context)
        length = materials.suite.data_key_length
        if materials.plaintext_data_key is None:
            # aws-kms-keyring.md#onencrypt: GenerateDataKey with the suite's key length
            request = self._request(NumberOfBytes=length, EncryptionContext=context)
            try:
                response = self.client.generate_data_key(**request)
            except Exception as exc:
                raise EncryptError("AWS KMS GenerateDataKey failed") from exc
            plaintext = response.get("Plaintext")
            if not isinstance(plaintext, bytes) or len(plaintext) != length:
                raise EncryptError("AWS KMS GenerateDataKey returned a key of the wrong length")
            key_arn = _key_arn(response.get("KeyId"))
            if key_arn is None:
                raise EncryptError("AWS KMS GenerateDataKey did not return a key ARN")
            materials = materials.with_data_key(plaintext)
        else:
            # aws-kms-keyring.md#onencrypt: Encrypt the existing data key
            data_key = materials.plaintext_data_key
            request = self._request(Plaintext=data_key, EncryptionContext=context)
            try:
                response = self.client.encrypt(**request)
            except Exception as exc:
                raise EncryptError("AWS KMS Encrypt failed") from exc
            key_arn = _key_arn(response.get("KeyId"))
            if key_arn is None:
                raise EncryptError("AWS KMS Encrypt did not return a key ARN")
        ciphertext = response.get("CiphertextBlob")
        if not isinstance(ciphertext, bytes) or not ciphertext:
            raise EncryptError("AWS KMS returned no ciphertext")
        # the provider info is the key ARN KMS returned (always ARN form)
        edk = EncryptedDataKey(PROVIDER_ID, key_arn.encode("utf-8"), ciphertext)
        return materials.with_edk(edk)

    def on_decrypt(
        self, materials: DecryptionMaterials, edks: Sequence[EncryptedDataKey]
    ) -> DecryptionMaterials:
        if materials.plaintext_data_key is not None:
            return materials
        for edk in edks:
            if edk.provider_id != PROVIDER_ID:
                continue
            _edk_arn(edk)
            # spec: the provider info MUST match the configured identifier (so a keyring
            # configured with an alias or bare key id matches nothing here)
            if edk.provider_info != self.key_id.encode("utf-8"):
                continue
            data_key = _kms_decrypt(self.client, self.key_id, edk, materials, self.grant_tokens)
            if data_key is not None:
                return materials.with_data_key(data_key)
        return materials


class DiscoveryFilter(NamedTuple):
    """aws-kms-discovery-keyring.md#discovery-filter: a partition and allowed accounts."""

    partition: str
    account_ids: Iterable[str]


class KmsDiscoveryKeyring:
    """Decrypts any aws-kms EDK whose key ARN passes the filter, asking KMS with that ARN.

    It cannot encrypt (aws-kms-discovery-keyring.md#onencrypt).
    """

    def __init__(
        self,
        client: KmsClient,
        discovery_filter: DiscoveryFilter | tuple[str, Iterable[str]] | None = None,
        grant_tokens: Iterable[str] = (),
    ) -> None:
        if client is None:
            raise ConfigurationError("a KMS client is required")
        self.client = client
        self.grant_tokens = tuple(grant_tokens)
        self.partition: str | None = None
        self.account_ids: frozenset[str] | None = None
        if discovery_filter is not None:
            partition, accounts = discovery_filter
            account_ids = frozenset(accounts)
            # spec: the filter's partition and account list MUST NOT be empty
            if not partition or not account_ids or not all(account_ids):
                raise ConfigurationError("discovery filter needs a partition and account ids")
            self.partition = partition
            self.account_ids = account_ids

    def on_encrypt(self, materials: EncryptionMaterials) -> EncryptionMaterials:
        raise EncryptError("an AWS KMS discovery keyring cannot encrypt")

    def _passes(self, arn: KmsArn) -> bool:
        if self.partition is None or self.account_ids is None:
            return True
        return arn.partition == self.partition and arn.account in self.account_ids

    def on_decrypt(
        self, materials: DecryptionMaterials, edks: Sequence[EncryptedDataKey]
    ) -> DecryptionMaterials:
        if materials.plaintext_data_key is not None:
            return materials
        for edk in edks:
            if edk.provider_id != PROVIDER_ID:
                continue
            arn = _edk_arn(edk)
            if not self._passes(arn):
                continue
            key_arn = edk.provider_info.decode("utf-8")
            data_key = _kms_decrypt(self.client, key_arn, edk, materials, self.grant_tokens)
            if data_key is not None:
                return materials.with_data_key(data_key)
        return materials
