"""The keyring key in memory: nothing works while it is sealed, the purpose keys derived
from it (checked against a second construction of HKDF and of the legacy derivation,
written from docs/formats/seal.md with the standard library and raw AES-CTR), and
dropping it, which tells every listener."""

from __future__ import annotations

import hashlib
import hmac
import os

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher as RawCipher
from cryptography.hazmat.primitives.ciphers import algorithms, modes

from cofre.core.crypto import Cipher, unwrap, wrap
from cofre.errors import CofreError, SealedError, SealError
from cofre.service.seal.keyring import Keyring

KEY = bytes(range(32))
AAD = b"cofre/test/v1"


def _hkdf(key: bytes, label: bytes) -> bytes:
    """RFC 5869 with SHA-256 for one block (32 bytes), from the format page."""
    prk = hmac.new(b"cofre/hkdf/v1", key, hashlib.sha256).digest()
    info = b"cofre/derived-key/v2\x00" + label
    return hmac.new(prk, info + b"\x01", hashlib.sha256).digest()


def _legacy(key: bytes, label: bytes) -> bytes:
    """GCM's keystream for the label's IV is CTR from the counter block IV | 2."""
    iv = hashlib.sha256(b"cofre/derived-key/v1\x00" + label).digest()[:12]
    encryptor = RawCipher(algorithms.AES(key), modes.CTR(iv + b"\x00\x00\x00\x02")).encryptor()
    return encryptor.update(bytes(32)) + encryptor.finalize()


def _loaded(key: bytes = KEY) -> Keyring:
    keyring = Keyring()
    keyring.load(key)
    return keyring


def test_a_new_keyring_is_sealed_and_refuses_everything() -> None:
    keyring = Keyring()
    assert keyring.sealed
    with pytest.raises(SealedError):
        keyring.key()
    with pytest.raises(SealedError):
        keyring.derive(b"audit-chain-mac")
    with pytest.raises(SealedError):
        keyring.derive(b"audit-chain-mac", legacy=True)
    with pytest.raises(SealedError):
        wrap(keyring, b"secret", AAD, os.urandom)
    with pytest.raises(SealedError):
        keyring.open(bytes(12), bytes(32), AAD)


def test_sealed_is_not_a_seal_error() -> None:
    """Sealed is retryable (503), a seal that refuses is not: two separate classes."""
    assert issubclass(SealedError, CofreError)
    assert not issubclass(SealedError, SealError)
    assert not issubclass(SealError, SealedError)


def test_load_unseals_with_that_key() -> None:
    keyring = _loaded()
    assert not keyring.sealed
    assert keyring.key() == KEY
    wrapped = wrap(keyring, b"secret", AAD, os.urandom)
    assert unwrap(Cipher(KEY), wrapped, AAD) == b"secret"
    assert unwrap(keyring, wrap(Cipher(KEY), b"other", AAD, os.urandom), AAD) == b"other"


@pytest.mark.parametrize("size", [0, 16, 31, 33])
def test_load_refuses_a_key_that_is_not_32_bytes(size: int) -> None:
    keyring = Keyring()
    with pytest.raises(ValueError, match="32 bytes"):
        keyring.load(bytes(size))
    assert keyring.sealed


@pytest.mark.parametrize("label", [b"audit-chain-mac", b"imported-material-id", b""])
def test_derive_is_hkdf_of_the_keyring_key(label: bytes) -> None:
    assert _loaded().derive(label) == _hkdf(KEY, label)


@pytest.mark.parametrize("label", [b"audit-chain-mac", b"imported-material-id"])
def test_legacy_derive_is_the_earlier_construction(label: bytes) -> None:
    assert _loaded().derive(label, legacy=True) == _legacy(KEY, label)


def test_derived_keys_differ_per_label_and_construction() -> None:
    keyring = _loaded()
    derived = [
        keyring.derive(b"audit-chain-mac"),
        keyring.derive(b"imported-material-id"),
        keyring.derive(b"audit-chain-mac", legacy=True),
        keyring.derive(b"imported-material-id", legacy=True),
    ]
    assert len(set(derived)) == 4
    assert KEY not in derived


def test_derived_keys_are_stable_and_follow_the_loaded_key() -> None:
    keyring = _loaded()
    first = keyring.derive(b"audit-chain-mac")
    assert keyring.derive(b"audit-chain-mac") == first
    assert _loaded().derive(b"audit-chain-mac") == first  # another keyring, the same key
    other = os.urandom(32)
    keyring.load(other)
    assert keyring.derive(b"audit-chain-mac") == _hkdf(other, b"audit-chain-mac") != first


def test_drop_seals_and_tells_every_listener_in_order() -> None:
    keyring = _loaded()
    keyring.derive(b"audit-chain-mac")
    told: list[str] = []
    keyring.on_drop(lambda: told.append("cache"))
    keyring.on_drop(lambda: told.append("macs"))
    keyring.drop()
    assert told == ["cache", "macs"]
    assert keyring.sealed
    with pytest.raises(SealedError):
        keyring.key()
    with pytest.raises(SealedError):
        keyring.derive(b"audit-chain-mac")  # not from what was derived before
    with pytest.raises(SealedError):
        wrap(keyring, b"secret", AAD, os.urandom)


def test_load_tells_its_listeners_and_drop_does_not() -> None:
    keyring = Keyring()
    loads: list[bytes] = []
    keyring.on_load(lambda: loads.append(keyring.key()))
    keyring.load(KEY)
    keyring.drop()
    assert loads == [KEY]


def test_a_dropped_keyring_unseals_again() -> None:
    keyring = _loaded()
    keyring.drop()
    keyring.load(KEY)
    assert keyring.key() == KEY
    assert keyring.derive(b"audit-chain-mac") == _hkdf(KEY, b"audit-chain-mac")
