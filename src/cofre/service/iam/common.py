"""What the IAM and STS use cases share: unique ids, access keys, the authorization call."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime

from cofre.core.crypto import Aead, Random, credential_aad, wrap
from cofre.core.iam.principals import Caller, Credential, CredentialStatus
from cofre.core.policy import AuthorizationDecision
from cofre.service.authz.authorizer import Authorizer, Request


def unique_id(prefix: str, random: Random, length: int = 21) -> str:
    """An id in AWS's shape: a four-letter prefix, then upper-case base32 characters."""
    body = base64.b32encode(random(16)).decode().rstrip("=")
    return (prefix + body)[:length]


@dataclass(frozen=True, slots=True)
class NewSecret:
    """A credential as stored, and its secret, which is shown once and never again."""

    credential: Credential
    secret_access_key: str


def new_credential(
    root: Aead,
    random: Random,
    now: datetime,
    *,
    access_key_id: str,
    secret_access_key: str,
    account_id: str,
    principal_arn: str,
    principal_id: str,
    user_name: str | None = None,
    expires_at: datetime | None = None,
    session_token_hash: bytes | None = None,
    role_arn: str | None = None,
) -> Credential:
    return Credential(
        access_key_id=access_key_id,
        account_id=account_id,
        principal_arn=principal_arn,
        user_name=user_name,
        secret_wrapped=wrap(
            root, secret_access_key.encode(), credential_aad(access_key_id), random
        ),
        status=CredentialStatus.ACTIVE,
        created_at=now,
        principal_id=principal_id,
        expires_at=expires_at,
        session_token_hash=session_token_hash,
        role_arn=role_arn,
    )


def secret_key(random: Random) -> str:
    """A 40-character secret access key (base64 alphabet, as AWS's)."""
    return base64.b64encode(random(30)).decode()


def check(
    authorizer: Authorizer, caller: Caller, action: str, resource: str = "*"
) -> AuthorizationDecision:
    """Identity-policy authorization of an IAM, STS or admin action."""
    return authorizer.authorize(caller, Request(action, resource=resource), None)
