"""The resources of a call: ARNs, their accounts, and CloudTrail's resource types."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# (service of the ARN, first word of its resource part) -> CloudTrail resource type
_RESOURCE_TYPES: Mapping[tuple[str, str], str] = {
    ("kms", "key"): "AWS::KMS::Key",
    ("kms", "alias"): "AWS::KMS::Alias",
    ("ssm", "parameter"): "AWS::SSM::Parameter",
    ("iam", "user"): "AWS::IAM::User",
    ("iam", "role"): "AWS::IAM::Role",
    ("iam", "policy"): "AWS::IAM::Policy",
}


def arn_account(arn: str) -> str:
    parts = arn.split(":", 5)
    return parts[4] if len(parts) == 6 else ""


def resource_type(arn: str) -> str:
    parts = arn.split(":", 5)
    if len(parts) != 6:
        return ""
    word = parts[5].split("/", 1)[0]
    return _RESOURCE_TYPES.get((parts[2], word), "")


def resource_arns(
    service: str,
    region: str,
    account_id: str,
    params: Mapping[str, Any] | None,
    output: Mapping[str, Any] | None,
) -> tuple[str, ...]:
    """The key ARNs a KMS call names, best effort, for callers that do not know them:
    ARNs in the response (``KeyId``, ``SourceKeyId``, ``KeyMetadata.Arn``), else a key
    ARN or bare key id in the request (a bare id is in the caller's account and Region).
    Aliases are not resolved here."""
    if service != "kms":
        return ()
    found: list[str] = []
    for source in (output or {}, params or {}):
        for name in ("SourceKeyId", "KeyId", "DestinationKeyId"):
            value = source.get(name)
            if isinstance(value, str):
                found.append(value)
        metadata = source.get("KeyMetadata")
        if isinstance(metadata, Mapping) and isinstance(metadata.get("Arn"), str):
            found.append(metadata["Arn"])
        if found:
            break
    out: list[str] = []
    for value in found:
        if value.startswith("arn:") and resource_type(value) == "AWS::KMS::Key":
            out.append(value)
        elif len(value) == 36 and (value.count("-") == 4 or value.startswith("mrk-")):
            out.append(f"arn:aws:kms:{region}:{account_id}:key/{value.lower()}")
    return tuple(dict.fromkeys(out))
