"""Imported key material (BYOK): wrapping keys, unwrapping what the customer sends, and the
id that ties a key to the one material it may ever hold.

KMS Developer Guide, "Importing key material": the customer wraps 256 bits of symmetric
material under an RSA public key from GetParametersForImport, either directly with RSA-OAEP
or, for RSA_AES_KEY_WRAP_*, with a fresh AES key under AES key wrap with padding (RFC 5649)
whose AES key is itself RSA-OAEP-encrypted and sent first.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import timedelta

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap_with_padding

from cofre.errors import InvalidCiphertextError, ValidationError

WRAPPING_ALGORITHMS: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "RSAES_OAEP_SHA_1": hashes.SHA1,
    "RSAES_OAEP_SHA_256": hashes.SHA256,
    "RSA_AES_KEY_WRAP_SHA_1": hashes.SHA1,
    "RSA_AES_KEY_WRAP_SHA_256": hashes.SHA256,
}
REFUSED_WRAPPING_ALGORITHMS = {
    "RSAES_PKCS1_V1_5": "RSAES_PKCS1_V1_5 is no longer supported for importing key material.",
    "SM2PKE": "SM2PKE is available only in the AWS China Regions.",
}
WRAPPING_KEY_SPECS = {"RSA_2048": 2048, "RSA_3072": 3072, "RSA_4096": 4096}
IMPORT_TOKEN_LIFETIME = timedelta(hours=24)
MAX_VALID_TO = timedelta(days=365)
SYMMETRIC_MATERIAL_BYTES = 32
KEY_MATERIAL_EXPIRES = "KEY_MATERIAL_EXPIRES"
KEY_MATERIAL_DOES_NOT_EXPIRE = "KEY_MATERIAL_DOES_NOT_EXPIRE"


def check_wrapping(algorithm: str, key_spec: str) -> None:
    if algorithm in REFUSED_WRAPPING_ALGORITHMS:
        raise ValidationError(REFUSED_WRAPPING_ALGORITHMS[algorithm])
    if algorithm not in WRAPPING_ALGORITHMS:
        raise ValidationError(f"WrappingAlgorithm {algorithm} is not supported.")
    if key_spec not in WRAPPING_KEY_SPECS:
        raise ValidationError(f"WrappingKeySpec {key_spec} is not supported.")


def unwrap_material(private: rsa.RSAPrivateKey, algorithm: str, encrypted: bytes) -> bytes:
    """The plaintext material; InvalidCiphertextError for anything that does not unwrap."""
    digest = WRAPPING_ALGORITHMS[algorithm]
    oaep = padding.OAEP(mgf=padding.MGF1(digest()), algorithm=digest(), label=None)
    try:
        if algorithm.startswith("RSAES_OAEP"):
            return private.decrypt(encrypted, oaep)
        split = private.key_size // 8
        aes_key = private.decrypt(encrypted[:split], oaep)
        return aes_key_unwrap_with_padding(aes_key, encrypted[split:])
    except (ValueError, InvalidUnwrap) as exc:
        raise InvalidCiphertextError(
            "The key material could not be unwrapped with the import parameters."
        ) from exc


def material_id(id_key: bytes, key_arn: str, material: bytes) -> bytes:
    """32 bytes naming this material in this key (keyed, so it reveals nothing of it)."""
    return hmac.new(id_key, key_arn.encode() + b"\x00" + material, hashlib.sha256).digest()
