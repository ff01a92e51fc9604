"""KMS operations on the wire: decode the shape, call the service, encode the shape.

Each handler takes the wired services, the authenticated caller and the decoded input
(checked against the botocore model) and returns the output members.
"""

from __future__ import annotations

from cofre.api.handlers.kms.asymmetric import ASYMMETRIC_OPERATIONS, imported_rotation_entry
from cofre.api.handlers.kms.custom_stores import CUSTOM_STORE_OPERATIONS, with_store
from cofre.api.handlers.kms.grants import GRANT_OPERATIONS
from cofre.api.handlers.kms.metadata import key_metadata
from cofre.api.handlers.kms.multi_region import MULTI_REGION_OPERATIONS
from cofre.api.handlers.kms.usage import AUDIT_OPERATIONS
from cofre.api.handlers.operation import (
    Operation,
    Params,
    Result,
    grant_tokens,
    inline,
    paged,
    refuse_recipient,
    threaded,
)
from cofre.container import Services
from cofre.core.iam.principals import Caller
from cofre.core.ids import alias_arn
from cofre.core.kms.imported import ImportedMaterial
from cofre.core.kms.keys import Key, KeyVersion
from cofre.errors import UnsupportedParameterError, ValidationError
from cofre.service.kms.crypto import data_key_length


def _tags(params: Params) -> list[tuple[str, str]]:
    return [(tag["TagKey"], tag["TagValue"]) for tag in params.get("Tags") or ()]


# management --------------------------------------------------------------------------
def create_key(s: Services, c: Caller, p: Params) -> Result:
    key = s.keys.create_key(
        c,
        description=p.get("Description", ""),
        key_usage=p.get("KeyUsage"),
        key_spec=p.get("KeySpec") or p.get("CustomerMasterKeySpec") or "SYMMETRIC_DEFAULT",
        origin=p.get("Origin", "AWS_KMS"),
        policy=p.get("Policy"),
        tags=_tags(p),
        multi_region=bool(p.get("MultiRegion", False)),
        bypass_lockout_check=bool(p.get("BypassPolicyLockoutSafetyCheck")),
        custom_key_store_id=p.get("CustomKeyStoreId"),
        xks_key_id=p.get("XksKeyId"),
    )
    return {"KeyMetadata": with_store(s, key, key_metadata(key, (key.region,)))}


def describe_key(s: Services, c: Caller, p: Params) -> Result:
    key, regions = s.keys.describe(c, p["KeyId"])
    return {"KeyMetadata": with_store(s, key, key_metadata(key, regions))}


def list_keys(s: Services, c: Caller, p: Params) -> Result:
    owners = p.get("ResourceOwners") or ["SELF"]
    if any(owner != "SELF" for owner in owners):  # keys shared through AWS RAM
        raise UnsupportedParameterError(
            "ResourceOwners other than SELF are not supported by Cofre (it has no AWS RAM)."
        )
    page = s.keys.list_keys(c, p.get("Limit"), p.get("Marker"))
    out: Result = {
        "Keys": [{"KeyId": k.key_id, "KeyArn": k.arn} for k in page.items],
    }
    return paged(out, page)


def enable_key(s: Services, c: Caller, p: Params) -> Result:
    s.keys.enable_key(c, p["KeyId"])
    return {}


def disable_key(s: Services, c: Caller, p: Params) -> Result:
    s.keys.disable_key(c, p["KeyId"])
    return {}


def update_key_description(s: Services, c: Caller, p: Params) -> Result:
    s.keys.update_key_description(c, p["KeyId"], p["Description"])
    return {}


def schedule_key_deletion(s: Services, c: Caller, p: Params) -> Result:
    key = s.keys.schedule_key_deletion(c, p["KeyId"], p.get("PendingWindowInDays"))
    out: Result = {
        "KeyId": key.arn,
        "KeyState": key.state.value,
        "PendingWindowInDays": key.pending_window_days,
    }
    if key.deletion_date is not None:  # none for a primary waiting for its replicas
        out["DeletionDate"] = key.deletion_date
    return out


def cancel_key_deletion(s: Services, c: Caller, p: Params) -> Result:
    return {"KeyId": s.keys.cancel_key_deletion(c, p["KeyId"]).arn}


# aliases and tags --------------------------------------------------------------------
def create_alias(s: Services, c: Caller, p: Params) -> Result:
    s.aliases.create_alias(c, p["AliasName"], p["TargetKeyId"])
    return {}


def update_alias(s: Services, c: Caller, p: Params) -> Result:
    s.aliases.update_alias(c, p["AliasName"], p["TargetKeyId"])
    return {}


def delete_alias(s: Services, c: Caller, p: Params) -> Result:
    s.aliases.delete_alias(c, p["AliasName"])
    return {}


