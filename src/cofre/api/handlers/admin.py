"""Cofre's own admin API: accounts (tenants), the seal (status, seal, rotate the root
key) and request quotas (list, set). AWS JSON 1.1 with ``X-Amz-Target:
CofreAdmin.<Op>``, signed with SigV4 for the service name ``cofre``.

No botocore model describes it, so the input is checked here, member by member.
"""

from __future__ import annotations

from typing import Any

import orjson

from cofre.api.handlers.operation import Operation, Params, Result, threaded
from cofre.container import Services
from cofre.core.iam.principals import Caller
from cofre.core.quotas import catalogue as quota_catalogue
from cofre.errors import SerializationError, ValidationError

TARGET_PREFIX = "CofreAdmin."
_MEMBERS = {"AccountId": 12, "Name": 50, "Quota": 64, "Rate": 20}


def parse_input(body: bytes) -> Params:
    try:
        document: Any = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError as exc:
        raise SerializationError("The request body is not a JSON object.") from exc
    if not isinstance(document, dict):
        raise SerializationError("The request body is not a JSON object.")
    for name, value in document.items():
        limit = _MEMBERS.get(name)
        if limit is None:
            raise ValidationError(f"Unknown member {name[:40]!r}.")
        if not isinstance(value, str):
            raise SerializationError(f"{name} must be a string.")
        if not 1 <= len(value) <= limit:
            raise ValidationError(f"{name} must have length between 1 and {limit}.")
    return document


def create_account(s: Services, c: Caller, p: Params) -> Result:
    account, pair = s.accounts.create_account(c, p.get("AccountId"), p.get("Name", ""))
    return {
        "AccountId": account.account_id,
        "Name": account.name,
        "AccessKeyId": pair.access_key_id,
        "SecretAccessKey": pair.secret_access_key,
    }


def list_accounts(s: Services, c: Caller, p: Params) -> Result:
    return {
        "Accounts": [
            {"AccountId": a.account_id, "Name": a.name, "CreationDate": a.created_at}
            for a in s.accounts.list_accounts(c)
        ]
    }


def seal_status(s: Services, c: Caller, p: Params) -> Result:
    return s.seal_control.status().document()


def seal(s: Services, c: Caller, p: Params) -> Result:
    """Seal this node at once: it drops every key it holds (bootstrap admin only)."""
    s.accounts.require_admin(c, "cofre:Seal")
    return s.seal_control.seal().document()


def rotate_root(s: Services, c: Caller, p: Params) -> Result:
    """New root key material; the keyring is rewrapped under it (bootstrap admin only)."""
    s.accounts.require_admin(c, "cofre:RotateRoot")
    return s.seal_control.rotate_root().document()


def list_quotas(s: Services, c: Caller, p: Params) -> Result:
    """Every quota with its default in the caller's Region and, for ``AccountId`` (default:
    the caller's), its rate now (bootstrap admin only)."""
    s.accounts.require_admin(c, "cofre:ListQuotas")
    account = p.get("AccountId") or c.account_id
    overrides = s.quotas.overrides()
    return {
        "AccountId": account,
        "Region": c.region,
        "Enabled": s.quotas.enabled,
        "Quotas": [
            {
                "Quota": info.name,
                "AppliesTo": info.applies_to,
                "DefaultRate": info.default_rate,
                "Rate": overrides.get((account, info.name), info.default_rate),
                "Overridden": (account, info.name) in overrides,
            }
            for info in quota_catalogue(c.region)
        ],
    }


def set_quota(s: Services, c: Caller, p: Params) -> Result:
    """Set ``Quota`` for ``AccountId`` to ``Rate`` requests a second ("default": AWS's
    default again), in every Region and on every node (bootstrap admin only)."""
    s.accounts.require_admin(c, "cofre:SetQuota")
    account, quota, text = p.get("AccountId"), p.get("Quota"), p.get("Rate")
    if account is None or quota is None or text is None:
        raise ValidationError("AccountId, Quota and Rate are required.")
    rate: float | None = None
    if text != "default":
        try:
            rate = float(text)
        except ValueError as exc:
            raise ValidationError("Rate must be a number of requests a second.") from exc
    s.quotas.set_rate(account, quota, rate)
    return {"AccountId": account, "Quota": quota, "Rate": s.quotas.rate(account, c.region, quota)}


def verify_audit_trail(s: Services, c: Caller, p: Params) -> Result:
    """``cofre audit verify`` on the running server's store (bootstrap account only): the
    hash chain, MACs, lookup columns and signed digests; the first problems found."""
    s.accounts.require_admin(c, "cofre:VerifyAuditTrail")
    report = s.audit.reads.verify(max_problems=20)
    return {
        "Intact": report.ok,
        "Events": report.events,
        "Digests": report.digests,
        "FirstSeq": report.first_seq,
        "LastSeq": report.last_seq,
        "SignedThrough": report.signed_through,
        "ProblemCount": report.problem_count,
        "Problems": [str(problem) for problem in report.problems],
    }


OPERATIONS: dict[str, Operation] = {
    "CreateAccount": threaded(create_account),
    "ListAccounts": threaded(list_accounts),
    "SealStatus": threaded(seal_status),
    "Seal": threaded(seal),
    "RotateRoot": threaded(rotate_root),
    "ListQuotas": threaded(list_quotas),
    "SetQuota": threaded(set_quota),
    "VerifyAuditTrail": threaded(verify_audit_trail),
}
