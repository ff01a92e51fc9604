"""The materials of an imported key, inside a write transaction: settling the key's state
after a change, deleting and expiring material, and on-demand rotation to staged material.

A bound material is present while its ``KeyVersion`` row exists (the key cache loads those,
so staged material never decrypts or encrypts anything before its rotation).
"""

from __future__ import annotations

from datetime import datetime

from cofre.core.kms.imported import ImportedMaterial, expired, settled
from cofre.core.kms.keys import MAX_ON_DEMAND_ROTATIONS, Key, KeyState, KeyVersion, RotationType
from cofre.errors import KeyStateError, LimitExceededError, NotFoundError
from cofre.service.ports import WriteTx


def _drop(tx: WriteTx, material: ImportedMaterial) -> None:
    """KMS deletes the material: staged material is forgotten, bound material stays on the
    list as PENDING_IMPORT (old ciphertexts name it; a reimport must bring it back)."""
    if material.pending_rotation:
        tx.delete_imported_material(material.row_id, material.material_id)
    else:
        tx.delete_version(material.row_id, material.material_id)


def settle(tx: WriteTx, key: Key, expire_at: datetime | None) -> Key:
    """Delete the material that expired by ``expire_at``; store the key as its materials
    leave it (state, ValidTo, ExpirationModel)."""
    materials = tx.imported_materials(key.row_id)
    if expire_at is not None:
        gone = expired(materials, expire_at)
        for material in gone:
            _drop(tx, material)
        if gone:
            materials = tx.imported_materials(key.row_id)
    updated = settled(key, materials)
    tx.update_key(updated)
    return updated


def remove_material(tx: WriteTx, key: Key) -> Key:
    """The background job's expiry: delete the material due at the key's ValidTo."""
    return settle(tx, key, key.material_valid_to)


def delete_material(
    tx: WriteTx, key: Key, material_id: bytes | None, now: datetime
) -> tuple[Key, bytes | None]:
    """DeleteImportedKeyMaterial: the named material, else the current one."""
    target = material_id if material_id is not None else key.current_version_id
    if target:
        found = {m.material_id: m for m in tx.imported_materials(key.row_id)}.get(target)
        if found is None:
            raise NotFoundError(f"Key material {target.hex()} is not associated with {key.arn}.")
        if found.imported:
            _drop(tx, found)
    return settle(tx, key, now), target or None


def rotate(tx: WriteTx, key: Key, now: datetime) -> Key:
    """RotateKeyOnDemand of an imported key: the staged material becomes current."""
    key = settle(tx, key, now)
    if key.state is not KeyState.ENABLED:
        raise KeyStateError(f"{key.arn} is pending import.")
    materials = tx.imported_materials(key.row_id)
    staged = [m for m in materials if m.pending_wrapped is not None]
    if not staged:
        raise KeyStateError(
            f"{key.arn} has no key material in PENDING_ROTATION state; import new key material"
            " with ImportType NEW_KEY_MATERIAL before rotating."
        )
    if sum(m.rotation_type is not None for m in materials) >= MAX_ON_DEMAND_ROTATIONS:
        raise LimitExceededError(f"The on-demand rotations limit has been reached for {key.arn}.")
    chosen = staged[0]
    assert chosen.pending_wrapped is not None
    tx.insert_version(
        KeyVersion(
            key.row_id, chosen.material_id, chosen.pending_wrapped, now, RotationType.ON_DEMAND
        )
    )
    tx.put_imported_material(
        chosen.evolve(pending_wrapped=None, rotated_at=now, rotation_type=RotationType.ON_DEMAND)
    )
    return settle(tx, key.evolve(current_version_id=chosen.material_id), None)
