"""Importing key material: GetParametersForImport, ImportKeyMaterial and
DeleteImportedKeyMaterial (``service.imported`` keeps a key's materials in order: expiry,
deletion, on-demand rotation to staged material).

The import token carries its own wrapping private key, sealed under the root key with the
key id, algorithm and expiry, so any node can complete an import another node started and
nothing needs storing until the material arrives.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from cofre.core.crypto import Random, key_version_aad, unwrap, wrap
from cofre.core.iam.principals import Caller
from cofre.core.kms.imported import (
    IMPORT_TOKEN_LIFETIME,
    KEY_MATERIAL_EXPIRES,
    SYMMETRIC_MATERIAL_BYTES,
    WRAPPING_KEY_SPECS,
    ImportedMaterial,
    check_expiration,
    check_import,
    check_wrapping,
    import_type_of,
    material_id,
    unwrap_material,
)
from cofre.core.kms.keys import Key, KeyVersion, Origin, StateRule, check_state
from cofre.errors import (
    ExpiredImportTokenError,
    InvalidCiphertextError,
    InvalidImportTokenError,
    UnsupportedOperationError,
    ValidationError,
)
from cofre.service.authz.authorizer import Request
from cofre.service.kms.imported import delete_material, remove_material, settle
from cofre.service.kms.resolver import KeyResolver
from cofre.service.seal.keyring import Keyring

_ID_LABEL = b"imported-material-id"  # the key that names imported material

__all__ = ["ImportParameters", "ImportService", "remove_material"]

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


class ImportService:
    def __init__(self, resolver: KeyResolver, root: Keyring, random: Random) -> None:
        self._r = resolver
        self._root = root
        self._random = random

    def _material_id(
        self, key_arn: str, material: bytes, known: Sequence[ImportedMaterial]
    ) -> bytes:
        """The id of ``material`` for this key: by the HKDF-derived id key, unless the key
        holds it under the id a store made before HKDF gave it."""
        current = material_id(self._root.derive(_ID_LABEL), key_arn, material)
        ids = {m.material_id for m in known}
        if not ids or current in ids:
            return current
        earlier = material_id(self._root.derive(_ID_LABEL, legacy=True), key_arn, material)
        return earlier if earlier in ids else current

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
        import_type: str | None = None,
        claimed_id: str | None = None,
        description: str | None = None,
    ) -> tuple[Key, bytes]:
        """Import (or reimport) material; the key and the material's id."""
        now = self._r.clock.now()
        model = check_expiration(expiration_model, valid_to, now)
        expires = valid_to if model == KEY_MATERIAL_EXPIRES else None
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
            key = settle(tx, key, now)  # what expired is gone before the rules look
            materials = tx.imported_materials(key.key_id)
            found = self._material_id(key.arn, material, materials)
            kind = import_type_of(import_type, materials)
            known = check_import(key, materials, kind, found, claimed_id)
            wrapped = wrap(self._root, material, key_version_aad(key.arn, found), self._random)
            if known is None:  # new material: the key's first, or staged for rotation
                first = not materials
                tx.put_imported_material(
                    ImportedMaterial(
                        key.key_id,
                        found,
                        model,
                        expires,
                        now,
                        description,
                        pending_wrapped=None if first else wrapped,
                    )
                )
                if first:
                    tx.insert_version(KeyVersion(key.key_id, found, wrapped, now, None))
                    key = key.evolve(current_version_id=found, imported_material_id=found)
            else:  # a reimport: the same material, a new expiry (and maybe description)
                again = known.evolve(
                    expiration_model=model,
                    valid_to=expires,
                    description=known.description if description is None else description,
                )
                if known.pending_rotation:
                    again = again.evolve(pending_wrapped=wrapped)
                elif not known.imported:
                    created = known.rotated_at or known.imported_at
                    tx.insert_version(
                        KeyVersion(key.key_id, found, wrapped, created, known.rotation_type)
                    )
                    if not key.current_version_id:  # deleted before schema 7 cleared it
                        key = key.evolve(current_version_id=found)
                tx.put_imported_material(again)
            updated = settle(tx, key, None)
        self._r.cache.invalidate("key", key.key_id)
        return updated, found

    def delete_imported_key_material(
        self, caller: Caller, key_id: str, material: str | None = None
    ) -> tuple[Key, bytes | None]:
        """Delete the named material, else the current one; the key and what was deleted."""
        with self._r.storage.write() as tx:
            key = self._r.locked(tx, caller, key_id, Request("kms:DeleteImportedKeyMaterial"),
                                 StateRule.IMPORT)  # fmt: skip
            _external(key)
            named = None if material is None else bytes.fromhex(material)
            updated, deleted = delete_material(tx, key, named, self._r.clock.now())
        self._r.cache.invalidate("key", key.key_id)
        return updated, deleted
