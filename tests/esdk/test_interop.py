"""Interoperability with the official aws-encryption-sdk, in both directions."""

from __future__ import annotations

import os
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from cofre import esdk
from tests.esdk import official

S = esdk.AlgorithmSuite
P = esdk.CommitmentPolicy
COMMITTING = [S.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384, S.AES_256_GCM_HKDF_SHA512_COMMIT_KEY]
V1_SUITES = [s for s in S if not s.committing]
CONTEXT = {"purpose": "interop", "tenant": "ünïcode"}
# sizes: empty, less than a frame, exact multiples of 512 and 4096, several frames + a tail
SIZES = [0, 100, 4096, 9000]


def pair(kind: str, aes_key: bytes, rsa_key: rsa.RSAPrivateKey, rsa_pem: bytes) -> tuple[Any, Any]:
    """(Cofre keyring, official master key provider) over the same wrapping keys."""
    aes = esdk.RawAesKeyring("cofre-test", "aes-1", aes_key)
    rsa_kr = esdk.RawRsaKeyring(
        "cofre-test", "rsa-1", esdk.RsaPadding.OAEP_SHA256_MGF1, private_key=rsa_key
    )
    if kind == "aes":
        return aes, official.aes_master_key("cofre-test", "aes-1", aes_key)
    if kind == "rsa":
        return rsa_kr, official.rsa_master_key("cofre-test", "rsa-1", rsa_pem)
    aes2_key = bytes(reversed(aes_key))
    multi = esdk.MultiKeyring(
        generator=aes, children=[rsa_kr, esdk.RawAesKeyring("cofre-test", "aes-2", aes2_key)]
    )
    provider = official.multi_provider(
        [
            official.aes_master_key("cofre-test", "aes-1", aes_key),
            official.rsa_master_key("cofre-test", "rsa-1", rsa_pem),
            official.aes_master_key("cofre-test", "aes-2", aes2_key),
        ]
    )
    return multi, provider


@pytest.mark.parametrize("suite", COMMITTING, ids=lambda s: f"{s.suite_id:04x}")
@pytest.mark.parametrize("kind", ["aes", "rsa", "multi"])
@pytest.mark.parametrize("frame_length", [4096, 512, 0], ids=["f4096", "f512", "nonframed"])
@pytest.mark.parametrize("size", SIZES)
def test_both_directions(
    suite: esdk.AlgorithmSuite,
    kind: str,
    frame_length: int,
    size: int,
    aes_key: bytes,
    rsa_key: rsa.RSAPrivateKey,
    rsa_pem: bytes,
) -> None:
    keyring, provider = pair(kind, aes_key, rsa_key, rsa_pem)
    client = official.client(P.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    plaintext = os.urandom(size)

    ours, header = esdk.encrypt(
        plaintext, keyring, encryption_context=CONTEXT, algorithm=suite, frame_length=frame_length
    )
    expected_edks = 3 if kind == "multi" else 1
    assert len(header.encrypted_data_keys) == expected_edks
    got, their_header = client.decrypt(source=ours, key_provider=provider)
    if kind == "multi":  # the official side encrypts under all three keys too
        check = client.encrypt(source=b"", key_provider=provider)[1]
        assert len(check.encrypted_data_keys) == 3
    assert got == plaintext
    assert their_header.algorithm.algorithm_id == suite.suite_id
    assert {k: v for k, v in their_header.encryption_context.items() if k in CONTEXT} == CONTEXT

    theirs, _ = client.encrypt(
        source=plaintext,
        key_provider=provider,
        encryption_context=CONTEXT,
        algorithm=official.algorithm(suite),
        frame_length=frame_length,
    )
    got, header = esdk.decrypt(theirs, keyring)
    assert got == plaintext
    assert header.suite is suite
    assert {k: v for k, v in header.encryption_context.items() if k in CONTEXT} == CONTEXT


@pytest.mark.parametrize("kind", ["aes", "rsa"])
def test_decrypt_with_any_single_key_of_a_multi_key_message(
    kind: str, aes_key: bytes, rsa_key: rsa.RSAPrivateKey, rsa_pem: bytes
) -> None:
    multi, provider = pair("multi", aes_key, rsa_key, rsa_pem)
    single, _ = pair(kind, aes_key, rsa_key, rsa_pem)
    theirs, _ = official.client(P.REQUIRE_ENCRYPT_REQUIRE_DECRYPT).encrypt(
        source=b"multi", key_provider=provider
    )
    assert esdk.decrypt(theirs, single)[0] == b"multi"
    ours, _ = esdk.encrypt(b"multi", multi)
    assert esdk.decrypt(ours, single)[0] == b"multi"


@pytest.mark.parametrize("suite", V1_SUITES, ids=lambda s: f"{s.suite_id:04x}")
@pytest.mark.parametrize("frame_length", [512, 0], ids=["f512", "nonframed"])
def test_message_format_v1_both_directions(
    suite: esdk.AlgorithmSuite, frame_length: int, aes_key: bytes, rsa_key: rsa.RSAPrivateKey
) -> None:
    keyring, provider = pair("aes", aes_key, rsa_key, b"")
    client = official.client(P.FORBID_ENCRYPT_ALLOW_DECRYPT)
    plaintext = os.urandom(1500)
    theirs, _ = client.encrypt(
        source=plaintext,
        key_provider=provider,
        encryption_context=CONTEXT,
        algorithm=official.algorithm(suite),
        frame_length=frame_length,
    )
    got, header = esdk.decrypt(theirs, keyring, commitment_policy=P.REQUIRE_ENCRYPT_ALLOW_DECRYPT)
    assert got == plaintext
    assert header.version == 1
    with pytest.raises(esdk.DecryptError):
        esdk.decrypt(theirs, keyring)  # the default policy requires key commitment

    ours, header = esdk.encrypt(
        plaintext,
        keyring,
        algorithm=suite,
        frame_length=frame_length,
        commitment_policy=P.FORBID_ENCRYPT_ALLOW_DECRYPT,
    )
    assert header.version == 1
    assert client.decrypt(source=ours, key_provider=provider)[0] == plaintext
