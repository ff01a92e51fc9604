"""Asymmetric and HMAC key material and what KMS does with it, through pyca/cryptography.

Private keys are kept as PKCS#8 DER (wrapped under the root key like any material); public
keys are given out as DER SubjectPublicKeyInfo, as GetPublicKey does. Key generation and
randomised signatures (ECDSA, RSA-PSS, ML-DSA) draw from OpenSSL's CSPRNG inside
cryptography; HMAC keys come from the injected ``Random`` like symmetric material.
"""

from __future__ import annotations

import hmac as std_hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa, padding, rsa, utils

from cofre.core.kms import ed25519ph
from cofre.core.kms.keyspecs import KEY_SPECS, Family, KeySpecInfo
from cofre.errors import InvalidCiphertextError, ValidationError

PrivateKey = Any  # rsa / ec / ed25519 / ml-dsa private key objects of cryptography

_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "SHA_1": hashes.SHA1,
    "SHA_224": hashes.SHA224,
    "SHA_256": hashes.SHA256,
    "SHA_384": hashes.SHA384,
    "SHA_512": hashes.SHA512,
}
_CURVES: dict[str, Callable[[], ec.EllipticCurve]] = {
    "ECC_NIST_P256": ec.SECP256R1,
    "ECC_NIST_P384": ec.SECP384R1,
    "ECC_NIST_P521": ec.SECP521R1,
    "ECC_SECG_P256K1": ec.SECP256K1,
}
_ML_DSA: dict[str, Callable[[], Any]] = {
    "ML_DSA_44": mldsa.MLDSA44PrivateKey.generate,
    "ML_DSA_65": mldsa.MLDSA65PrivateKey.generate,
    "ML_DSA_87": mldsa.MLDSA87PrivateKey.generate,
}
MU_BYTES = 64


def _hash_of(algorithm: str) -> hashes.HashAlgorithm:
    """The digest named at the end of an algorithm (RSASSA_PSS_SHA_256 -> SHA-256)."""
    return _HASHES["SHA_" + algorithm.rsplit("_", 1)[-1]]()


