"""Keys shared by the Encryption SDK tests (RSA generation is slow: once per session)."""

from __future__ import annotations

import os

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from cofre import esdk


@pytest.fixture(scope="session")
def aes_key() -> bytes:
    return os.urandom(32)


@pytest.fixture(scope="session")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def rsa_pem(rsa_key: rsa.RSAPrivateKey) -> bytes:
    return rsa_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


@pytest.fixture
def aes_keyring(aes_key: bytes) -> esdk.RawAesKeyring:
    return esdk.RawAesKeyring("cofre-test", "aes-key-1", aes_key)
