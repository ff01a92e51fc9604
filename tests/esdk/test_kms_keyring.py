"""AWS KMS keyrings against a real Cofre server, and interop with the official SDK."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import aws_encryption_sdk
import botocore.session
import pytest
from aws_encryption_sdk.identifiers import CommitmentPolicy

from cofre import esdk
from tests.support.server import (
    ACCESS_KEY_ID,
    ACCOUNT_ID,
    REGION,
    SECRET_ACCESS_KEY,
    CofreServer,
)

S = esdk.AlgorithmSuite
CONTEXT = {"purpose": "kms-keyring", "tenant": "ünïcode"}


def new_key(kms: Any) -> str:
    return str(kms.create_key(Description="esdk keyring")["KeyMetadata"]["Arn"])


@pytest.fixture
def arn(kms: Any) -> str:
    return new_key(kms)


def kms_edks(header: esdk.MessageHeader) -> list[esdk.EncryptedDataKey]:
    return [e for e in header.encrypted_data_keys if e.provider_id == "aws-kms"]


@pytest.mark.parametrize(
    "suite",
    [S.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384, S.AES_256_GCM_HKDF_SHA512_COMMIT_KEY],
    ids=lambda s: f"{s.suite_id:04x}",
)
def test_round_trip(kms: Any, arn: str, suite: esdk.AlgorithmSuite) -> None:
    keyring = esdk.KmsKeyring(kms, arn)
    message, header = esdk.encrypt(
        b"secret" * 1000, keyring, encryption_context=CONTEXT, algorithm=suite
    )
    [edk] = kms_edks(header)
    assert edk.provider_info == arn.encode()
    plaintext, decrypted = esdk.decrypt(message, keyring, encryption_context=CONTEXT)
    assert plaintext == b"secret" * 1000 and decrypted == header


def test_key_id_resolves_to_arn_on_encrypt(kms: Any, arn: str) -> None:
    key_id = arn.rsplit("/", 1)[1]
    message, header = esdk.encrypt(b"x", esdk.KmsKeyring(kms, key_id))
    # the EDK records the ARN KMS returned, so only an ARN-configured keyring matches it
    assert kms_edks(header)[0].provider_info == arn.encode()
    assert esdk.decrypt(message, esdk.KmsKeyring(kms, arn))[0] == b"x"
    with pytest.raises(esdk.DecryptError, match="no keyring could decrypt"):
        esdk.decrypt(message, esdk.KmsKeyring(kms, key_id))


def test_multi_keyring_kms_and_raw_aes(kms: Any, arn: str, aes_key: bytes) -> None:
    aes = esdk.RawAesKeyring("cofre-test", "aes-1", aes_key)
    other = new_key(kms)
    multi = esdk.MultiKeyring(generator=esdk.KmsKeyring(kms, arn), children=[aes])
    message, header = esdk.encrypt(b"both", multi, encryption_context=CONTEXT)
    assert [e.provider_id for e in header.encrypted_data_keys] == ["aws-kms", "cofre-test"]
    assert esdk.decrypt(message, aes)[0] == b"both"
    assert esdk.decrypt(message, esdk.KmsKeyring(kms, arn))[0] == b"both"
    # raw AES generates, KMS Encrypts the existing data key
    multi = esdk.MultiKeyring(generator=aes, children=[esdk.KmsKeyring(kms, other)])
    message, header = esdk.encrypt(b"both", multi, encryption_context=CONTEXT)
    assert kms_edks(header)[0].provider_info == other.encode()
    assert esdk.decrypt(message, esdk.KmsKeyring(kms, other))[0] == b"both"


def test_discovery_keyring_filter(kms: Any, arn: str) -> None:
    message, _ = esdk.encrypt(b"found", esdk.KmsKeyring(kms, arn), encryption_context=CONTEXT)
    for flt in (None, ("aws", [ACCOUNT_ID]), esdk.DiscoveryFilter("aws", {ACCOUNT_ID, "1"})):
        assert esdk.decrypt(message, esdk.KmsDiscoveryKeyring(kms, flt))[0] == b"found"
    for flt in (("aws", ["999999999999"]), ("aws-cn", [ACCOUNT_ID])):
        with pytest.raises(esdk.DecryptError, match="no keyring could decrypt"):
            esdk.decrypt(message, esdk.KmsDiscoveryKeyring(kms, flt))
    with pytest.raises(esdk.EncryptError):
        esdk.encrypt(b"x", esdk.KmsDiscoveryKeyring(kms))
    with pytest.raises(esdk.ConfigurationError):
        esdk.KmsDiscoveryKeyring(kms, ("aws", []))


def test_kms_error_moves_on_to_next_edk(kms: Any, arn: str) -> None:
    second = new_key(kms)
    multi = esdk.MultiKeyring(
        generator=esdk.KmsKeyring(kms, arn), children=[esdk.KmsKeyring(kms, second)]
    )
    message, _ = esdk.encrypt(b"fallback", multi)
    kms.disable_key(KeyId=arn)
    assert esdk.decrypt(message, esdk.KmsDiscoveryKeyring(kms))[0] == b"fallback"
    with pytest.raises(esdk.DecryptError, match="no keyring could decrypt"):
        esdk.decrypt(message, esdk.KmsKeyring(kms, arn))


def test_wrong_key_is_a_decrypt_error(kms: Any, arn: str) -> None:
    message, _ = esdk.encrypt(b"hi", esdk.KmsKeyring(kms, arn))
    with pytest.raises(esdk.DecryptError, match="no keyring could decrypt"):
        esdk.decrypt(message, esdk.KmsKeyring(kms, new_key(kms)))


def test_encrypt_with_unknown_key_fails(kms: Any) -> None:
    missing = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/00000000-0000-0000-0000-000000000000"
    with pytest.raises(esdk.EncryptError):
        esdk.encrypt(b"x", esdk.KmsKeyring(kms, missing))


class FakeKms:
    """Answers Decrypt with a fixed response, to exercise the response checks."""

    def __init__(self, response: Mapping[str, Any]) -> None:
        self.response = response
        self.calls: list[dict[str, Any]] = []

    def encrypt(self, **kwargs: Any) -> Mapping[str, Any]:
        raise NotImplementedError

    def generate_data_key(self, **kwargs: Any) -> Mapping[str, Any]:
        raise NotImplementedError

    def decrypt(self, **kwargs: Any) -> Mapping[str, Any]:
        self.calls.append(kwargs)
        return self.response


FAKE_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/fake"


def fake_materials() -> esdk.DecryptionMaterials:
    return esdk.DecryptionMaterials(S.AES_256_GCM_HKDF_SHA512_COMMIT_KEY, {"a": "b"})


@pytest.mark.parametrize(
    "response",
    [
        {"KeyId": FAKE_ARN.replace("fake", "other"), "Plaintext": os.urandom(32)},
        {"KeyId": FAKE_ARN, "Plaintext": os.urandom(16)},
    ],
    ids=["key-id-mismatch", "wrong-length"],
)
def test_decrypt_response_is_checked(response: Mapping[str, Any]) -> None:
    fake = FakeKms(response)
    edk = esdk.EncryptedDataKey("aws-kms", FAKE_ARN.encode(), b"blob")
    for keyring in (esdk.KmsKeyring(fake, FAKE_ARN, ["tok"]), esdk.KmsDiscoveryKeyring(fake)):
        result = keyring.on_decrypt(fake_materials(), [edk])
        assert result.plaintext_data_key is None
    assert fake.calls[0] == {
        "KeyId": FAKE_ARN,
        "CiphertextBlob": b"blob",
        "EncryptionContext": {"a": "b"},
        "GrantTokens": ["tok"],
    }


def test_malformed_provider_info_fails_and_config_is_checked() -> None:
    fake = FakeKms({"KeyId": FAKE_ARN, "Plaintext": os.urandom(32)})
    edk = esdk.EncryptedDataKey("aws-kms", b"not-an-arn", b"blob")
    with pytest.raises(esdk.DecryptError, match="malformed"):
        esdk.KmsKeyring(fake, FAKE_ARN).on_decrypt(fake_materials(), [edk])
    good = esdk.EncryptedDataKey("aws-kms", FAKE_ARN.encode(), b"blob")
    result = esdk.KmsKeyring(fake, FAKE_ARN).on_decrypt(fake_materials(), [good])
    assert result.plaintext_data_key == fake.response["Plaintext"]
    for bad in ("", "arn:aws:s3:::bucket", "arn:aws:kms:us-east-1:1:key/"):
        with pytest.raises(esdk.ConfigurationError):
            esdk.KmsKeyring(fake, bad)


@pytest.fixture
def official_session(server: CofreServer, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A botocore session whose KMS clients talk to Cofre (service-specific endpoint env)."""
    if server.tls_cafile is not None:
        monkeypatch.setenv("AWS_CA_BUNDLE", str(server.tls_cafile))
    monkeypatch.setenv("AWS_ENDPOINT_URL_KMS", server.url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return botocore.session.Session()


def test_interop_with_official_kms_provider(kms: Any, arn: str, official_session: Any) -> None:
    provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(
        key_ids=[arn], botocore_session=official_session
    )
    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    )
    keyring = esdk.KmsKeyring(kms, arn)
    data = os.urandom(9000)

    # official encrypts through Cofre KMS -> Cofre's keyring decrypts
    theirs, _ = client.encrypt(source=data, key_provider=provider, encryption_context=CONTEXT)
    plaintext, header = esdk.decrypt(theirs, keyring, encryption_context=CONTEXT)
    assert plaintext == data
    assert kms_edks(header)[0].provider_info == arn.encode()

    # Cofre encrypts -> official decrypts
    ours, _ = esdk.encrypt(data, keyring, encryption_context=CONTEXT)
    decrypted, their_header = client.decrypt(source=ours, key_provider=provider)
    assert decrypted == data
    assert their_header.encryption_context["purpose"] == CONTEXT["purpose"]
