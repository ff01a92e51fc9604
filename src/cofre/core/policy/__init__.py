"""The policy engine: parse IAM/KMS policy documents once, evaluate them many times.

Pure: no I/O, no clock (the request time is part of ``RequestContext``).
"""

from __future__ import annotations

from cofre.core.policy.context import ContextValue, RequestContext
from cofre.core.policy.evaluate import (
    AuthorizationDecision,
    Decision,
    GrantRecord,
    PolicyResult,
    Reason,
    authorize,
    authorize_identity,
    condition_keys,
    evaluate_policy,
)
from cofre.core.policy.model import Effect, Policy, PolicyKind, Statement
from cofre.core.policy.parser import parse_policy

__all__ = [
    "AuthorizationDecision",
    "ContextValue",
    "Decision",
    "Effect",
    "GrantRecord",
    "Policy",
    "PolicyKind",
    "PolicyResult",
    "Reason",
    "RequestContext",
    "Statement",
    "authorize",
    "authorize_identity",
    "condition_keys",
    "evaluate_policy",
    "parse_policy",
]