# material -----------------------------------------------------------------------------
def generate_private_der(spec: str) -> bytes:
    """A new private key of ``spec`` as PKCS#8 DER."""
    info = KEY_SPECS[spec]
    key: Any
    if info.family is Family.RSA:
        key = rsa.generate_private_key(public_exponent=65537, key_size=info.size)
    elif info.family is Family.EC:
        key = ec.generate_private_key(_CURVES[spec]())
    elif info.family is Family.ED25519:
        key = ed25519.Ed25519PrivateKey.generate()
    elif info.family is Family.ML_DSA:
        key = _ML_DSA[spec]()
    else:
        raise ValueError(f"{spec} has no private key")
    return bytes(
        key.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def load_private(der: bytes) -> PrivateKey:
    return serialization.load_der_private_key(der, password=None)


def public_der(private: PrivateKey) -> bytes:
    return bytes(
        private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


# signatures ---------------------------------------------------------------------------
def _digest_length_check(info: KeySpecInfo, algorithm: str, message: bytes) -> None:
    if len(message) != _hash_of(algorithm).digest_size:
        raise ValidationError(f"Digest is invalid length for algorithm {algorithm}.")


@dataclass(frozen=True, slots=True)
class _Plan:
    """How one (family, algorithm, message type) maps onto cryptography's calls."""

    sign: Callable[[PrivateKey, bytes], bytes]
    verify: Callable[[Any, bytes, bytes], None]


def _plan(info: KeySpecInfo, algorithm: str, message_type: str, message: bytes) -> _Plan:
    family = info.family
    if message_type == "EXTERNAL_MU" and family is not Family.ML_DSA:
        raise ValidationError("MessageType EXTERNAL_MU is valid only for ML_DSA key specs.")
    if family is Family.RSA:
        digest = _hash_of(algorithm)
        hashed: Any = utils.Prehashed(digest) if message_type == "DIGEST" else digest
        if message_type == "DIGEST":
            _digest_length_check(info, algorithm, message)
        pad: Any = (
            padding.PSS(mgf=padding.MGF1(_hash_of(algorithm)), salt_length=digest.digest_size)
            if algorithm.startswith("RSASSA_PSS")
            else padding.PKCS1v15()
        )
        return _Plan(
            lambda k, m: k.sign(m, pad, hashed), lambda p, s, m: p.verify(s, m, pad, hashed)
        )
    if family is Family.EC:
        digest = _hash_of(algorithm)
        if message_type == "DIGEST":
            _digest_length_check(info, algorithm, message)
        scheme = ec.ECDSA(utils.Prehashed(digest) if message_type == "DIGEST" else digest)
        return _Plan(lambda k, m: k.sign(m, scheme), lambda p, s, m: p.verify(s, m, scheme))
    if family is Family.ED25519:
        if algorithm == "ED25519_PH_SHA_512":
            # The Sign API reference: ED25519_PH_SHA_512 requires MessageType DIGEST, and KMS
            # still applies the SHA-512 prehash of RFC 8032 HashEdDSA to that digest (the
            # input is hashed twice: once by the caller, once here).
            if message_type != "DIGEST":
                raise ValidationError("ED25519_PH_SHA_512 requires MessageType DIGEST.")
            _digest_length_check(info, algorithm, message)
            return _Plan(ed25519ph.sign, lambda p, s, m: ed25519ph.verify(p, m, s))
        if message_type != "RAW":
            raise ValidationError("ED25519_SHA_512 requires MessageType RAW.")
        return _Plan(lambda k, m: k.sign(m), lambda p, s, m: p.verify(s, m))
    if family is Family.ML_DSA:
        if message_type == "DIGEST":
            raise ValidationError("ML_DSA_SHAKE_256 requires MessageType RAW or EXTERNAL_MU.")
        if message_type == "EXTERNAL_MU":
            if len(message) != MU_BYTES:
                raise ValidationError(f"An external mu must be {MU_BYTES} bytes long.")
            return _Plan(lambda k, m: k.sign_mu(m), lambda p, s, m: p.verify_mu(s, m))
        return _Plan(lambda k, m: k.sign(m), lambda p, s, m: p.verify(s, m))
    raise ValueError(f"{info.spec} does not sign")


def sign(info: KeySpecInfo, private: PrivateKey, algorithm: str, message_type: str,
         message: bytes) -> bytes:  # fmt: skip
    return bytes(_plan(info, algorithm, message_type, message).sign(private, message))


def verify(
    info: KeySpecInfo,
    private: PrivateKey,
    algorithm: str,
    message_type: str,
    message: bytes,
    signature: bytes,
) -> bool:
    plan = _plan(info, algorithm, message_type, message)
    try:
        plan.verify(private.public_key(), signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


# RSA encryption -----------------------------------------------------------------------
def _oaep(algorithm: str) -> padding.OAEP:
    digest = _hash_of(algorithm)
    return padding.OAEP(mgf=padding.MGF1(digest), algorithm=_hash_of(algorithm), label=None)


def rsa_max_plaintext(info: KeySpecInfo, algorithm: str) -> int:
    return info.size // 8 - 2 * _hash_of(algorithm).digest_size - 2


def rsa_encrypt(private: PrivateKey, algorithm: str, plaintext: bytes) -> bytes:
    return bytes(private.public_key().encrypt(plaintext, _oaep(algorithm)))


def rsa_decrypt(private: PrivateKey, algorithm: str, ciphertext: bytes) -> bytes:
    try:
        return bytes(private.decrypt(ciphertext, _oaep(algorithm)))
    except ValueError as exc:
        raise InvalidCiphertextError() from exc


# HMAC ---------------------------------------------------------------------------------
def mac(key: bytes, algorithm: str, message: bytes) -> bytes:
    name = {"HMAC_SHA_224": "sha224", "HMAC_SHA_256": "sha256", "HMAC_SHA_384": "sha384",
            "HMAC_SHA_512": "sha512"}[algorithm]  # fmt: skip
    return std_hmac.new(key, message, name).digest()


def mac_matches(key: bytes, algorithm: str, message: bytes, tag: bytes) -> bool:
    return std_hmac.compare_digest(mac(key, algorithm, message), tag)


# key agreement ------------------------------------------------------------------------
def shared_secret(private: PrivateKey, peer_der: bytes) -> bytes:
    """ECDH with a peer's DER SubjectPublicKeyInfo on the same curve."""
    try:
        peer = serialization.load_der_public_key(peer_der)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise ValidationError("PublicKey is not a valid DER-encoded public key.") from exc
    if not isinstance(peer, ec.EllipticCurvePublicKey) or peer.curve.name != private.curve.name:
        raise ValidationError("PublicKey must be an elliptic curve key on the key's curve.")
    return bytes(private.exchange(ec.ECDH(), peer))
