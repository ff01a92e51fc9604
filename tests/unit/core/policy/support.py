"""Builds request contexts and grants from the case tables' compact overrides."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cofre.core.policy import GrantRecord, RequestContext
from tests.unit.core.policy.cases_authorize import ALICE, KEY, A

NOW = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)


def make_context(over: dict[str, Any]) -> RequestContext:
    principal = over.get("principal", ALICE)
    return RequestContext(
        principal_arn=principal,
        principal_account=over.get("account", A),
        action=over.get("action", "kms:Encrypt"),
        resource_arn=over.get("resource", KEY),
        resource_account=A,
        current_time=NOW,
        source_ip=over.get("ip"),
        secure_transport=over.get("secure"),
        username=over.get(
            "username", principal.rsplit("/", 1)[-1] if ":user/" in principal else None
        ),
        userid=over.get("userid", "AIDAEXAMPLE"),
        role_arn=over.get("role"),
        encryption_context=over.get("context"),
        condition_keys=over.get("keys", {}),
    )


def context_from_condition_keys(keys: dict[str, Any]) -> RequestContext:
    """Condition-table keys; ``@ip``, ``@secure``, ``@username`` set the typed fields."""
    over: dict[str, Any] = {"keys": {k: v for k, v in keys.items() if not k.startswith("@")}}
    for name, field in (("@ip", "ip"), ("@secure", "secure"), ("@username", "username")):
        if name in keys:
            over[field] = keys[name]
    return make_context(over)


def make_grant(raw: dict[str, Any], index: int) -> GrantRecord:
    return GrantRecord(
        grant_id=f"grant-{index}",
        grantee_principal=raw["grantee"],
        operations=frozenset(raw["ops"]),
        encryption_context_subset=raw.get("subset"),
        encryption_context_equals=raw.get("equals"),
    )
