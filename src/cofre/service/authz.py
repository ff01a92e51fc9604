"""The authorization step of the request pipeline.

Every KMS operation asks ``Authorizer.authorize`` once it knows the key. The policy engine
(key policies, IAM policies, grants) replaces ``AccountRootAuthorizer`` as one component.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from cofre.core.keys import Key, KeyManager
from cofre.core.principals import Caller
from cofre.errors import AccessDeniedError


@dataclass(frozen=True, slots=True)
class Request:
    """What is being asked: the action, and the facts conditions may test."""

    action: str  # "kms:Encrypt"
    encryption_context: dict[str, str] = field(default_factory=dict)


class Authorizer(Protocol):
    def authorize(self, caller: Caller, request: Request, key: Key | None) -> None:
        """Return when allowed; raise AccessDeniedError otherwise."""
        ...


# What an account may do directly with an AWS managed key (its key policy's second
# statement); the cryptographic operations need the service to call on the user's behalf.
_AWS_MANAGED_DIRECT = ("kms:Describe", "kms:Get", "kms:List", "kms:RevokeGrant")
_AWS_MANAGED_VIA_SERVICE = frozenset(
    {
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:ReEncryptFrom",
        "kms:ReEncryptTo",
        "kms:GenerateDataKey",
        "kms:GenerateDataKeyWithoutPlaintext",
        "kms:CreateGrant",
        "kms:DescribeKey",
    }
)


def denied(caller: Caller, action: str, resource: str) -> AccessDeniedError:
    return AccessDeniedError(
        f"User: {caller.principal_arn} is not authorized to perform: {action} on resource:"
        f" {resource} because no resource-based policy allows the {action} action"
    )


class AccountRootAuthorizer:
    """Each account's root may manage and use its own customer keys; nothing crosses accounts."""

    def authorize(self, caller: Caller, request: Request, key: Key | None) -> None:
        if key is None:
            if caller.is_account_root:
                return
            raise denied(caller, request.action, "*")
        if key.account_id != caller.account_id or not caller.is_account_root:
            raise denied(caller, request.action, key.arn)
        if key.key_manager is KeyManager.AWS:
            if request.action.startswith(_AWS_MANAGED_DIRECT):
                return
            if caller.via_service is not None and request.action in _AWS_MANAGED_VIA_SERVICE:
                return
            raise denied(caller, request.action, key.arn)
