"""KMS grant operations on the wire."""

from __future__ import annotations

from cofre.api.handlers.operation import Operation, Params, Result, grant_tokens, paged, threaded
from cofre.container import Services
from cofre.core.iam.principals import Caller
from cofre.core.kms.grants import Grant, GrantConstraints


def _constraints(p: Params) -> GrantConstraints | None:
    raw = p.get("Constraints")
    if not raw:
        return None
    return GrantConstraints(
        encryption_context_subset=raw.get("EncryptionContextSubset"),
        encryption_context_equals=raw.get("EncryptionContextEquals"),
    )


def _grant(grant: Grant) -> Result:
    out: Result = {
        "KeyId": grant.key_arn,
        "GrantId": grant.grant_id,
        "CreationDate": grant.created_at,
        "GranteePrincipal": grant.grantee_principal,
        "IssuingAccount": grant.issuing_account,
        "Operations": list(grant.operations),
    }
    if grant.name:
        out["Name"] = grant.name
    if grant.retiring_principal:
        out["RetiringPrincipal"] = grant.retiring_principal
    constraints: Result = {}
    if grant.constraints.encryption_context_subset is not None:
        constraints["EncryptionContextSubset"] = dict(grant.constraints.encryption_context_subset)
    if grant.constraints.encryption_context_equals is not None:
        constraints["EncryptionContextEquals"] = dict(grant.constraints.encryption_context_equals)
    if constraints:
        out["Constraints"] = constraints
    return out


def create_grant(s: Services, c: Caller, p: Params) -> Result:
    grant_id, token = s.grants.create_grant(
        c,
        p["KeyId"],
        p["GranteePrincipal"],
        p["Operations"],
        retiring=p.get("RetiringPrincipal"),
        constraints=_constraints(p),
        name=p.get("Name"),
        grant_tokens=grant_tokens(p),
        dry_run=bool(p.get("DryRun")),
    )
    return {"GrantId": grant_id, "GrantToken": token}


def list_grants(s: Services, c: Caller, p: Params) -> Result:
    page = s.grants.list_grants(
        c,
        p["KeyId"],
        p.get("Limit"),
        p.get("Marker"),
        p.get("GrantId"),
        p.get("GranteePrincipal"),
    )
    return paged({"Grants": [_grant(g) for g in page.items]}, page)


def list_retirable_grants(s: Services, c: Caller, p: Params) -> Result:
    page = s.grants.list_retirable_grants(
        c, p["RetiringPrincipal"], p.get("Limit"), p.get("Marker")
    )
    return paged({"Grants": [_grant(g) for g in page.items]}, page)


def retire_grant(s: Services, c: Caller, p: Params) -> Result:
    s.grants.retire_grant(
        c, p.get("GrantToken"), p.get("KeyId"), p.get("GrantId"), bool(p.get("DryRun"))
    )
    return {}


def revoke_grant(s: Services, c: Caller, p: Params) -> Result:
    s.grants.revoke_grant(c, p["KeyId"], p["GrantId"], bool(p.get("DryRun")))
    return {}


GRANT_OPERATIONS: dict[str, Operation] = {
    "CreateGrant": threaded(create_grant),
    "ListGrants": threaded(list_grants),
    "ListRetirableGrants": threaded(list_retirable_grants),
    "RetireGrant": threaded(retire_grant),
    "RevokeGrant": threaded(revoke_grant),
}
