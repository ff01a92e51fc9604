"""Imported key material (BYOK): wrapping keys, unwrapping what the customer sends, and the
id that ties a key to the one material it may ever hold.

KMS Developer Guide, "Importing key material": the customer wraps the material under an RSA
public key from GetParametersForImport, either directly with RSA-OAEP or, for
RSA_AES_KEY_WRAP_*, with a fresh AES key under AES key wrap with padding (RFC 5649) whose
AES key is itself RSA-OAEP-encrypted and sent first. The material is 256 bits for a
symmetric encryption key, the raw key bytes for an HMAC key, and a PKCS#8 DER private key
for an RSA or ECC key (KMS derives the public key); RSA private keys are too long for
RSA-OAEP and must come by RSA_AES_KEY_WRAP_*.

A symmetric imported key can hold several materials ("Rotate keys with imported key
material"): ImportKeyMaterial with ImportType NEW_KEY_MATERIAL stages a new one
(PENDING_ROTATION, not yet bound to the key), RotateKeyOnDemand makes it current. Every
material the key was ever rotated to stays bound to it: old ciphertexts name it, a reimport
must bring exactly it, and the key is usable only while all of them are imported.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap_with_padding

from cofre.core.kms.keys import Key, KeyState, RotationType
from cofre.core.kms.keyspecs import KEY_SPECS, Family
from cofre.errors import (
    IncorrectKeyMaterialError,
    InvalidCiphertextError,
    KeyStateError,
    ValidationError,
)

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
NEW_KEY_MATERIAL = "NEW_KEY_MATERIAL"
EXISTING_KEY_MATERIAL = "EXISTING_KEY_MATERIAL"
# Lengths in bytes of imported HMAC key material ("Requirements for imported key material").
HMAC_MATERIAL_BYTES = {
    "HMAC_224": (28, 64),
    "HMAC_256": (32, 64),
    "HMAC_384": (48, 128),
    "HMAC_512": (64, 128),
}
_CURVE_NAMES = {
    "ECC_NIST_P256": "secp256r1",
    "ECC_NIST_P384": "secp384r1",
    "ECC_NIST_P521": "secp521r1",
    "ECC_SECG_P256K1": "secp256k1",
}


def check_wrapping(algorithm: str, wrapping_spec: str, key_spec: str) -> None:
    """The wrapping choices GetParametersForImport allows for material of ``key_spec``
    (API reference, WrappingAlgorithm and WrappingKeySpec)."""
    if algorithm in REFUSED_WRAPPING_ALGORITHMS:
        raise ValidationError(REFUSED_WRAPPING_ALGORITHMS[algorithm])
    if algorithm not in WRAPPING_ALGORITHMS:
        raise ValidationError(f"WrappingAlgorithm {algorithm} is not supported.")
    if wrapping_spec not in WRAPPING_KEY_SPECS:
        raise ValidationError(f"WrappingKeySpec {wrapping_spec} is not supported.")
    if not algorithm.startswith("RSAES_OAEP"):
        return
    if KEY_SPECS[key_spec].family is Family.RSA:
        raise ValidationError(
            f"{algorithm} cannot wrap RSA key material: to import an RSA private key, use"
            " RSA_AES_KEY_WRAP_SHA_1 or RSA_AES_KEY_WRAP_SHA_256."
        )
    if key_spec == "ECC_NIST_P521" and wrapping_spec == "RSA_2048":
        raise ValidationError(
            f"{algorithm} with WrappingKeySpec RSA_2048 cannot wrap ECC_NIST_P521 key material:"
            " use a longer wrapping key or an RSA_AES_KEY_WRAP_* wrapping algorithm."
        )


def check_material(key_spec: str, material: bytes) -> bytes:
    """The material as a key of ``key_spec`` keeps it: 256 bits for a symmetric encryption
    key, the key bytes for an HMAC key, and for RSA and ECC a PKCS#8 DER private key of the
    spec's size or curve (kept in its canonical encoding, so one key has one id).
    IncorrectKeyMaterialError for anything else ("invalid" key material)."""
    info = KEY_SPECS[key_spec]
    if info.family is Family.SYMMETRIC:
        if len(material) != SYMMETRIC_MATERIAL_BYTES:
            raise IncorrectKeyMaterialError(
                f"Imported key material must be {SYMMETRIC_MATERIAL_BYTES * 8} bits for"
                f" {key_spec} keys."
            )
        return material
    if info.family is Family.HMAC:
        low, high = HMAC_MATERIAL_BYTES[key_spec]
        if not low <= len(material) <= high:
            raise IncorrectKeyMaterialError(
                f"Imported key material for {key_spec} keys must be {low} to {high} bytes long."
            )
        return material
    try:
        private = serialization.load_der_private_key(material, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise IncorrectKeyMaterialError(
            f"Imported key material for {key_spec} keys must be a PKCS#8 DER private key."
        ) from exc
    if info.family is Family.RSA:
        fits = isinstance(private, rsa.RSAPrivateKey) and private.key_size == info.size
    else:
        fits = (
            isinstance(private, ec.EllipticCurvePrivateKey)
            and private.curve.name == _CURVE_NAMES[key_spec]
        )
    if not fits:
        raise IncorrectKeyMaterialError(f"The imported private key is not a {key_spec} key.")
    return bytes(
        private.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


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
        raise InvalidCiphertextError() from exc


def material_id(id_key: bytes, key: Key, material: bytes) -> bytes:
    """32 bytes naming this material in this key (keyed, so it reveals nothing of it). A
    multi-Region key's material has one id in every related key: its key id is the scope,
    where a single-Region key's scope is its ARN."""
    scope = key.key_id if key.multi_region else key.arn
    return hmac.new(id_key, scope.encode() + b"\x00" + material, hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class ImportedMaterial:
    """One material of an imported key: what ListKeyRotations tells of it.

    The material itself (wrapped) is a ``KeyVersion`` row while it is imported and bound to
    the key; staged material waits, wrapped the same way, in ``pending_wrapped``.
    """

    row_id: str  # the key's (``Key.row_id``)
    material_id: bytes  # 32 bytes, ``material_id()``; its hex is the KeyMaterialId
    expiration_model: str
    valid_to: datetime | None
    imported_at: datetime
    description: str | None = None
    pending_wrapped: bytes | None = None  # PENDING_ROTATION: staged, not yet rotated to
    rotated_at: datetime | None = None  # when RotateKeyOnDemand made it current
    rotation_type: RotationType | None = None
    imported: bool = True  # read side: IMPORTED, or PENDING_IMPORT after deletion/expiry

    @property
    def pending_rotation(self) -> bool:
        return self.pending_wrapped is not None

    def state_in(self, key: Key) -> str:
        """KeyMaterialState: CURRENT, NON_CURRENT or PENDING_ROTATION."""
        if self.pending_rotation:
            return "PENDING_ROTATION"
        return "CURRENT" if self.material_id == key.current_version_id else "NON_CURRENT"

    def evolve(self, **changes: object) -> ImportedMaterial:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def check_expiration(model: str | None, valid_to: datetime | None, now: datetime) -> str:
    """The expiration model an import gets (ImportKeyMaterial's ExpirationModel/ValidTo):
    KEY_MATERIAL_EXPIRES when none is given, as AWS, which then wants a ValidTo."""
    chosen = model or KEY_MATERIAL_EXPIRES
    if chosen == KEY_MATERIAL_EXPIRES:
        if valid_to is None:
            raise ValidationError(
                "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES"
            )
        if not now < valid_to <= now + MAX_VALID_TO:
            raise ValidationError("ValidTo must be in the future and at most 365 days away.")
    elif valid_to is not None:
        raise ValidationError(
            "ValidTo must not be set when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE."
        )
    return chosen


def import_type_of(requested: str | None, materials: Sequence[ImportedMaterial]) -> str:
    """ImportType's default: NEW_KEY_MATERIAL for the first import, EXISTING after."""
    if requested is not None:
        return requested
    return EXISTING_KEY_MATERIAL if materials else NEW_KEY_MATERIAL


def check_import(
    key: Key,
    materials: Sequence[ImportedMaterial],
    import_type: str,
    found_id: bytes,
    claimed_id: str | None,
) -> ImportedMaterial | None:
    """Whether material named ``found_id`` may be imported; the record it revives, if any.

    The rules of the ImportKeyMaterial API reference (ImportType, KeyMaterialId) and of
    IncorrectKeyMaterialException, which also covers "KMS expected new key material but the
    key material being imported is already associated with the KMS key".
    """
    known = {m.material_id: m for m in materials}
    if import_type == NEW_KEY_MATERIAL:
        if claimed_id is not None:
            raise ValidationError(
                "You cannot specify a KeyMaterialId with ImportType NEW_KEY_MATERIAL."
            )
        if found_id in known:
            raise IncorrectKeyMaterialError(
                f"The key material is already associated with {key.arn}; import it with"
                " ImportType EXISTING_KEY_MATERIAL."
            )
        if materials and key.state is KeyState.PENDING_IMPORT:
            raise KeyStateError(
                f"{key.arn} is pending import; reimport its key material before importing"
                " new key material."
            )
        if any(m.pending_rotation for m in materials):
            raise KeyStateError(
                f"{key.arn} already has key material pending rotation; rotate the key or"
                " delete that key material first."
            )
        return None
    if claimed_id is not None and claimed_id != found_id.hex():
        raise IncorrectKeyMaterialError(
            "The key material does not match the KeyMaterialId in the request."
        )
    if found_id not in known:
        raise IncorrectKeyMaterialError(
            f"The key material is not key material previously imported into {key.arn}."
        )
    return known[found_id]


def expired(materials: Sequence[ImportedMaterial], at: datetime) -> list[ImportedMaterial]:
    """Imported materials whose ValidTo is ``at`` or earlier: KMS deletes them."""
    return [m for m in materials if m.imported and m.valid_to is not None and m.valid_to <= at]


def settled(key: Key, materials: Sequence[ImportedMaterial]) -> Key:
    """The key as its materials leave it: usable only while every material bound to it is
    imported ("Deletion or expiration of any permanently associated key material changes the
    key state to Pending import"); ValidTo is the earliest expiry of what it holds."""
    bound = [m for m in materials if not m.pending_rotation]
    if not bound or not all(m.imported for m in bound):
        state = KeyState.PENDING_IMPORT
        if key.state in (KeyState.PENDING_DELETION, KeyState.PENDING_REPLICA_DELETION):
            state = key.state
        return key.evolve(state=state, expiration_model=None, material_valid_to=None)
    state = KeyState.ENABLED if key.state is KeyState.PENDING_IMPORT else key.state
    valid_to = min((m.valid_to for m in materials if m.imported and m.valid_to is not None),
                   default=None)  # fmt: skip
    model = KEY_MATERIAL_DOES_NOT_EXPIRE if valid_to is None else KEY_MATERIAL_EXPIRES
    return key.evolve(state=state, expiration_model=model, material_valid_to=valid_to)


def rotations(materials: Sequence[ImportedMaterial]) -> list[ImportedMaterial]:
    """ListKeyRotations order: the first material, rotations by date, then staged material."""
    return sorted(
        materials,
        key=lambda m: (m.pending_rotation, m.rotated_at is not None, m.rotated_at or m.imported_at),
    )
