"""Key derivation, header authentication and signatures for the ESDK."""

from __future__ import annotations

import base64
import binascii
import hmac

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from cofre.esdk.errors import AUTH_FAILED, DecryptError
from cofre.esdk.suites import AlgorithmSuite


def derive_keys(
    suite: AlgorithmSuite, data_key: bytes, message_id: bytes
) -> tuple[bytes, bytes | None]:
    """Return (encryption key, commit key or None) (client-apis/key-derivation.md)."""
    spec = suite.spec
    if spec.kdf_hash is None:
        # algorithm-suites.md#identity-kdf: the derived key is the data key itself
        return data_key, None
    if not spec.committing:
        # key-derivation.md#hkdf-encryption-key: zero salt, info = suite id || message id
        hkdf = HKDF(spec.kdf_hash(), spec.key_length, None, suite.id_bytes + message_id)
        return hkdf.derive(data_key), None
    # key-derivation.md#hkdf-encryption-key: salt = message id, info = suite id || "DERIVEKEY"
    key = HKDF(spec.kdf_hash(), spec.key_length, message_id, suite.id_bytes + b"DERIVEKEY")
    # key-derivation.md#hkdf-commit-key: salt = message id, info = "COMMITKEY", 32 bytes
    commit = HKDF(spec.kdf_hash(), 32, message_id, b"COMMITKEY")
    return key.derive(data_key), commit.derive(data_key)


def check_commitment(expected: bytes | None, found: bytes) -> None:
    """key-derivation.md: compare the derived commit key with the header's in constant time."""
    if expected is None:
        return
    if not hmac.compare_digest(expected, found):
        raise DecryptError(AUTH_FAILED)


def header_auth_tag(suite: AlgorithmSuite, key: bytes, aad: bytes) -> bytes:
    """encrypt.md#authentication-tag: AES-GCM of empty plaintext, zero IV, AAD = header body."""
    return AESGCM(key).encrypt(bytes(suite.spec.iv_length), b"", aad)


def verify_header_auth(
    suite: AlgorithmSuite, key: bytes, aad: bytes, iv: bytes, tag: bytes
) -> None:
    try:
        AESGCM(key).decrypt(iv, tag, aad)
    except InvalidTag as exc:
        raise DecryptError(AUTH_FAILED) from exc


def new_signature_hash(suite: AlgorithmSuite) -> hashes.Hash:
    spec = suite.spec
    assert spec.signature_hash is not None
    return hashes.Hash(spec.signature_hash())


def generate_signing_key(suite: AlgorithmSuite) -> ec.EllipticCurvePrivateKey:
    spec = suite.spec
    assert spec.curve is not None
    return ec.generate_private_key(spec.curve())


def encode_public_key(key: ec.EllipticCurvePublicKey) -> str:
    """structures.md#encryption-context: base64 of the compressed point."""
    point = key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
    )
    return base64.b64encode(point).decode("ascii")


def decode_public_key(suite: AlgorithmSuite, value: str) -> ec.EllipticCurvePublicKey:
    spec = suite.spec
    assert spec.curve is not None
    try:
        point = base64.b64decode(value.encode("ascii"), validate=True)
        return ec.EllipticCurvePublicKey.from_encoded_point(spec.curve(), point)
    except (ValueError, binascii.Error, UnicodeEncodeError) as exc:
        raise DecryptError("malformed message: invalid signature public key") from exc


def sign_digest(suite: AlgorithmSuite, key: ec.EllipticCurvePrivateKey, digest: bytes) -> bytes:
    """message-footer.md#signature: ECDSA (DER) over header and body."""
    spec = suite.spec
    assert spec.signature_hash is not None
    return key.sign(digest, ec.ECDSA(Prehashed(spec.signature_hash())))


def verify_digest(
    suite: AlgorithmSuite, key: ec.EllipticCurvePublicKey, digest: bytes, signature: bytes
) -> None:
    spec = suite.spec
    assert spec.signature_hash is not None
    try:
        key.verify(signature, digest, ec.ECDSA(Prehashed(spec.signature_hash())))
    except InvalidSignature as exc:
        raise DecryptError(AUTH_FAILED) from exc
