"""KMS grants: who may use a key for which operations, under which context constraints."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from cofre.core.policy import GrantRecord

# The operations a grant can allow (KMS API Reference, CreateGrant: Operations).
GRANT_OPERATIONS = frozenset(
    {
        "Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
        "ReEncryptFrom", "ReEncryptTo", "Sign", "Verify", "GetPublicKey", "CreateGrant",
        "RetireGrant", "DescribeKey", "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext", "GenerateMac", "VerifyMac",
        "DeriveSharedSecret",
    }
)  # fmt: skip
# Operations that take an encryption context; grant constraints only work with these.
CONTEXT_OPERATIONS = frozenset(
    {
        "Decrypt", "Encrypt", "GenerateDataKey", "GenerateDataKeyWithoutPlaintext",
        "ReEncryptFrom", "ReEncryptTo", "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext", "CreateGrant", "RetireGrant",
    }
)  # fmt: skip
MAX_GRANTS_PER_KEY = 50_000


@dataclass(frozen=True, slots=True)
class GrantConstraints:
    encryption_context_subset: Mapping[str, str] | None = None
    encryption_context_equals: Mapping[str, str] | None = None


@dataclass(frozen=True, slots=True)
class Grant:
    grant_id: str
    key_row_id: str  # the key's ``Key.row_id``
    key_arn: str
    account_id: str  # the key's account
    name: str | None
    grantee_principal: str
    retiring_principal: str | None
    issuing_account: str  # arn:aws:iam::<acct>:root of the caller that created it
    operations: tuple[str, ...]
    constraints: GrantConstraints = field(default_factory=GrantConstraints)
    created_at: datetime | None = None

    def record(self) -> GrantRecord:
        """The view the policy engine evaluates."""
        return GrantRecord(
            grant_id=self.grant_id,
            grantee_principal=self.grantee_principal,
            operations=frozenset(self.operations),
            encryption_context_subset=self.constraints.encryption_context_subset,
            encryption_context_equals=self.constraints.encryption_context_equals,
        )

    def same_request(self, other: Grant) -> bool:
        """CreateGrant with a Name is idempotent when everything else matches too."""
        return (
            self.grantee_principal == other.grantee_principal
            and self.retiring_principal == other.retiring_principal
            and sorted(self.operations) == sorted(other.operations)
            and _constraints_equal(self.constraints, other.constraints)
        )


def _constraints_equal(a: GrantConstraints, b: GrantConstraints) -> bool:
    def norm(m: Mapping[str, str] | None) -> dict[str, str] | None:
        return None if m is None else dict(m)

    return norm(a.encryption_context_subset) == norm(b.encryption_context_subset) and norm(
        a.encryption_context_equals
    ) == norm(b.encryption_context_equals)
