"""Required encryption context: authenticated, not stored; reproduced on decrypt.

The installed official SDK (4.x) has no RequiredEncryptionContextCMM of its own: that
class lives in aws-cryptographic-material-providers, which is not a dependency. Its
streaming client does honour ``required_encryption_context_keys`` on materials (the hook
the MPL CMM uses), so ``OfficialRequiredContext`` below drives exactly that code path, in
both directions.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from aws_encryption_sdk.materials_managers import DecryptionMaterialsRequest
from aws_encryption_sdk.materials_managers.base import CryptoMaterialsManager
from aws_encryption_sdk.materials_managers.default import DefaultCryptoMaterialsManager

from cofre import esdk
from tests.esdk import official

S = esdk.AlgorithmSuite
P = esdk.CommitmentPolicy
CONTEXT = {"tenant": "acme", "purpose": "required-context"}


@pytest.fixture
def cmm(aes_keyring: esdk.RawAesKeyring) -> esdk.RequiredEncryptionContextCmm:
    return esdk.RequiredEncryptionContextCmm(["tenant"], keyring=aes_keyring)


def test_required_pairs_are_authenticated_not_stored(
    cmm: esdk.RequiredEncryptionContextCmm, aes_keyring: esdk.RawAesKeyring
) -> None:
    message, header = esdk.encrypt(b"data", materials_manager=cmm, encryption_context=CONTEXT)
    assert "tenant" not in header.encryption_context
    assert header.encryption_context["purpose"] == "required-context"
    assert header.authenticated_only_context == {"tenant": "acme"}
    assert b"acme" not in message
    # a keyring (default CMM) decrypts when the caller reproduces the pair ...
    plaintext, decrypted = esdk.decrypt(message, aes_keyring, encryption_context={"tenant": "acme"})
    assert plaintext == b"data"
    assert decrypted.authenticated_only_context == {"tenant": "acme"}
    assert decrypted.encryption_context == header.encryption_context
    # ... and fails without it, or with another value
    for context in (None, {"tenant": "other"}, {"purpose": "required-context"}):
        with pytest.raises(esdk.DecryptError):
            esdk.decrypt(message, aes_keyring, encryption_context=context)


def test_required_context_cmm_on_decrypt(cmm: esdk.RequiredEncryptionContextCmm) -> None:
    message, _ = esdk.encrypt(b"data", materials_manager=cmm, encryption_context=CONTEXT)
    assert esdk.decrypt(message, materials_manager=cmm, encryption_context=CONTEXT)[0] == b"data"
    with pytest.raises(esdk.DecryptError, match="lacks required keys: tenant"):
        esdk.decrypt(
            message, materials_manager=cmm, encryption_context={"purpose": "required-context"}
        )
    with pytest.raises(esdk.DecryptError):
        esdk.decrypt(message, materials_manager=cmm, encryption_context={"tenant": "evil"})


def test_missing_required_key_fails_on_encrypt(cmm: esdk.RequiredEncryptionContextCmm) -> None:
    with pytest.raises(esdk.EncryptError, match="lacks required keys: tenant"):
        esdk.encrypt(b"x", materials_manager=cmm, encryption_context={"purpose": "x"})


def test_stored_required_key_must_match_reproduced(
    cmm: esdk.RequiredEncryptionContextCmm, aes_keyring: esdk.RawAesKeyring
) -> None:
    """A message that stores the key decrypts through the CMM when the value agrees."""
    message, _ = esdk.encrypt(b"stored", aes_keyring, encryption_context=CONTEXT)
    assert esdk.decrypt(message, materials_manager=cmm, encryption_context=CONTEXT)[0] == b"stored"
    with pytest.raises(esdk.DecryptError, match="does not match"):
        esdk.decrypt(message, materials_manager=cmm, encryption_context={"tenant": "x"})
    # reproducing a pair the message neither stores nor authenticates fails
    with pytest.raises(esdk.DecryptError):
        esdk.decrypt(message, aes_keyring, encryption_context={"extra": "1"})


@pytest.mark.parametrize(
    ("suite", "policy", "frame_length"),
    [
        (S.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384, P.REQUIRE_ENCRYPT_REQUIRE_DECRYPT, 64),
        (S.AES_256_GCM_HKDF_SHA512_COMMIT_KEY, P.REQUIRE_ENCRYPT_REQUIRE_DECRYPT, 0),
        (S.AES_256_GCM_IV12_TAG16_HKDF_SHA256, P.FORBID_ENCRYPT_ALLOW_DECRYPT, 64),
    ],
    ids=["0578", "0478-nonframed", "0178-v1"],
)
def test_streams_and_suites(
    suite: esdk.AlgorithmSuite,
    policy: esdk.CommitmentPolicy,
    frame_length: int,
    cmm: esdk.RequiredEncryptionContextCmm,
) -> None:
    sink = io.BytesIO()
    esdk.encrypt_stream(
        io.BytesIO(b"s" * 300), sink, materials_manager=cmm, encryption_context=CONTEXT,
        algorithm=suite, frame_length=frame_length, commitment_policy=policy,
    )  # fmt: skip
    out = io.BytesIO()
    header = esdk.decrypt_stream(
        io.BytesIO(sink.getvalue()), out, materials_manager=cmm, encryption_context=CONTEXT,
        commitment_policy=policy,
    )  # fmt: skip
    assert out.getvalue() == b"s" * 300 and header.suite is suite


def test_configuration(aes_keyring: esdk.RawAesKeyring) -> None:
    for keys in ("tenant", [""], ["aws-crypto-x"]):
        with pytest.raises(esdk.ConfigurationError):
            esdk.RequiredEncryptionContextCmm(keys, keyring=aes_keyring)  # type: ignore[arg-type]
    with pytest.raises(esdk.ConfigurationError):
        esdk.RequiredEncryptionContextCmm(["a"])
    caching = esdk.CachingCmm(aes_keyring, cache=esdk.LocalCache(4), max_age=60)
    composed = esdk.RequiredEncryptionContextCmm(["tenant"], materials_manager=caching)
    _, h1 = esdk.encrypt(b"1", materials_manager=composed, encryption_context=CONTEXT)
    two, h2 = esdk.encrypt(b"2", materials_manager=composed, encryption_context=CONTEXT)
    assert h1.encrypted_data_keys == h2.encrypted_data_keys  # the caching CMM below reused it
    assert esdk.decrypt(two, aes_keyring, encryption_context={"tenant": "acme"})[0] == b"2"


class _Materials:
    """Decryption materials in the shape the official streaming client reads."""

    def __init__(self, inner: Any, context: dict[str, str], required: list[str]) -> None:
        self.data_key = inner.data_key
        self.verification_key = inner.verification_key
        self.encryption_context = context
        self.required_encryption_context_keys = required


class OfficialRequiredContext(CryptoMaterialsManager):  # type: ignore[misc]
    """The official default CMM plus ``required`` pairs that are authenticated, not stored."""

    def __init__(self, provider: Any, required: dict[str, str]) -> None:
        self.default = DefaultCryptoMaterialsManager(provider)
        self.required = required

    def get_encryption_materials(self, request: Any) -> Any:
        materials = self.default.get_encryption_materials(request)
        materials.required_encryption_context_keys = list(self.required)
        return materials

    def decrypt_materials(self, request: Any) -> Any:
        context = {**request.encryption_context, **self.required}
        inner = self.default.decrypt_materials(
            DecryptionMaterialsRequest(
                algorithm=request.algorithm,
                encrypted_data_keys=request.encrypted_data_keys,
                encryption_context=context,
                commitment_policy=request.commitment_policy,
            )
        )
        return _Materials(inner, context, list(self.required))


@pytest.mark.parametrize(
    "suite", [S.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384, S.AES_256_GCM_HKDF_SHA512_COMMIT_KEY]
)
def test_interop_with_the_official_client(
    suite: esdk.AlgorithmSuite, cmm: esdk.RequiredEncryptionContextCmm, aes_key: bytes
) -> None:
    client = official.client(P.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    provider = official.aes_master_key("cofre-test", "aes-key-1", aes_key)
    theirs_cmm = OfficialRequiredContext(provider, {"tenant": "acme"})
    plaintext = b"interop" * 1000

    ours, _ = esdk.encrypt(
        plaintext, materials_manager=cmm, encryption_context=CONTEXT, algorithm=suite
    )
    got, their_header = client.decrypt(source=ours, materials_manager=theirs_cmm)
    assert got == plaintext
    assert "tenant" not in their_header.encryption_context
    with pytest.raises(Exception):  # noqa: B017 - the official client's own error types
        client.decrypt(source=ours, key_provider=provider)  # without the pair: fails

    theirs, header = client.encrypt(
        source=plaintext, materials_manager=theirs_cmm, algorithm=official.algorithm(suite),
        encryption_context={"purpose": "required-context", "tenant": "acme"},
    )  # fmt: skip
    assert "tenant" not in header.encryption_context
    assert esdk.decrypt(theirs, materials_manager=cmm, encryption_context=CONTEXT)[0] == plaintext
    with pytest.raises(esdk.DecryptError):
        esdk.decrypt(theirs, materials_manager=cmm, encryption_context={"tenant": "evil"})
