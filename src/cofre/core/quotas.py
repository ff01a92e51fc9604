"""Request quotas as AWS sets them (ADR 20): which quota a call counts against, its default
rate in a Region, and the token bucket arithmetic. Pure: the time is an argument.

Cryptographic operations share one rate per kind of key, as AWS's table groups them
(symmetric, RSA, ECC, HMAC); control-plane operations have one quota each; Parameter
Store's reads share one. Rates are requests per second, per account and per Region; a
bucket holds one second's worth (at least one request), so a burst up to the rate passes
at once, and then the rate holds.

Defaults: AWS KMS "Request quotas" (docs.aws.amazon.com/kms/latest/developerguide/
requests-per-second.html) and Systems Manager's "Parameter Store" quotas (general
reference, "AWS Systems Manager endpoints and quotas"), as read for ADR 20. An operation
with no published quota is not throttled.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Cryptographic operations: the quota depends on the key's kind.
SYMMETRIC = "kms:symmetric"
RSA = "kms:rsa"
ECC = "kms:ecc"
HMAC = "kms:hmac"
SSM_READS = "ssm:GetParameter"  # GetParameter, GetParameters, GetParametersByPath

# The symmetric rate in AWS's largest Regions, in its next tier, and elsewhere.
_SYMMETRIC_LARGE = frozenset({"us-east-1", "us-west-2", "eu-west-1"})
_SYMMETRIC_MEDIUM = frozenset(
    {"us-east-2", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1", "eu-central-1",
     "eu-west-2"}
)  # fmt: skip
SYMMETRIC_RATES = (50_000.0, 20_000.0, 10_000.0)

# Operations whose quota is the kind of the key they use (KeyId, or ReEncrypt's
# DestinationKeyId); without a key (GenerateRandom, Decrypt of a symmetric ciphertext)
# symmetric.
BY_KEY = frozenset({
    "Encrypt", "Decrypt", "ReEncrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
    "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "GenerateRandom",
    "Sign", "Verify", "GenerateMac", "VerifyMac", "DeriveSharedSecret",
})  # fmt: skip

# Control-plane operations: one quota each, named "kms:<Operation>".
KMS_CONTROL: Mapping[str, float] = {
    "CancelKeyDeletion": 5, "CreateAlias": 5, "CreateGrant": 50, "CreateKey": 5,
    "DeleteAlias": 5, "DeleteImportedKeyMaterial": 5, "DescribeKey": 2000,
    "DisableKey": 5, "DisableKeyRotation": 5, "EnableKey": 5, "EnableKeyRotation": 5,
    "GetKeyPolicy": 1000, "GetKeyRotationStatus": 1000, "GetPublicKey": 2000,
    "ImportKeyMaterial": 5, "ListAliases": 500, "ListGrants": 100, "ListKeyPolicies": 100,
    "ListKeys": 500, "ListResourceTags": 2000, "ListRetirableGrants": 100,
    "PutKeyPolicy": 15, "ReplicateKey": 5, "RetireGrant": 30, "RevokeGrant": 30,
    "RotateKeyOnDemand": 5, "ScheduleKeyDeletion": 15, "TagResource": 10,
    "UntagResource": 5, "UpdateAlias": 5, "UpdateKeyDescription": 5,
    "UpdatePrimaryRegion": 5,
}  # fmt: skip

SSM_SHARED_READS = frozenset({"GetParameter", "GetParameters", "GetParametersByPath"})
SSM_RATES: Mapping[str, float] = {SSM_READS: 40, "ssm:PutParameter": 3}

MESSAGES = {
    "kms": "You have exceeded the rate at which you may call KMS. Reduce the frequency of"
    " your calls.",
    "ssm": "Rate exceeded",
}


@dataclass(frozen=True, slots=True)
class QuotaInfo:
    name: str
    default_rate: float
    applies_to: str  # what it counts, for `cofre quotas list`


def key_kind_quota(key_spec: str) -> str:
    """The cryptographic quota of a key of ``key_spec``."""
    if key_spec.startswith("RSA_"):
        return RSA
    if key_spec.startswith(("ECC_", "SM2")):
        return ECC
    if key_spec.startswith("HMAC_"):
        return HMAC
    return SYMMETRIC


def fixed_quota(service: str, operation: str) -> str | None:
    """The quota a call counts against when it does not depend on a key; None for an
    operation with no quota (or one that depends on its key: :data:`BY_KEY`)."""
    if service == "kms":
        return f"kms:{operation}" if operation in KMS_CONTROL else None
    if service == "ssm":
        if operation in SSM_SHARED_READS:
            return SSM_READS
        name = f"ssm:{operation}"
        return name if name in SSM_RATES else None
    return None


def default_rate(quota: str, region: str) -> float | None:
    """AWS's default rate of ``quota`` in ``region``; None for an unknown name."""
    if quota in (SYMMETRIC, HMAC):
        if region in _SYMMETRIC_LARGE:
            return SYMMETRIC_RATES[0]
        return SYMMETRIC_RATES[1] if region in _SYMMETRIC_MEDIUM else SYMMETRIC_RATES[2]
    if quota in (RSA, ECC):
        return 1000.0
    if quota.startswith("kms:"):
        rate = KMS_CONTROL.get(quota[4:])
        return None if rate is None else float(rate)
    found = SSM_RATES.get(quota)
    return None if found is None else float(found)


def catalogue(region: str) -> list[QuotaInfo]:
    """Every quota, with its default in ``region``."""
    crypto = [
        QuotaInfo(SYMMETRIC, default_rate(SYMMETRIC, region) or 0.0,
                  "cryptographic operations with symmetric keys, GenerateRandom"),
        QuotaInfo(RSA, 1000.0, "cryptographic operations with RSA keys"),
        QuotaInfo(ECC, 1000.0, "cryptographic operations with ECC and SM2 keys"),
        QuotaInfo(HMAC, default_rate(HMAC, region) or 0.0, "GenerateMac, VerifyMac"),
    ]  # fmt: skip
    control = [QuotaInfo(f"kms:{op}", float(rate), op) for op, rate in KMS_CONTROL.items()]
    ssm = [
        QuotaInfo(SSM_READS, SSM_RATES[SSM_READS], "GetParameter, GetParameters,"
                  " GetParametersByPath"),
        QuotaInfo("ssm:PutParameter", SSM_RATES["ssm:PutParameter"], "PutParameter"),
    ]  # fmt: skip
    return [*crypto, *sorted(control, key=lambda q: q.name), *ssm]


def is_quota(name: str) -> bool:
    return default_rate(name, "us-east-1") is not None


def capacity(rate: float) -> float:
    """A bucket holds one second's worth of requests, and at least one."""
    return max(1.0, rate)


def refill(tokens: float, last: float, now: float, rate: float) -> float:
    """Tokens in a bucket last seen at ``last`` with ``tokens``, at ``now``."""
    elapsed = max(0.0, now - last)
    return min(capacity(rate), tokens + elapsed * rate)
