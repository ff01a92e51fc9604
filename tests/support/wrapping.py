"""Key material wrapped for ImportKeyMaterial as the KMS Developer Guide says, with
pyca/cryptography (RSA-OAEP, or an AES key RSA-OAEP-wrapped and RFC 5649 key wrap)."""

from __future__ import annotations

import os
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.keywrap import aes_key_wrap_with_padding

NEVER = "KEY_MATERIAL_DOES_NOT_EXPIRE"


def pkcs8(private: Any) -> bytes:
    return bytes(
        private.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def wrapped(params: dict[str, Any], algorithm: str, material: bytes) -> bytes:
    """``material`` wrapped as the Developer Guide says, for ``algorithm``."""
    public = serialization.load_der_public_key(params["PublicKey"])
    assert isinstance(public, rsa.RSAPublicKey)
    digest = hashes.SHA256() if algorithm.endswith("SHA_256") else hashes.SHA1()
    oaep = padding.OAEP(mgf=padding.MGF1(digest), algorithm=digest, label=None)
    if algorithm.startswith("RSAES_OAEP"):
        return public.encrypt(material, oaep)
    aes_key = os.urandom(32)
    return public.encrypt(aes_key, oaep) + aes_key_wrap_with_padding(aes_key, material)


def import_into(
    kms: Any, key_id: str, material: bytes, algorithm: str, wrapping_spec: str, **extra: Any
) -> dict[str, Any]:
    params = kms.get_parameters_for_import(
        KeyId=key_id, WrappingAlgorithm=algorithm, WrappingKeySpec=wrapping_spec
    )
    return dict(
        kms.import_key_material(
            KeyId=key_id,
            ImportToken=params["ImportToken"],
            EncryptedKeyMaterial=wrapped(params, algorithm, material),
            **extra,
        )
    )
