"""Parsed policy documents: immutable, compiled once, evaluated many times."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, StrEnum

from cofre.core.policy._template import Matcher, Template
from cofre.core.policy.conditions import Condition


class PolicyKind(StrEnum):
    """A key policy (resource-based: names principals), an IAM identity policy, or a role's
    trust policy (names principals, has no Resource element)."""

    KEY = "key"
    IDENTITY = "identity"
    TRUST = "trust"


class Effect(StrEnum):
    ALLOW = "Allow"
    DENY = "Deny"


class PrincipalMatch(Enum):
    """How a statement's principal element covers the caller."""

    NONE = 0
    ACCOUNT = 1  # only through the caller's account (``arn:aws:iam::<acct>:root`` or id)
    DIRECT = 2  # by ARN, as the account root itself, or through "*"


@dataclass(frozen=True, slots=True)
class PrincipalSet:
    """The principals named by Principal / NotPrincipal, indexed for matching."""

    wildcard: bool
    arns: frozenset[str]
    accounts: frozenset[str]
    services: frozenset[str]
    others: tuple[str, ...]  # Federated / CanonicalUser entries: kept, never matched

    def match(
        self, principal_arn: str, principal_account: str, role_arn: str | None, is_root: bool
    ) -> PrincipalMatch:
        if self.wildcard or principal_arn in self.arns or principal_arn in self.services:
            return PrincipalMatch.DIRECT
        if role_arn is not None and role_arn in self.arns:
            return PrincipalMatch.DIRECT
        if principal_account in self.accounts:
            return PrincipalMatch.DIRECT if is_root else PrincipalMatch.ACCOUNT
        return PrincipalMatch.NONE

    def exempts(
        self, principal_arn: str, principal_account: str, role_arn: str | None, is_root: bool
    ) -> bool:
        """NotPrincipal: AWS checks the account, then the principal, so both must be named
        (IAM User Guide, NotPrincipal key points)."""
        if self.wildcard or principal_arn in self.services:
            return True
        if principal_account not in self.accounts:
            return False
        if is_root:
            return True
        return principal_arn in self.arns or (role_arn is not None and role_arn in self.arns)


@dataclass(frozen=True, slots=True)
class Statement:
    index: int
    sid: str | None
    effect: Effect
    principal: PrincipalSet | None
    not_principal: PrincipalSet | None
    actions: tuple[Template, ...]
    not_action: bool
    resources: tuple[Template, ...]
    not_resource: bool
    conditions: tuple[Condition, ...]
    action_matcher: Matcher
    resource_matcher: Matcher

    @property
    def label(self) -> str:
        """The Sid, or the statement's position when it has none."""
        return self.sid if self.sid is not None else f"Statement[{self.index}]"


@dataclass(frozen=True, slots=True)
class Policy:
    kind: PolicyKind
    version: str
    id: str | None
    statements: tuple[Statement, ...]
