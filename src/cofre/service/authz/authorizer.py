"""The authorization step: every operation asks ``Authorizer.authorize`` once it knows the
resource.

``PolicyAuthorizer`` evaluates the key policy, the caller's identity policies and the
key's grants with the policy engine (``cofre.core.policy``, rule in ADR 0007). Decisions
are cached: the cache key holds every fact a decision can depend on except time, and
decisions of policies that test the time are not cached. Any change reported by the
change feed (keys, aliases, IAM, grants, credentials) empties the cache, so a policy
change is honoured everywhere within the feed's poll interval.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from cofre.core.iam.principals import Caller
from cofre.core.kms.grants import Grant
from cofre.core.kms.keys import Key
from cofre.core.policy import (
    AuthorizationDecision,
    ContextValue,
    GrantRecord,
    Policy,
    PolicyKind,
    RequestContext,
    authorize,
    authorize_identity,
    condition_keys,
)
from cofre.errors import AccessDeniedError, InvalidGrantTokenError
from cofre.service.audit.scope import note_resource
from cofre.service.authz.policy_store import Lru, PolicyStore
from cofre.service.ports import Clock

_NO_KEYS: Mapping[str, ContextValue] = {}
_TIME_KEYS = frozenset({"aws:currenttime", "aws:epochtime"})


@dataclass(frozen=True, slots=True)
class Request:
    """What is being asked: the action, and the facts conditions may test."""

    action: str  # "kms:Encrypt"
    encryption_context: Mapping[str, str] | None = None
    resource: str = "*"  # the resource ARN when it is not a key (IAM entities, ...)
    grant_tokens: tuple[str, ...] = ()
    condition_keys: Mapping[str, ContextValue] = field(default_factory=lambda: _NO_KEYS)


class Authorizer(Protocol):
    def authorize(self, caller: Caller, request: Request, key: Key | None) -> AuthorizationDecision:
        """Return the (allowing) decision; raise AccessDeniedError otherwise."""
        ...

    def allows(self, caller: Caller, request: Request, key: Key) -> bool:
        """Whether ``key`` as given (e.g. with a new policy) would allow the request;
        computed afresh, never cached."""
        ...


def denied(caller: Caller, action: str, resource: str) -> AccessDeniedError:
    return AccessDeniedError(
        f"User: {caller.principal_arn} is not authorized to perform: {action} on resource:"
        f" {resource} because no resource-based policy allows the {action} action"
    )


def via_service_value(caller: Caller) -> str | None:
    if caller.via_service is None:
        return None
    return f"{caller.via_service}.{caller.region}.amazonaws.com"


class PolicyAuthorizer:
    def __init__(
        self,
        policies: PolicyStore,
        clock: Clock,
        grant_id_of_token: Callable[[str], str | None],
        aliases_of: Callable[[Key], list[str]],
        max_decisions: int = 100_000,
    ) -> None:
        self._policies = policies
        self._clock = clock
        self._grant_id_of_token = grant_id_of_token
        self._aliases_of = aliases_of
        self._decisions: Lru[tuple[Any, ...], AuthorizationDecision] = Lru(max_decisions)
        self._decisions_generation = policies.generation

    def authorize(self, caller: Caller, request: Request, key: Key | None) -> AuthorizationDecision:
        generation = self._policies.generation
        if generation != self._decisions_generation:
            self._decisions.clear()
            self._decisions_generation = generation
        note_resource(request.resource if key is None else key.arn)
        cache_key = self._cache_key(caller, request, key)
        decision = self._decisions.get(cache_key)
        if decision is None:
            decision, cacheable = self._decide(caller, request, key)
            if cacheable and self._policies.cacheable(generation):
                self._decisions.put(cache_key, decision)
        if not decision.allowed:
            raise AccessDeniedError(decision.message)
        return decision

    def allows(self, caller: Caller, request: Request, key: Key) -> bool:
        return self._decide(caller, request, key)[0].allowed

    def authorize_with_policy(
        self,
        caller: Caller,
        request: Request,
        resource_policy: str,
        resource_account: str,
    ) -> AuthorizationDecision:
        """Like ``authorize`` for a resource other than a key that has its own resource
        policy (a role's trust policy): the same rule, not cached."""
        note_resource(request.resource)
        policy = self._policies.parsed(resource_policy, PolicyKind.TRUST)
        identity = self._policies.identity_policies(caller)
        ctx = self._context(caller, request, None, request.resource, resource_account, ())
        decision = authorize(policy, identity, ctx)
        if not decision.allowed:
            raise AccessDeniedError(decision.message)
        return decision

    @staticmethod
    def _cache_key(caller: Caller, request: Request, key: Key | None) -> tuple[Any, ...]:
        context = request.encryption_context
        return (
            caller.principal_arn,
            caller.via_service,
            caller.source_ip,
            caller.secure_transport,
            request.action,
            request.resource if key is None else key.arn,
            None if key is None else (key.revision, key.state),
            None if not context else tuple(sorted(context.items())),
            request.grant_tokens,
            tuple(sorted(request.condition_keys.items(), key=lambda kv: kv[0]))
            if request.condition_keys
            else None,
        )

    # deciding --------------------------------------------------------------------------
    def _decide(
        self, caller: Caller, request: Request, key: Key | None
    ) -> tuple[AuthorizationDecision, bool]:
        identity = self._policies.identity_policies(caller)
        if key is None:
            ctx = self._context(caller, request, None, request.resource, caller.account_id, ())
            return authorize_identity(identity, ctx), _cacheable(identity)
        key_policy = self._policies.parsed(key.policy, PolicyKind.KEY)
        tested = _tested_keys((key_policy, *identity))
        aliases = self._aliases_of(key) if "kms:resourcealiases" in tested else ()
        ctx = self._context(caller, request, key, key.arn, key.account_id, aliases)
        grants = self._grants(key, request.grant_tokens)
        return authorize(key_policy, identity, ctx, grants), not (tested & _TIME_KEYS)

    def _grants(self, key: Key, tokens: Iterable[str]) -> tuple[GrantRecord, ...]:
        grants = self._policies.grants(key.row_id)
        for token in tokens:
            grant_id = self._grant_id_of_token(token)
            if grant_id is None:
                raise InvalidGrantTokenError("Invalid grant token.")
            if any(g.grant_id == grant_id for g in grants):
                continue
            # A token names a grant this node may not have seen yet: read it fresh.
            fresh: Grant | None = self._policies.fresh_grant(grant_id)
            if fresh is not None and fresh.key_row_id == key.row_id:
                grants = (*grants, fresh.record())
        return grants

    def _context(
        self,
        caller: Caller,
        request: Request,
        key: Key | None,
        resource: str,
        resource_account: str,
        aliases: Iterable[str],
    ) -> RequestContext:
        keys: dict[str, ContextValue] = dict(request.condition_keys)
        via = via_service_value(caller)
        if via is not None:
            keys["kms:ViaService"] = via
        if key is not None:
            keys["kms:KeySpec"] = key.key_spec
            keys["kms:KeyUsage"] = key.key_usage
            keys["kms:KeyOrigin"] = key.origin.value
            keys["kms:ResourceAliases"] = tuple(aliases)
            keys["kms:MultiRegion"] = key.multi_region
            if key.multi_region:
                keys["kms:MultiRegionKeyType"] = "PRIMARY" if key.is_primary else "REPLICA"
        return RequestContext(
            principal_arn=caller.principal_arn,
            principal_account=caller.account_id,
            action=request.action,
            resource_arn=resource,
            resource_account=resource_account,
            current_time=self._clock.now(),
            source_ip=caller.source_ip or None,
            secure_transport=caller.secure_transport,
            username=caller.user_name,
            userid=caller.principal_id or None,
            role_arn=caller.role_arn,
            encryption_context=request.encryption_context or None,
            condition_keys=keys,
        )


def _tested_keys(policies: Iterable[Policy]) -> frozenset[str]:
    tested: frozenset[str] = frozenset()
    for policy in policies:
        tested |= condition_keys(policy)
    return tested


def _cacheable(policies: Iterable[Policy]) -> bool:
    return not (_tested_keys(policies) & _TIME_KEYS)
