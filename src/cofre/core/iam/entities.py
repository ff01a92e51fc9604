"""IAM entities of an account: users, roles, managed and inline policies.

Names and paths are validated by the service model at the API boundary; this module holds
the shapes, the ARNs AWS gives them, and the limits the model cannot express.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

# Quotas (IAM User Guide, "IAM and AWS STS quotas").
MAX_ACCESS_KEYS_PER_USER = 2
MAX_POLICY_VERSIONS = 5
MAX_MANAGED_POLICIES_PER_PRINCIPAL = 10
MAX_INLINE_POLICY_BYTES_USER = 2048
MAX_INLINE_POLICY_BYTES_ROLE = 10240
MAX_MANAGED_POLICY_BYTES = 6144
DEFAULT_MAX_SESSION_SECONDS = 3600
MIN_SESSION_SECONDS = 900
MAX_SESSION_SECONDS = 43200

# The unique-id prefixes AWS uses (IAM User Guide, "Unique identifiers").
USER_ID_PREFIX = "AIDA"
ROLE_ID_PREFIX = "AROA"
POLICY_ID_PREFIX = "ANPA"
ACCESS_KEY_PREFIX = "AKIA"
SESSION_KEY_PREFIX = "ASIA"


class OwnerKind(StrEnum):
    """What an identity policy is attached to."""

    USER = "user"
    ROLE = "role"


def user_arn(account_id: str, path: str, name: str) -> str:
    return f"arn:aws:iam::{account_id}:user{path}{name}"


def role_arn(account_id: str, path: str, name: str) -> str:
    return f"arn:aws:iam::{account_id}:role{path}{name}"


def policy_arn(account_id: str, path: str, name: str) -> str:
    return f"arn:aws:iam::{account_id}:policy{path}{name}"


def assumed_role_arn(account_id: str, role_name: str, session_name: str) -> str:
    return f"arn:aws:sts::{account_id}:assumed-role/{role_name}/{session_name}"


@dataclass(frozen=True, slots=True)
class User:
    account_id: str
    name: str
    user_id: str
    path: str
    created_at: datetime

    @property
    def arn(self) -> str:
        return user_arn(self.account_id, self.path, self.name)


@dataclass(frozen=True, slots=True)
class Role:
    account_id: str
    name: str
    role_id: str
    path: str
    trust_policy: str
    description: str
    max_session_duration: int
    created_at: datetime

    @property
    def arn(self) -> str:
        return role_arn(self.account_id, self.path, self.name)


@dataclass(frozen=True, slots=True)
class ManagedPolicy:
    account_id: str
    name: str
    policy_id: str
    path: str
    description: str
    default_version_id: str  # "v1", "v2", ...
    next_version: int  # the number the next CreatePolicyVersion takes
    created_at: datetime
    updated_at: datetime

    @property
    def arn(self) -> str:
        return policy_arn(self.account_id, self.path, self.name)


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    account_id: str
    policy_name: str
    version_id: str
    document: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class InlinePolicy:
    account_id: str
    owner_kind: OwnerKind
    owner_name: str
    name: str
    document: str
