"""Ed25519ph (RFC 8032 HashEdDSA) against the RFC's own test vector, and as KMS uses it."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from cofre.core.kms import asymmetric, ed25519ph
from cofre.core.kms.keyspecs import KEY_SPECS
from cofre.errors import ValidationError
from tests.support.vectors import VECTORS as VECTOR_DIR

VECTORS = json.loads((VECTOR_DIR / "ed25519ph-rfc8032.json").read_text())
RAW = serialization.Encoding.Raw


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_rfc8032_vector(vector: dict[str, Any]) -> None:
    private = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(vector["secret_key"]))
    public = private.public_key()
    assert public.public_bytes(RAW, serialization.PublicFormat.Raw).hex() == vector["public_key"]
    message = bytes.fromhex(vector["message"])
    signature = ed25519ph.sign(private, message)
    assert signature.hex() == vector["signature"]  # Ed25519 signatures are deterministic
    ed25519ph.verify(public, message, signature)
    with pytest.raises(ValueError):
        ed25519ph.verify(public, message + b"!", signature)
    with pytest.raises(ValueError):
        ed25519ph.verify(public, message, signature[:-1] + bytes([signature[-1] ^ 1]))


def test_ed25519ph_is_not_pure_ed25519() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    assert ed25519ph.sign(private, b"m") != private.sign(b"m")


def test_kms_plan_signs_the_digest_with_the_prehash_applied_again() -> None:
    # Sign API reference: ED25519_PH_SHA_512 takes MessageType DIGEST (a SHA-512 digest) and
    # KMS still applies the HashEdDSA prehash, so the signed message M is the digest itself.
    info = KEY_SPECS["ECC_NIST_EDWARDS25519"]
    private = ed25519.Ed25519PrivateKey.generate()
    digest = hashlib.sha512(b"a message").digest()
    signature = asymmetric.sign(info, private, "ED25519_PH_SHA_512", "DIGEST", digest)
    ed25519ph.verify(private.public_key(), digest, signature)
    assert asymmetric.verify(info, private, "ED25519_PH_SHA_512", "DIGEST", digest, signature)
    assert not asymmetric.verify(
        info, private, "ED25519_PH_SHA_512", "DIGEST", hashlib.sha512(b"other").digest(), signature
    )
    for message_type, message in (("RAW", b"a message"), ("DIGEST", digest[:-1]),
                                  ("EXTERNAL_MU", digest)):  # fmt: skip
        with pytest.raises(ValidationError):
            asymmetric.sign(info, private, "ED25519_PH_SHA_512", message_type, message)
