"""Importing key material: GetParametersForImport, ImportKeyMaterial and
DeleteImportedKeyMaterial (``service.imported`` keeps a key's materials in order: expiry,
deletion, on-demand rotation to staged material).

The import token carries its own wrapping private key, sealed under the root key with the
key id, algorithm and expiry, so any node can complete an import another node started and
nothing needs storing until the material arrives.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from cofre.core.crypto import Random, key_version_aad, unwrap, wrap
from cofre.core.iam.principals import Caller
from cofre.core.ids import key_row_id
from cofre.core.kms.imported import (
    IMPORT_TOKEN_LIFETIME,
    KEY_MATERIAL_EXPIRES,
    NEW_KEY_MATERIAL,
    WRAPPING_KEY_SPECS,
    ImportedMaterial,
    check_expiration,
    check_import,
    check_material,
    check_wrapping,
    import_type_of,
    material_id,
    unwrap_material,
)
from cofre.core.kms.keys import Key, KeyVersion, Origin, StateRule, check_state
from cofre.errors import (
    ExpiredImportTokenError,
    IncorrectKeyMaterialError,
    InvalidCiphertextError,
    InvalidImportTokenError,
    UnsupportedOperationError,
    ValidationError,
)
from cofre.service.authz.authorizer import Request
from cofre.service.kms.imported import delete_material, remove_material, settle
from cofre.service.kms.resolver import KeyResolver
from cofre.service.ports import WriteTx
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
            f"{key.arn} origin is {key.origin.value} which is not valid for this operation."
        )


def _symmetric_only(
    key: Key, import_type: str | None, claimed_id: str | None, description: str | None
) -> None:
    """ImportType, KeyMaterialId and KeyMaterialDescription are for symmetric encryption
    keys only: the material of an asymmetric or HMAC key never changes after its first
    import (ImportKeyMaterial API reference)."""
    if key.key_spec == "SYMMETRIC_DEFAULT":
        return
    for member, value in (
        ("ImportType", import_type),
        ("KeyMaterialId", claimed_id),
        ("KeyMaterialDescription", description),
    ):
        if value is not None:
            raise ValidationError(
                f"{member} is only usable with symmetric encryption keys; {key.arn} is a"
                f" {key.key_spec} key."
            )


class ImportService:
    def __init__(self, resolver: KeyResolver, root: Keyring, random: Random) -> None:
        self._r = resolver
        self._root = root
        self._random = random

    def _material_id(self, key: Key, material: bytes, known: Sequence[ImportedMaterial]) -> bytes:
        """The id of ``material`` for this key: by the HKDF-derived id key, unless the key
        holds it under the id a store made before HKDF gave it."""
        current = material_id(self._root.derive(_ID_LABEL), key, material)
        ids = {m.material_id for m in known}
        if not ids or current in ids:
            return current
        earlier = material_id(self._root.derive(_ID_LABEL, legacy=True), key, material)
        return earlier if earlier in ids else current

    def get_parameters_for_import(
        self, caller: Caller, key_id: str, algorithm: str, wrapping_spec: str
    ) -> ImportParameters:
        with self._r.storage.read() as tx:
            key = self._r.read(tx, caller, key_id, Request("kms:GetParametersForImport"),
                               allow_alias=False)  # fmt: skip
        _external(key)
        check_state(key, StateRule.IMPORT)
        check_wrapping(algorithm, wrapping_spec, key.key_spec)
        private = rsa.generate_private_key(65537, WRAPPING_KEY_SPECS[wrapping_spec])
        valid_to = (self._r.clock.now() + IMPORT_TOKEN_LIFETIME).replace(microsecond=0)
        document = {
            "key": key.row_id,
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
        if document.get("key") != key.row_id:
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
            _symmetric_only(key, import_type, claimed_id, description)
            private, algorithm = self._open_token(token, key)
            material = check_material(key.key_spec, unwrap_material(private, algorithm, encrypted))
            key = settle(tx, key, now)  # what expired is gone before the rules look
            own = tx.imported_materials(key.row_id)
            found = self._material_id(key, material, own)
            key, materials = self._materials(tx, key, found, import_type, own)
            kind = import_type_of(import_type, materials)
            known = check_import(key, materials, kind, found, claimed_id)
            wrapped = wrap(self._root, material, key_version_aad(key.arn, found), self._random)
            if known is None:  # new material: the key's first, or staged for rotation
                first = not materials
                if not first and key.multi_region:
                    raise UnsupportedOperationError(
                        f"{key.arn} is a multi-Region key: Cofre does not rotate the imported"
                        " key material of multi-Region keys."
                    )
                tx.put_imported_material(
                    ImportedMaterial(
                        key.row_id,
                        found,
                        model,
                        expires,
                        now,
                        description,
                        pending_wrapped=None if first else wrapped,
                    )
                )
                if first:
                    tx.insert_version(KeyVersion(key.row_id, found, wrapped, now, None))
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
                        KeyVersion(key.row_id, found, wrapped, created, known.rotation_type)
                    )
                    if not key.current_version_id:  # deleted before schema 7 cleared it
                        key = key.evolve(current_version_id=found)
                tx.put_imported_material(again)
            updated = settle(tx, key, None)
        self._r.cache.invalidate("key", key.row_id)
        return updated, found

    def _materials(
        self,
        tx: WriteTx,
        key: Key,
        found: bytes,
        import_type: str | None,
        materials: list[ImportedMaterial],
    ) -> tuple[Key, list[ImportedMaterial]]:
        """The key and its materials, as the import rules see them. A replica takes only
        the material its primary holds ("you must import the same key material that you
        imported into the primary key"): it learns of it here, as pending import."""
        if not key.is_replica or key.primary_region is None:
            return key, materials
        if import_type == NEW_KEY_MATERIAL:
            raise UnsupportedOperationError(
                f"{key.arn} is a multi-Region replica key: import new key material into its"
                " primary key."
            )
        if any(m.material_id == found for m in materials):
            return key, materials
        primary = tx.get_key(key_row_id(key.key_id, key.primary_region))
        held = [] if primary is None else tx.imported_materials(primary.row_id)
        match = next((m for m in held if m.material_id == found and not m.pending_rotation), None)
        if match is None:
            raise IncorrectKeyMaterialError(
                f"The key material is not the key material of the primary key of {key.arn}."
            )
        record = match.evolve(row_id=key.row_id, pending_wrapped=None)
        tx.put_imported_material(record)
        if not key.current_version_id and primary is not None:
            key = key.evolve(current_version_id=primary.current_version_id)
        return key, [*materials, dataclasses.replace(record, imported=False)]

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
        self._r.cache.invalidate("key", key.row_id)
        return updated, deleted
