"""KMS grants: create, list, retire, revoke; and the grant tokens that name them.

A grant token is the grant id sealed under the root key (AES-GCM, random IV, bound to its
purpose), so every token is unique, cannot be forged, and lets a node honour a grant it
has not seen through its cache yet: the token's grant is read fresh from the database.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence

from cofre.core.crypto import Aead, Random, unwrap, wrap
from cofre.core.iam.principals import Caller
from cofre.core.ids import key_id_of_row, root_arn
from cofre.core.kms.grants import (
    CONTEXT_OPERATIONS,
    MAX_GRANTS_PER_KEY,
    Grant,
    GrantConstraints,
)
from cofre.core.kms.keys import Key, StateRule
from cofre.core.policy import Reason
from cofre.errors import (
    AccessDeniedError,
    DryRunError,
    InvalidCiphertextError,
    InvalidGrantIdError,
    InvalidGrantTokenError,
    LimitExceededError,
    NotFoundError,
    ValidationError,
)
from cofre.service.authz.authorizer import Request, via_service_value
from cofre.service.kms.resolver import KeyResolver
from cofre.service.pagination import Page, decode_marker, first_page

_TOKEN_AAD = b"cofre grant token v1"
_GRANT_ID_RE = re.compile(r"[0-9a-f]{64}")
_PRINCIPAL_RE = re.compile(
    r"arn:aws:iam::[0-9]{12}:(root|user/[\w+=,.@/-]+|role/[\w+=,.@/-]+)"
    r"|arn:aws:sts::[0-9]{12}:assumed-role/[\w+=,.@-]+/[\w+=,.@-]+"
    r"|[a-z0-9.-]+\.amazonaws\.com"
)


class GrantTokens:
    def __init__(self, root: Aead, random: Random) -> None:
        self._root = root
        self._random = random

    def issue(self, grant_id: str) -> str:
        sealed = wrap(self._root, bytes.fromhex(grant_id), _TOKEN_AAD, self._random)
        return base64.urlsafe_b64encode(sealed).decode().rstrip("=")

    def grant_id(self, token: str) -> str | None:
        """The grant a token names; None for anything Cofre did not issue."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            return unwrap(self._root, raw, _TOKEN_AAD).hex()
        except (ValueError, binascii.Error, InvalidCiphertextError):
            return None


def _check_principal(name: str, value: str) -> None:
    if _PRINCIPAL_RE.fullmatch(value) is None:
        raise ValidationError(f"{name} {value[:256]!r} is not a valid principal.")


def _check_grant_id(grant_id: str) -> None:
    if _GRANT_ID_RE.fullmatch(grant_id) is None:
        raise InvalidGrantIdError(f"Invalid grant ID {grant_id[:128]!r}")


