"""Multi-Region key operations on the wire: ReplicateKey, UpdatePrimaryRegion."""

from __future__ import annotations

from cofre.api.handlers.kms.metadata import key_metadata
from cofre.api.handlers.operation import Operation, Params, Result, threaded
from cofre.container import Services
from cofre.core.iam.principals import Caller


def replicate_key(s: Services, c: Caller, p: Params) -> Result:
    tags = [(tag["TagKey"], tag["TagValue"]) for tag in p.get("Tags") or ()]
    replica = s.multi_region.replicate_key(
        c,
        p["KeyId"],
        p["ReplicaRegion"],
        policy=p.get("Policy"),
        description=p.get("Description", ""),
        tags=tags,
        bypass_lockout_check=bool(p.get("BypassPolicyLockoutSafetyCheck")),
    )
    out: Result = {
        "ReplicaKeyMetadata": key_metadata(replica.key, replica.regions),
        "ReplicaPolicy": replica.key.policy,
    }
    if tags:  # AWS leaves ReplicaTags out when the request had none
        out["ReplicaTags"] = [{"TagKey": k, "TagValue": v} for k, v in replica.tags.items()]
    return out


def update_primary_region(s: Services, c: Caller, p: Params) -> Result:
    s.multi_region.update_primary_region(c, p["KeyId"], p["PrimaryRegion"])
    return {}


MULTI_REGION_OPERATIONS: dict[str, Operation] = {
    "ReplicateKey": threaded(replicate_key),
    "UpdatePrimaryRegion": threaded(update_primary_region),
}
