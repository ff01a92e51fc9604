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

    @property
    def is_account_root(self) -> bool:
        return self.principal_arn == f"arn:aws:iam::{self.account_id}:root"
