"""Evaluation: one policy -> Allow / Deny / NotApplicable; and KMS's combined decision.

The combined rule (AWS KMS Developer Guide, "KMS key access and permissions"; IAM User
Guide, "Policy evaluation logic" and "Cross-account policy evaluation logic"):

1. An explicit Deny in the key policy or in an identity policy of the caller wins.
2. Same account: the key policy allows the caller directly; or it allows the caller's
   account (``arn:aws:iam::<acct>:root``), delegating to IAM, and an identity policy
   allows. An identity policy alone is never enough.
3. Cross account: the key policy allows the caller or the caller's account, and the
   caller's identity policies allow too.
4. Otherwise a grant for the caller, the operation and the encryption context allows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from cofre.core.policy.context import RequestContext
from cofre.core.policy.model import Effect, Policy, PolicyKind, PrincipalMatch, Statement


class Decision(StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"
    NOT_APPLICABLE = "NotApplicable"


@dataclass(frozen=True, slots=True)
class PolicyResult:
    """One policy's verdict. ``delegated`` lists Allow statements that cover the caller
    only through its account: they hand the decision to the account's IAM policies."""

    decision: Decision
    statements: tuple[str, ...] = ()
    delegated: tuple[str, ...] = ()


_NOT_APPLICABLE = PolicyResult(Decision.NOT_APPLICABLE)


def _principal_match(st: Statement, ctx: RequestContext) -> PrincipalMatch:
    if st.principal is not None:
        return st.principal.match(
            ctx.principal_arn, ctx.principal_account, ctx.role_arn, ctx.is_account_root
        )
    if st.not_principal is not None:
        exempt = st.not_principal.exempts(
            ctx.principal_arn, ctx.principal_account, ctx.role_arn, ctx.is_account_root
        )
        return PrincipalMatch.NONE if exempt else PrincipalMatch.DIRECT
    return PrincipalMatch.DIRECT  # identity policy: the caller is the principal


def evaluate_policy(policy: Policy, ctx: RequestContext) -> PolicyResult:
    """Evaluate every statement: any matching Deny -> DENY; else any matching Allow that
    names the caller -> ALLOW; else NOT_APPLICABLE (possibly with delegating statements)."""
    allows: list[str] | None = None
    delegated: list[str] | None = None
    denies: list[str] | None = None
    lookup = ctx.keys.get
    action = ctx.action_lower
    resource = ctx.resource_arn
    for st in policy.statements:
        if st.action_matcher.matches(action, lookup) == st.not_action:
            continue
        if st.resource_matcher.matches(resource, lookup) == st.not_resource:
            continue
        if st.principal is None and st.not_principal is None:
            match = PrincipalMatch.DIRECT  # identity policy: the caller is the principal
        else:
            match = _principal_match(st, ctx)
            if match is PrincipalMatch.NONE:
                continue
        applies = True
        for condition in st.conditions:
            if not condition.evaluate(lookup):
                applies = False
                break
        if not applies:
            continue
        if st.effect is Effect.DENY:
            if denies is None:
                denies = []
            denies.append(st.label)
        elif match is PrincipalMatch.DIRECT:
            if allows is None:
                allows = []
            allows.append(st.label)
        else:
            if delegated is None:
                delegated = []
            delegated.append(st.label)
    if denies is not None:
        return PolicyResult(Decision.DENY, tuple(denies))
    if allows is not None:
        return PolicyResult(Decision.ALLOW, tuple(allows), tuple(delegated or ()))
    if delegated is not None:
        return PolicyResult(Decision.NOT_APPLICABLE, (), tuple(delegated))
    return _NOT_APPLICABLE


@dataclass(frozen=True, slots=True)
class GrantRecord:
    """What the policy engine needs of a grant (the grant itself lives in core.grants)."""

    grant_id: str
    grantee_principal: str
    operations: frozenset[str]  # "Decrypt", "Encrypt", ... (no "kms:" prefix)
    encryption_context_subset: Mapping[str, str] | None = None
    encryption_context_equals: Mapping[str, str] | None = None

    def allows(self, ctx: RequestContext) -> bool:
        if ctx.principal_arn != self.grantee_principal:
            return False
        action = ctx.action
        if not action.lower().startswith("kms:") or action[4:] not in self.operations:
            return False
        context = ctx.encryption_context or {}
        if self.encryption_context_equals is not None and dict(context) != dict(
            self.encryption_context_equals
        ):
            return False
        subset = self.encryption_context_subset
        return subset is None or all(context.get(k) == v for k, v in subset.items())


class Reason(StrEnum):
    ACCOUNT_ROOT = "account-root"  # allowed: the account root, no resource policy involved
    IDENTITY_POLICY = "identity-policy"  # allowed: an identity policy (no resource policy)
    KEY_POLICY = "key-policy"  # allowed: the key policy names the caller
    IAM_DELEGATION = "iam-delegation"  # allowed: key policy delegates, identity allows
    GRANT = "grant"  # allowed by a grant
    EXPLICIT_DENY_KEY_POLICY = "explicit-deny-key-policy"
    EXPLICIT_DENY_IDENTITY = "explicit-deny-identity-policy"
    NO_KEY_POLICY_ALLOW = "no-key-policy-allow"
    NO_IDENTITY_ALLOW = "no-identity-policy-allow"


