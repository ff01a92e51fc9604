"""The caching CMM: limits on messages, bytes and age; what is never cached; interop."""

from __future__ import annotations

import io
import os
from collections.abc import Sequence

import pytest

from cofre import esdk
from tests.esdk import official

S = esdk.AlgorithmSuite
P = esdk.CommitmentPolicy
UNSIGNED = S.AES_256_GCM_HKDF_SHA512_COMMIT_KEY


class CountingKeyring:
    """A raw AES keyring that counts the data keys it makes and unwraps."""

    def __init__(self, key: bytes) -> None:
        self.inner = esdk.RawAesKeyring("cofre-test", "aes-1", key)
        self.encrypts = 0
        self.decrypts = 0

    def on_encrypt(self, materials: esdk.EncryptionMaterials) -> esdk.EncryptionMaterials:
        self.encrypts += 1
        return self.inner.on_encrypt(materials)

    def on_decrypt(
        self, materials: esdk.DecryptionMaterials, edks: Sequence[esdk.EncryptedDataKey]
    ) -> esdk.DecryptionMaterials:
        self.decrypts += 1
        return self.inner.on_decrypt(materials, edks)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def caching(
    keyring: CountingKeyring, clock: Clock | None = None, capacity: int = 10, **limits: int
) -> esdk.CachingCmm:
    return esdk.CachingCmm(
        keyring,
        cache=esdk.LocalCache(capacity),
        max_age=60.0,
        clock=clock or Clock(),
        **limits,  # type: ignore[arg-type]
    )


def data_key_edks(
    cmm: esdk.CachingCmm, count: int, size: int = 100, **kwargs: object
) -> list[bytes]:
    """Encrypt ``count`` messages; return each message's first EDK ciphertext."""
    out = []
    for _ in range(count):
        _, header = esdk.encrypt(os.urandom(size), materials_manager=cmm, **kwargs)  # type: ignore[arg-type]
        out.append(header.encrypted_data_keys[0].ciphertext)
    return out


def groups(edks: list[bytes]) -> list[int]:
    """Run lengths of equal consecutive EDKs: [3, 3, 1] = 3 messages per data key."""
    runs: list[int] = []
    for i, edk in enumerate(edks):
        if i and edk == edks[i - 1]:
            runs[-1] += 1
        else:
            runs.append(1)
    return runs


def test_key_reused_until_max_messages(aes_key: bytes) -> None:
    keyring = CountingKeyring(aes_key)
    cmm = caching(keyring, max_messages_encrypted=3)
    assert groups(data_key_edks(cmm, 7)) == [3, 3, 1]
    assert keyring.encrypts == 3


def test_key_reused_until_max_bytes(aes_key: bytes) -> None:
    keyring = CountingKeyring(aes_key)
    cmm = caching(keyring, max_bytes_encrypted=1000)
    # 400 + 400 fit, a third 400 would make 1200 > 1000
    assert groups(data_key_edks(cmm, 5, size=400)) == [2, 2, 1]
    # a message longer than the limit never uses (or fills) the cache
    assert groups(data_key_edks(cmm, 2, size=1001)) == [1, 1]


def test_key_reused_until_max_age(aes_key: bytes) -> None:
    keyring, clock = CountingKeyring(aes_key), Clock()
    cmm = caching(keyring, clock)
    first = data_key_edks(cmm, 2)
    clock.now += 59.9
    second = data_key_edks(cmm, 1)
    clock.now += 0.1  # 60 s after the key was cached: expired
    third = data_key_edks(cmm, 2)
    assert groups(first + second + third) == [3, 2]


def test_never_cached_without_length_or_kdf(aes_key: bytes) -> None:
    keyring = CountingKeyring(aes_key)
    cmm = caching(keyring)
    for _ in range(2):  # a stream of unknown length: no cache
        esdk.encrypt_stream(io.BytesIO(b"x" * 10), io.BytesIO(), materials_manager=cmm)
    assert keyring.encrypts == 2
    identity = S.AES_256_GCM_IV12_TAG16_NO_KDF
    policy = P.FORBID_ENCRYPT_ALLOW_DECRYPT
    edks = data_key_edks(cmm, 2, algorithm=identity, commitment_policy=policy)
    assert groups(edks) == [1, 1]
    messages = [
        esdk.encrypt(b"m", materials_manager=cmm, algorithm=identity, commitment_policy=policy)[0]
        for _ in range(2)
    ]
    keyring.decrypts = 0
    for message in messages * 2:
        esdk.decrypt(message, materials_manager=cmm, commitment_policy=policy)
    assert keyring.decrypts == 4  # identity-KDF decryption materials are not cached either