def list_aliases(s: Services, c: Caller, p: Params) -> Result:
    page = s.aliases.list_aliases(c, p.get("KeyId"), p.get("Limit"), p.get("Marker"))
    out: Result = {
        "Aliases": [
            {
                "AliasName": a.name,
                "AliasArn": alias_arn(a.region, a.account_id, a.name),
                "TargetKeyId": a.key_id,
                "CreationDate": a.created_at,
                "LastUpdatedDate": a.updated_at,
            }
            for a in page.items
        ],
    }
    return paged(out, page)


def tag_resource(s: Services, c: Caller, p: Params) -> Result:
    s.aliases.tag_resource(c, p["KeyId"], _tags(p))
    return {}


def untag_resource(s: Services, c: Caller, p: Params) -> Result:
    s.aliases.untag_resource(c, p["KeyId"], p["TagKeys"])
    return {}


def list_resource_tags(s: Services, c: Caller, p: Params) -> Result:
    page = s.aliases.list_resource_tags(c, p["KeyId"], p.get("Limit"), p.get("Marker"))
    out: Result = {
        "Tags": [{"TagKey": k, "TagValue": v} for k, v in page.items],
    }
    return paged(out, page)


# rotation and policies ---------------------------------------------------------------
def enable_key_rotation(s: Services, c: Caller, p: Params) -> Result:
    s.keys.enable_key_rotation(c, p["KeyId"], p.get("RotationPeriodInDays"))
    return {}


def disable_key_rotation(s: Services, c: Caller, p: Params) -> Result:
    s.keys.disable_key_rotation(c, p["KeyId"])
    return {}


def get_key_rotation_status(s: Services, c: Caller, p: Params) -> Result:
    key = s.keys.get_key_rotation_status(c, p["KeyId"])
    out: Result = {"KeyRotationEnabled": key.rotation_enabled, "KeyId": key.arn}
    if key.rotation_enabled:
        out["RotationPeriodInDays"] = key.rotation_period_days
        if key.next_rotation_at is not None:
            out["NextRotationDate"] = key.next_rotation_at
    return out


def rotate_key_on_demand(s: Services, c: Caller, p: Params) -> Result:
    return {"KeyId": s.keys.rotate_key_on_demand(c, p["KeyId"]).arn}


def _rotation_entry(key: Key, version: KeyVersion | ImportedMaterial) -> Result:
    if isinstance(version, ImportedMaterial):
        return imported_rotation_entry(key, version)
    entry: Result = {
        "KeyId": key.key_id,
        "KeyMaterialId": version.material_id,
        "KeyMaterialState": "CURRENT"
        if version.version_id == key.current_version_id
        else "NON_CURRENT",
    }
    if version.rotation_type is not None:
        entry["RotationDate"] = version.created_at
        entry["RotationType"] = version.rotation_type.value
    return entry


def list_key_rotations(s: Services, c: Caller, p: Params) -> Result:
    include_all = p.get("IncludeKeyMaterial") == "ALL_KEY_MATERIAL"
    key, page = s.keys.list_key_rotations(
        c, p["KeyId"], include_all, p.get("Limit"), p.get("Marker")
    )
    out: Result = {
        "Rotations": [_rotation_entry(key, v) for v in page.items],
    }
    return paged(out, page)


def get_key_policy(s: Services, c: Caller, p: Params) -> Result:
    return {
        "Policy": s.keys.get_key_policy(c, p["KeyId"], p.get("PolicyName")),
        "PolicyName": "default",
    }


def put_key_policy(s: Services, c: Caller, p: Params) -> Result:
    s.keys.put_key_policy(
        c,
        p["KeyId"],
        p.get("PolicyName"),
        p["Policy"],
        bool(p.get("BypassPolicyLockoutSafetyCheck")),
    )
    return {}


def list_key_policies(s: Services, c: Caller, p: Params) -> Result:
    return {"PolicyNames": s.keys.list_key_policies(c, p["KeyId"]), "Truncated": False}


# cryptography ------------------------------------------------------------------------
def encrypt(s: Services, c: Caller, p: Params) -> Result:
    sealed = s.crypto.encrypt(
        c,
        p["KeyId"],
        p["Plaintext"],
        p.get("EncryptionContext"),
        p.get("EncryptionAlgorithm"),
        bool(p.get("DryRun")),
        grant_tokens(p),
    )
    return {
        "CiphertextBlob": sealed.blob,
        "KeyId": sealed.key_arn,
        "EncryptionAlgorithm": sealed.algorithm,
    }


def decrypt(s: Services, c: Caller, p: Params) -> Result:
    refuse_recipient(p)
    opened = s.crypto.decrypt(
        c,
        p["CiphertextBlob"],
        p.get("EncryptionContext"),
        p.get("KeyId"),
        p.get("EncryptionAlgorithm"),
        bool(p.get("DryRun")),
        grant_tokens(p),
    )
    out: Result = {
        "KeyId": opened.key_arn,
        "Plaintext": opened.plaintext,
        "EncryptionAlgorithm": opened.algorithm,
    }
    if opened.material_id is not None:
        out["KeyMaterialId"] = opened.material_id
    return out