@dataclass(frozen=True, slots=True)
class AuthorizationDecision:
    allowed: bool
    reason: Reason
    principal_arn: str
    action: str
    resource_arn: str
    statements: tuple[str, ...] = ()  # the key/identity statements that decided
    grant_id: str | None = None

    @property
    def message(self) -> str:
        """AWS's AccessDenied message shape (IAM User Guide, "Troubleshoot access denied
        error messages"); empty when allowed."""
        head = (
            f"User: {self.principal_arn} is not authorized to perform: {self.action} "
            f"on resource: {self.resource_arn}"
        )
        if self.reason is Reason.EXPLICIT_DENY_KEY_POLICY:
            return f"{head} with an explicit deny in a resource-based policy"
        if self.reason is Reason.EXPLICIT_DENY_IDENTITY:
            return f"{head} with an explicit deny in an identity-based policy"
        if self.reason is Reason.NO_KEY_POLICY_ALLOW:
            return f"{head} because no resource-based policy allows the {self.action} action"
        if self.reason is Reason.NO_IDENTITY_ALLOW:
            return f"{head} because no identity-based policy allows the {self.action} action"
        return ""


def _decide(
    ctx: RequestContext, reason: Reason, allowed: bool, sids: tuple[str, ...] = ()
) -> AuthorizationDecision:
    return AuthorizationDecision(
        allowed, reason, ctx.principal_arn, ctx.action, ctx.resource_arn, sids
    )


def authorize(
    key_policy: Policy,
    identity_policies: Sequence[Policy],
    ctx: RequestContext,
    grants: Sequence[GrantRecord] = (),
) -> AuthorizationDecision:
    """KMS's decision for ``ctx`` on a key (see the module docstring for the rule)."""
    if key_policy.kind is PolicyKind.IDENTITY:
        raise ValueError("key_policy must be a resource policy (PolicyKind.KEY or TRUST)")

    key = evaluate_policy(key_policy, ctx)
    if key.decision is Decision.DENY:
        return _decide(ctx, Reason.EXPLICIT_DENY_KEY_POLICY, False, key.statements)
    identity_allows: tuple[str, ...] = ()
    for policy in identity_policies:
        result = evaluate_policy(policy, ctx)
        if result.decision is Decision.DENY:
            return _decide(ctx, Reason.EXPLICIT_DENY_IDENTITY, False, result.statements)
        if result.decision is Decision.ALLOW:
            identity_allows += result.statements
    # The account root has every permission of its account; no identity policy attaches.
    iam_ok = bool(identity_allows) or ctx.is_account_root
    key_direct = key.decision is Decision.ALLOW
    if not ctx.is_cross_account:
        if key_direct:
            return _decide(ctx, Reason.KEY_POLICY, True, key.statements)
        if key.delegated and iam_ok:
            return _decide(ctx, Reason.IAM_DELEGATION, True, key.delegated + identity_allows)
    elif (key_direct or key.delegated) and iam_ok:
        reason = Reason.KEY_POLICY if key_direct else Reason.IAM_DELEGATION
        return _decide(ctx, reason, True, key.statements + key.delegated + identity_allows)
    for grant in grants:
        if grant.allows(ctx):
            return AuthorizationDecision(
                True,
                Reason.GRANT,
                ctx.principal_arn,
                ctx.action,
                ctx.resource_arn,
                (),
                grant.grant_id,
            )
    if key_direct or key.delegated:
        return _decide(ctx, Reason.NO_IDENTITY_ALLOW, False)
    return _decide(ctx, Reason.NO_KEY_POLICY_ALLOW, False)


def authorize_identity(
    identity_policies: Sequence[Policy], ctx: RequestContext
) -> AuthorizationDecision:
    """The decision for an action with no resource policy (CreateKey, ListKeys, IAM and STS
    actions): the account root may do anything in its own account; anyone else needs an
    identity policy that allows and none that denies."""
    allows: tuple[str, ...] = ()
    for policy in identity_policies:
        result = evaluate_policy(policy, ctx)
        if result.decision is Decision.DENY:
            return _decide(ctx, Reason.EXPLICIT_DENY_IDENTITY, False, result.statements)
        if result.decision is Decision.ALLOW:
            allows += result.statements
    if ctx.is_account_root and not ctx.is_cross_account:
        return _decide(ctx, Reason.ACCOUNT_ROOT, True)
    if allows and not ctx.is_cross_account:
        return _decide(ctx, Reason.IDENTITY_POLICY, True, allows)
    return _decide(ctx, Reason.NO_IDENTITY_ALLOW, False)


def condition_keys(policy: Policy) -> frozenset[str]:
    """The normalised condition keys a policy's conditions test."""
    return frozenset(c.key for st in policy.statements for c in st.conditions)
