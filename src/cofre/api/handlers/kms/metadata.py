"""KeyMetadata on the wire: what CreateKey, DescribeKey and ReplicateKey return."""

from __future__ import annotations

from collections.abc import Sequence

from cofre.api.handlers.operation import Result
from cofre.core.ids import key_arn
from cofre.core.kms.keys import Key, KeyState
from cofre.core.kms.keyspecs import KEY_SPECS

_ALGORITHM_MEMBERS = {
    "ENCRYPT_DECRYPT": "EncryptionAlgorithms",
    "SIGN_VERIFY": "SigningAlgorithms",
    "GENERATE_VERIFY_MAC": "MacAlgorithms",
    "KEY_AGREEMENT": "KeyAgreementAlgorithms",
}


def multi_region_configuration(key: Key, regions: Sequence[str]) -> Result:
    """The primary and the replicas of a multi-Region key; a replica's list of replicas
    includes itself (KeyMetadata API reference)."""
    assert key.primary_region is not None

    def member(region: str) -> Result:
        return {"Arn": key_arn(region, key.account_id, key.key_id), "Region": region}

    return {
        "MultiRegionKeyType": "PRIMARY" if key.is_primary else "REPLICA",
        "PrimaryKey": member(key.primary_region),
        "ReplicaKeys": [member(r) for r in regions if r != key.primary_region],
    }


def key_metadata(key: Key, regions: Sequence[str] = ()) -> Result:
    """``regions``: of every related multi-Region key (ignored for single-Region keys)."""
    spec = KEY_SPECS.get(key.key_spec)
    meta: Result = {
        "AWSAccountId": key.account_id,
        "KeyId": key.key_id,
        "Arn": key.arn,
        "CreationDate": key.created_at,
        "Enabled": key.enabled,
        "Description": key.description,
        "KeyUsage": key.key_usage,
        "KeyState": key.state.value,
        "Origin": key.origin.value,
        "KeyManager": key.key_manager.value,
        "CustomerMasterKeySpec": key.key_spec,
        "KeySpec": key.key_spec,
        "MultiRegion": key.multi_region,
    }
    if key.multi_region:
        meta["MultiRegionConfiguration"] = multi_region_configuration(key, regions or (key.region,))
    # "present for symmetric encryption keys with AWS_KMS or EXTERNAL origin"
    if key.current_version_id and key.key_spec == "SYMMETRIC_DEFAULT":
        meta["CurrentKeyMaterialId"] = key.current_version_id.hex()
    if key.expiration_model is not None:
        meta["ExpirationModel"] = key.expiration_model
    if key.material_valid_to is not None:
        meta["ValidTo"] = key.material_valid_to
    if spec is not None:
        member = _ALGORITHM_MEMBERS[key.key_usage]
        meta[member] = list(spec.algorithms.get(key.key_usage, ()))
    if key.state is KeyState.PENDING_DELETION:
        meta["DeletionDate"] = key.deletion_date
        meta["PendingDeletionWindowInDays"] = key.pending_window_days
    elif key.state is KeyState.PENDING_REPLICA_DELETION:  # no date until the replicas go
        meta["PendingDeletionWindowInDays"] = key.pending_window_days
    return meta
