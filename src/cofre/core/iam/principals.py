"""Accounts, credentials and the caller of a request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


@dataclass(frozen=True, slots=True)
class Account:
    account_id: str
    name: str
    created_at: datetime


class CredentialStatus(StrEnum):
    ACTIVE = "Active"
    INACTIVE = "Inactive"


@dataclass(frozen=True, slots=True)
class Credential:
    """An access key. The secret is stored only wrapped under the root key."""

    access_key_id: str
    account_id: str
    principal_arn: str
    user_name: str | None
    secret_wrapped: bytes
    status: CredentialStatus
    created_at: datetime
    principal_id: str = ""  # aws:userid: the account id, AIDA..., or AROA...:<session>
    expires_at: datetime | None = None  # temporary (STS) credentials only
    session_token_hash: bytes | None = None  # SHA-256 of the session token, never the token
    role_arn: str | None = None  # the role behind an assumed-role session

    @property
    def is_temporary(self) -> bool:
        return self.session_token_hash is not None


@dataclass(frozen=True, slots=True)
class Caller:
    """Who makes a request, and from where; built by the API layer after authentication."""

    account_id: str
    principal_arn: str
    access_key_id: str
    region: str
    source_ip: str = ""
    user_agent: str = ""
    secure_transport: bool = False
    via_service: str | None = None  # set when a Cofre service (e.g. SSM) calls KMS for a user
    user_name: str | None = None  # IAM users
    principal_id: str = ""  # aws:userid
    role_arn: str | None = None  # assumed-role sessions

    @property
    def identity_type(self) -> str:
        """CloudTrail's userIdentity.type."""
        if self.role_arn is not None:
            return "AssumedRole"
        return "Root" if self.is_account_root else "IAMUser"

    @property
    def is_account_root(self) -> bool:
        return self.principal_arn == f"arn:aws:iam::{self.account_id}:root"