def re_encrypt(s: Services, c: Caller, p: Params) -> Result:
    result = s.crypto.re_encrypt(
        c,
        p["CiphertextBlob"],
        p["DestinationKeyId"],
        source_context=p.get("SourceEncryptionContext"),
        destination_context=p.get("DestinationEncryptionContext"),
        source_key_id=p.get("SourceKeyId"),
        source_algorithm=p.get("SourceEncryptionAlgorithm"),
        destination_algorithm=p.get("DestinationEncryptionAlgorithm"),
        dry_run=bool(p.get("DryRun")),
        grant_tokens=grant_tokens(p),
    )
    source, destination = result.source, result.destination
    out: Result = {
        "CiphertextBlob": destination.blob,
        "SourceKeyId": source.key_arn,
        "KeyId": destination.key_arn,
        "SourceEncryptionAlgorithm": source.algorithm,
        "DestinationEncryptionAlgorithm": destination.algorithm,
    }
    if source.material_id is not None:
        out["SourceKeyMaterialId"] = source.material_id
    if destination.version_id is not None:
        out["DestinationKeyMaterialId"] = destination.version_id.hex()
    return out


def generate_data_key(s: Services, c: Caller, p: Params) -> Result:
    refuse_recipient(p)
    key = s.crypto.generate_data_key(
        c,
        p["KeyId"],
        data_key_length(p.get("KeySpec"), p.get("NumberOfBytes")),
        p.get("EncryptionContext"),
        bool(p.get("DryRun")),
        grant_tokens=grant_tokens(p),
    )
    return {
        "CiphertextBlob": key.blob,
        "Plaintext": key.plaintext,
        "KeyId": key.key_arn,
        "KeyMaterialId": key.material_id,
    }


def generate_data_key_without_plaintext(s: Services, c: Caller, p: Params) -> Result:
    key = s.crypto.generate_data_key(
        c,
        p["KeyId"],
        data_key_length(p.get("KeySpec"), p.get("NumberOfBytes")),
        p.get("EncryptionContext"),
        bool(p.get("DryRun")),
        action="kms:GenerateDataKeyWithoutPlaintext",
        grant_tokens=grant_tokens(p),
    )
    return {"CiphertextBlob": key.blob, "KeyId": key.key_arn, "KeyMaterialId": key.material_id}


def generate_random(s: Services, c: Caller, p: Params) -> Result:
    if p.get("CustomKeyStoreId") is not None:
        raise ValidationError("Custom key stores are not supported by Cofre.")
    refuse_recipient(p)
    count = p.get("NumberOfBytes")
    if count is None:
        raise ValidationError("NumberOfBytes is required.")
    return {"Plaintext": s.crypto.generate_random(c, count)}


OPERATIONS: dict[str, Operation] = {
    "CreateKey": threaded(create_key),
    "DescribeKey": threaded(describe_key),
    "ListKeys": threaded(list_keys),
    "EnableKey": threaded(enable_key),
    "DisableKey": threaded(disable_key),
    "UpdateKeyDescription": threaded(update_key_description),
    "ScheduleKeyDeletion": threaded(schedule_key_deletion),
    "CancelKeyDeletion": threaded(cancel_key_deletion),
    "CreateAlias": threaded(create_alias),
    "UpdateAlias": threaded(update_alias),
    "DeleteAlias": threaded(delete_alias),
    "ListAliases": threaded(list_aliases),
    "TagResource": threaded(tag_resource),
    "UntagResource": threaded(untag_resource),
    "ListResourceTags": threaded(list_resource_tags),
    "EnableKeyRotation": threaded(enable_key_rotation),
    "DisableKeyRotation": threaded(disable_key_rotation),
    "GetKeyRotationStatus": threaded(get_key_rotation_status),
    "RotateKeyOnDemand": threaded(rotate_key_on_demand),
    "ListKeyRotations": threaded(list_key_rotations),
    "GetKeyPolicy": threaded(get_key_policy),
    "ListKeyPolicies": threaded(list_key_policies),
    "Encrypt": inline(encrypt),
    "Decrypt": inline(decrypt),
    "ReEncrypt": inline(re_encrypt),
    "GenerateDataKey": inline(generate_data_key),
    "GenerateDataKeyWithoutPlaintext": inline(generate_data_key_without_plaintext),
    "GenerateRandom": inline(generate_random),
    "PutKeyPolicy": threaded(put_key_policy),
    **GRANT_OPERATIONS,
    **CUSTOM_STORE_OPERATIONS,
    **MULTI_REGION_OPERATIONS,
    **ASYMMETRIC_OPERATIONS,
    **AUDIT_OPERATIONS,
}