def test_entry_ids_separate_suites_contexts_partitions_and_policies(aes_key: bytes) -> None:
    keyring = CountingKeyring(aes_key)
    cache = esdk.LocalCache(10)
    cmm = esdk.CachingCmm(keyring, cache=cache, max_age=60, partition="p")
    twin = esdk.CachingCmm(keyring, cache=cache, max_age=60, partition="p")
    other = esdk.CachingCmm(keyring, cache=cache, max_age=60)
    a = data_key_edks(cmm, 1, encryption_context={"a": "1"})
    assert data_key_edks(twin, 1, encryption_context={"a": "1"}) == a  # same partition: shared
    assert data_key_edks(other, 1, encryption_context={"a": "1"}) != a
    assert data_key_edks(cmm, 1, encryption_context={"a": "2"}) != a
    assert data_key_edks(cmm, 1, encryption_context={"a": "1"}, algorithm=UNSIGNED) != a
    _, v1 = esdk.encrypt(
        b"x", materials_manager=cmm, encryption_context={"a": "1"},
        commitment_policy=P.FORBID_ENCRYPT_ALLOW_DECRYPT,
    )  # fmt: skip
    assert v1.suite is S.AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384


def test_lru_capacity(aes_key: bytes) -> None:
    keyring = CountingKeyring(aes_key)
    cmm = caching(keyring, capacity=1)
    for context in ({"a": "1"}, {"a": "2"}, {"a": "1"}):
        data_key_edks(cmm, 1, encryption_context=context)
    assert keyring.encrypts == 3
    assert len(cmm.cache) == 1


def test_decryption_materials_cached_until_max_age(aes_key: bytes) -> None:
    keyring, clock = CountingKeyring(aes_key), Clock()
    cmm = caching(keyring, clock)
    message, _ = esdk.encrypt(b"hello", esdk.RawAesKeyring("cofre-test", "aes-1", aes_key))
    for _ in range(3):
        assert esdk.decrypt(message, materials_manager=cmm)[0] == b"hello"
    assert keyring.decrypts == 1
    clock.now += 60
    esdk.decrypt(message, materials_manager=cmm)
    assert keyring.decrypts == 2


def test_cached_decryption_does_not_vouch_for_a_wrong_reproduced_context(aes_key: bytes) -> None:
    plain = esdk.RawAesKeyring("cofre-test", "aes-1", aes_key)
    required = esdk.RequiredEncryptionContextCmm(["tenant"], keyring=plain)
    message, _ = esdk.encrypt(b"t", materials_manager=required, encryption_context={"tenant": "a"})
    cmm = caching(CountingKeyring(aes_key))
    assert esdk.decrypt(message, materials_manager=cmm, encryption_context={"tenant": "a"})[0]
    with pytest.raises(esdk.DecryptError):
        esdk.decrypt(message, materials_manager=cmm, encryption_context={"tenant": "b"})


def test_configuration_is_checked(aes_key: bytes) -> None:
    keyring = CountingKeyring(aes_key)
    for bad in (
        {"max_age": 0},
        {"max_age": float("inf")},
        {"max_age": 1, "max_messages_encrypted": 0},
        {"max_age": 1, "max_messages_encrypted": 2**32 + 1},
        {"max_age": 1, "max_bytes_encrypted": -1},
    ):
        with pytest.raises(esdk.ConfigurationError):
            esdk.CachingCmm(keyring, cache=esdk.LocalCache(1), **bad)  # type: ignore[arg-type]
    with pytest.raises(esdk.ConfigurationError):
        esdk.LocalCache(0)
    with pytest.raises(esdk.ConfigurationError):
        esdk.CachingCmm(cache=esdk.LocalCache(1), max_age=1)


@pytest.mark.parametrize("suite", [S.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384, UNSIGNED])
def test_messages_sharing_a_data_key_decrypt_with_the_official_sdk(
    suite: esdk.AlgorithmSuite, aes_key: bytes
) -> None:
    cmm = caching(CountingKeyring(aes_key), max_messages_encrypted=2)
    plaintexts = [os.urandom(n) for n in (0, 100, 5000)]
    messages = [
        esdk.encrypt(p, materials_manager=cmm, algorithm=suite, encryption_context={"c": "1"})[0]
        for p in plaintexts
    ]
    client = official.client(P.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    provider = official.aes_master_key("cofre-test", "aes-1", aes_key)
    for plaintext, message in zip(plaintexts, messages, strict=True):
        assert client.decrypt(source=message, key_provider=provider)[0] == plaintext