class GrantService:
    def __init__(self, resolver: KeyResolver, tokens: GrantTokens) -> None:
        self._r = resolver
        self.tokens = tokens

    def _check_tokens(self, tokens: Sequence[str]) -> tuple[str, ...]:
        for token in tokens:
            if self.tokens.grant_id(token) is None:
                raise InvalidGrantTokenError("Invalid grant token.")
        return tuple(tokens)

    def create_grant(
        self,
        caller: Caller,
        key_id: str,
        grantee: str,
        operations: Sequence[str],
        *,
        retiring: str | None = None,
        constraints: GrantConstraints | None = None,
        name: str | None = None,
        grant_tokens: Sequence[str] = (),
        dry_run: bool = False,
    ) -> tuple[str, str]:
        """(grant id, grant token) of a new grant, or of the same-named identical one."""
        _check_principal("GranteePrincipal", grantee)
        if retiring is not None:
            _check_principal("RetiringPrincipal", retiring)
        constraints = constraints or GrantConstraints()
        if (
            constraints.encryption_context_equals is not None
            and constraints.encryption_context_subset is not None
        ):
            raise ValidationError(
                "Specify either EncryptionContextEquals or EncryptionContextSubset, not both."
            )
        if constraints != GrantConstraints() and not set(operations) <= CONTEXT_OPERATIONS:
            unsupported = sorted(set(operations) - CONTEXT_OPERATIONS)
            raise ValidationError(
                "Grant constraints are not supported for the operation(s)"
                f" {', '.join(unsupported)}."
            )
        request = Request(
            "kms:CreateGrant",
            grant_tokens=self._check_tokens(grant_tokens),
            condition_keys={
                "kms:GrantOperations": tuple(operations),
                "kms:GranteePrincipal": grantee,
                **({"kms:RetiringPrincipal": retiring} if retiring else {}),
                "kms:GrantIsForAWSResource": via_service_value(caller) is not None,
                **_constraint_keys(constraints),
            },
        )
        self._r.ensure_alias(caller, key_id)
        with self._r.storage.write() as tx:
            key = self._r.locked(tx, caller, key_id, request, StateRule.MANAGE, allow_alias=True)
            self._check_delegation(caller, key, request, operations)
            if dry_run:
                raise DryRunError()
            wanted = Grant(
                grant_id=self._r.random(32).hex(),
                key_row_id=key.row_id,
                key_arn=key.arn,
                account_id=key.account_id,
                name=name,
                grantee_principal=grantee,
                retiring_principal=retiring,
                issuing_account=root_arn(caller.account_id),
                operations=tuple(sorted(set(operations))),
                constraints=constraints,
                created_at=self._r.clock.now(),
            )
            existing = tx.find_grant_by_name(key.row_id, name) if name else None
            if existing is not None and existing.same_request(wanted):
                return existing.grant_id, self.tokens.issue(existing.grant_id)
            if tx.count_grants(key.row_id) >= MAX_GRANTS_PER_KEY:
                raise LimitExceededError(f"The grants limit has been reached for {key.arn}.")
            tx.insert_grant(wanted)
        self._r.cache.invalidate("grant", key.row_id)
        return wanted.grant_id, self.tokens.issue(wanted.grant_id)

    def _check_delegation(
        self, caller: Caller, key: Key, request: Request, operations: Sequence[str]
    ) -> None:
        """A grantee creating a grant through its own grant may pass on no more than it has."""
        decision = self._r.authorizer.authorize(caller, request, key)
        if decision.reason is not Reason.GRANT or decision.grant_id is None:
            return
        with self._r.storage.read() as tx:
            parent = tx.get_grant(decision.grant_id)
        if parent is None or not set(operations) <= set(parent.operations):
            raise AccessDeniedError(
                f"User: {caller.principal_arn} is not authorized to perform: kms:CreateGrant"
                f" on resource: {key.arn} because the grant it uses does not allow every"
                " requested operation"
            )

    def list_grants(
        self,
        caller: Caller,
        key_id: str,
        limit: int | None,
        marker: str | None,
        grant_id: str | None = None,
        grantee: str | None = None,
    ) -> Page[Grant]:
        if grant_id is not None:
            _check_grant_id(grant_id)
        size = limit or 50
        with self._r.storage.read() as tx:
            key = self._r.read(tx, caller, key_id, Request("kms:ListGrants"), allow_alias=False)
            grants = tx.list_grants(key.row_id, decode_marker(marker), 100_000)
        selected = [
            g
            for g in grants
            if (grant_id is None or g.grant_id == grant_id)
            and (grantee is None or g.grantee_principal == grantee)
        ]
        return first_page(selected, size, lambda g: g.grant_id)

    def list_retirable_grants(
        self, caller: Caller, retiring: str, limit: int | None, marker: str | None
    ) -> Page[Grant]:
        self._r.authorizer.authorize(caller, Request("kms:ListRetirableGrants"), None)
        size = limit or 50
        with self._r.storage.read() as tx:
            grants = tx.list_retirable_grants(retiring, decode_marker(marker), size + 1)
        return first_page(grants, size, lambda g: g.grant_id)

    def retire_grant(
        self,
        caller: Caller,
        token: str | None,
        key_id: str | None,
        grant_id: str | None,
        dry_run: bool = False,
    ) -> None:
        if token is not None:
            named = self.tokens.grant_id(token)
            if named is None:
                raise InvalidGrantTokenError("Invalid grant token.")
            grant_id = named
        elif grant_id is None or key_id is None:
            raise ValidationError("Specify a GrantToken, or both KeyId and GrantId.")
        _check_grant_id(grant_id)
        with self._r.storage.write() as tx:
            grant = tx.get_grant(grant_id)
            if grant is None or (key_id is not None and not _names_key(key_id, grant)):
                raise NotFoundError(f"Grant ID {grant_id} not found")
            may_retire = (
                caller.principal_arn == grant.retiring_principal
                or (
                    caller.principal_arn == grant.grantee_principal
                    and "RetireGrant" in grant.operations
                )
                or (caller.is_account_root and caller.account_id == grant.account_id)
            )
            if not may_retire:
                raise AccessDeniedError(
                    f"User: {caller.principal_arn} is not authorized to perform:"
                    f" kms:RetireGrant on resource: {grant.key_arn}"
                )
            if dry_run:
                raise DryRunError()
            tx.delete_grant(grant_id)
        self._r.cache.invalidate("grant", grant.key_row_id)

    def revoke_grant(
        self, caller: Caller, key_id: str, grant_id: str, dry_run: bool = False
    ) -> None:
        _check_grant_id(grant_id)
        with self._r.storage.write() as tx:
            key = self._r.locked(tx, caller, key_id, Request("kms:RevokeGrant"), StateRule.ANY)
            grant = tx.get_grant(grant_id)
            if grant is None or grant.key_row_id != key.row_id:
                raise NotFoundError(f"Grant ID {grant_id} not found")
            if dry_run:
                raise DryRunError()
            tx.delete_grant(grant_id)
        self._r.cache.invalidate("grant", key.row_id)


def _names_key(key_id: str, grant: Grant) -> bool:
    return key_id in (key_id_of_row(grant.key_row_id), grant.key_arn)


def _constraint_keys(constraints: GrantConstraints) -> Mapping[str, tuple[str, ...]]:
    """kms:GrantConstraintType, as CreateGrant requests carry it."""
    kinds = []
    if constraints.encryption_context_equals is not None:
        kinds.append("EncryptionContextEquals")
    if constraints.encryption_context_subset is not None:
        kinds.append("EncryptionContextSubset")
    return {"kms:GrantConstraintType": tuple(kinds)} if kinds else {}
