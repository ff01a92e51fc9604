"""Importing key material: GetParametersForImport, ImportKeyMaterial,
DeleteImportedKeyMaterial, and expiry of imported material when it is due.

The import token carries its own wrapping private key, sealed under the root key with the
key id, algorithm and expiry, so any node can complete an import another node started and
nothing needs storing until the material arrives.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from cofre.core.crypto import Cipher, Random, derive_key, key_version_aad, unwrap, wrap
from cofre.core.imported import (
    IMPORT_TOKEN_LIFETIME,
    KEY_MATERIAL_DOES_NOT_EXPIRE,
    KEY_MATERIAL_EXPIRES,
    MAX_VALID_TO,
    SYMMETRIC_MATERIAL_BYTES,
    WRAPPING_KEY_SPECS,
    check_wrapping,
    material_id,
    unwrap_material,
)
from cofre.core.keys import Key, KeyState, KeyVersion, Origin, StateRule, check_state
from cofre.core.principals import Caller
from cofre.errors import (
    ExpiredImportTokenError,
    IncorrectKeyMaterialError,
    InvalidCiphertextError,
    InvalidImportTokenError,
    UnsupportedOperationError,
    ValidationError,
)
from cofre.service.authz import Request
from cofre.service.ports import WriteTx
from cofre.service.resolver import KeyResolver

_TOKEN_AAD = b"cofre/import-token/v1"


@dataclass(frozen=True, slots=True)
class ImportParameters:
    key_arn: str
    import_token: bytes
    public_key: bytes  # DER SubjectPublicKeyInfo
    valid_to: datetime


def _external(key: Key) -> None:
    if key.origin is not Origin.EXTERNAL:
        raise UnsupportedOperationError(
            f"{key.arn} origin is {key.origin.value}; only keys with origin EXTERNAL take"
            " imported key material."
        )


def remove_material(tx: WriteTx, key: Key) -> Key:
    """The key without its imported material: PendingImport until it is imported again."""
    tx.delete_versions(key.key_id)
    updated = key.evolve(
        state=KeyState.PENDING_IMPORT,
        current_version_id=b"",
        expiration_model=None,
        material_valid_to=None,
    )
    tx.update_key(updated)
    return updated


class ImportService:
    def __init__(self, resolver: KeyResolver, root: Cipher, random: Random) -> None:
        self._r = resolver
        self._root = root
        self._random = random
        self._id_key = derive_key(root, b"imported-material-id")

    def get_parameters_for_import(
        self, caller: Caller, key_id: str, algorithm: str, wrapping_spec: str
    ) -> ImportParameters:
        check_wrapping(algorithm, wrapping_spec)
        with self._r.storage.read() as tx:
            key = self._r.read(tx, caller, key_id, Request("kms:GetParametersForImport"),
                               allow_alias=False)  # fmt: skip
        _external(key)
        check_state(key, StateRule.IMPORT)
        private = rsa.generate_private_key(65537, WRAPPING_KEY_SPECS[wrapping_spec])
        valid_to = (self._r.clock.now() + IMPORT_TOKEN_LIFETIME).replace(microsecond=0)
        document = {
            "key": key.key_id,
            "algorithm": algorithm,
            "valid_to": valid_to.timestamp(),
            "private": base64.b64encode(
                private.private_bytes(
                    serialization.Encoding.DER,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            ).decode(),
        }
        token = wrap(self._root, json.dumps(document).encode(), _TOKEN_AAD, self._random)
        public = private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return ImportParameters(key.arn, token, public, valid_to)

    def _open_token(self, token: bytes, key: Key) -> tuple[rsa.RSAPrivateKey, str]:
        try:
            document = json.loads(unwrap(self._root, token, _TOKEN_AAD))
        except (InvalidCiphertextError, ValueError) as exc:
            raise InvalidImportTokenError("The import token is not valid.") from exc
        if document.get("key") != key.key_id:
            raise InvalidImportTokenError(f"The import token is not for {key.arn}.")
        if self._r.clock.now().timestamp() >= float(document["valid_to"]):
            raise ExpiredImportTokenError("The import token has expired.")
        private = serialization.load_der_private_key(
            base64.b64decode(document["private"]), password=None
        )
        assert isinstance(private, rsa.RSAPrivateKey)
        return private, str(document["algorithm"])

    def import_key_material(
        self,
        caller: Caller,
        key_id: str,
        token: bytes,
        encrypted: bytes,
        expiration_model: str | None,
        valid_to: datetime | None,
    ) -> Key:
        model = expiration_model or (
            KEY_MATERIAL_EXPIRES if valid_to is not None else KEY_MATERIAL_DOES_NOT_EXPIRE
        )
        now = self._r.clock.now()
        if model == KEY_MATERIAL_EXPIRES:
            if valid_to is None:
                raise ValidationError("ValidTo is required when ExpirationModel is"
                                      " KEY_MATERIAL_EXPIRES.")  # fmt: skip
            if not now < valid_to <= now + MAX_VALID_TO:
                raise ValidationError("ValidTo must be in the future and at most 365 days away.")
        elif valid_to is not None:
            raise ValidationError(
                "ValidTo must not be set when ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE."
            )
        with self._r.storage.write() as tx:
            key = self._r.locked(tx, caller, key_id, Request("kms:ImportKeyMaterial"),
                                 StateRule.IMPORT)  # fmt: skip
            _external(key)
            private, algorithm = self._open_token(token, key)
            material = unwrap_material(private, algorithm, encrypted)
            if len(material) != SYMMETRIC_MATERIAL_BYTES:
                raise ValidationError(
                    f"Imported key material must be {SYMMETRIC_MATERIAL_BYTES * 8} bits for"
                    f" {key.key_spec} keys."
                )
            version_id = material_id(self._id_key, key.arn, material)
            if key.imported_material_id not in (None, version_id):
                raise IncorrectKeyMaterialError(
                    f"The key material is not the material previously imported into {key.arn}."
                )
            if version_id not in {v.version_id for v in tx.versions(key.key_id)}:
                wrapped = wrap(
                    self._root, material, key_version_aad(key.arn, version_id), self._random
                )
                tx.insert_version(KeyVersion(key.key_id, version_id, wrapped, now, None))
            updated = key.evolve(
                state=KeyState.ENABLED if key.state is KeyState.PENDING_IMPORT else key.state,
                current_version_id=version_id,
                imported_material_id=version_id,
                expiration_model=model,
                material_valid_to=valid_to if model == KEY_MATERIAL_EXPIRES else None,
            )
            tx.update_key(updated)
        self._r.cache.invalidate("key", key.key_id)
        return updated

    def delete_imported_key_material(self, caller: Caller, key_id: str) -> Key:
        with self._r.storage.write() as tx:
            key = self._r.locked(tx, caller, key_id, Request("kms:DeleteImportedKeyMaterial"),
                                 StateRule.IMPORT)  # fmt: skip
            _external(key)
            updated = remove_material(tx, key)
        self._r.cache.invalidate("key", key.key_id)
        return updated
