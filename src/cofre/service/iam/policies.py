"""Identity policies: inline policies of users and roles, managed policies and their
versions, and attaching managed policies to users and roles."""

from __future__ import annotations

from dataclasses import replace

from cofre.core.crypto import Random
from cofre.core.iam.entities import (
    MAX_INLINE_POLICY_BYTES_ROLE,
    MAX_INLINE_POLICY_BYTES_USER,
    MAX_MANAGED_POLICIES_PER_PRINCIPAL,
    MAX_POLICY_VERSIONS,
    POLICY_ID_PREFIX,
    InlinePolicy,
    ManagedPolicy,
    OwnerKind,
    PolicyVersion,
    policy_arn,
)
from cofre.core.iam.principals import Caller
from cofre.core.policy import PolicyKind, parse_policy
from cofre.errors import DeleteConflictError, LimitExceededError, NotFoundError
from cofre.service.authz.authorizer import Authorizer
from cofre.service.cache.keycache import KeyCache
from cofre.service.iam.common import check, unique_id
from cofre.service.pagination import Page, decode_marker, first_page
from cofre.service.ports import Clock, ReadTx, Storage

_WORD = {OwnerKind.USER: "User", OwnerKind.ROLE: "Role"}
_INLINE_LIMIT = {
    OwnerKind.USER: MAX_INLINE_POLICY_BYTES_USER,
    OwnerKind.ROLE: MAX_INLINE_POLICY_BYTES_ROLE,
}


def owner_arn(tx: ReadTx, account_id: str, kind: OwnerKind, name: str) -> str | None:
    """The ARN of a user or role; None when it does not exist."""
    if kind is OwnerKind.USER:
        user = tx.get_user(account_id, name)
        return None if user is None else user.arn
    role = tx.get_role(account_id, name)
    return None if role is None else role.arn


def _policy_name(caller: Caller, arn: str) -> str:
    """The name of a managed policy of the caller's account named by ``arn``."""
    parts = arn.split(":", 5)
    if (
        len(parts) == 6
        and parts[2] == "iam"
        and parts[4] == caller.account_id
        and parts[5].startswith("policy/")
    ):
        return parts[5].rsplit("/", 1)[-1]
    raise NotFoundError(f"Policy {arn} does not exist or is not attachable.")


def _compact_length(document: str) -> int:
    return sum(1 for ch in document if not ch.isspace())


class IamPolicies:
    def __init__(
        self,
        storage: Storage,
        cache: KeyCache,
        authorizer: Authorizer,
        clock: Clock,
        random: Random,
    ) -> None:
        self._storage = storage
        self._cache = cache
        self._authorizer = authorizer
        self._clock = clock
        self._random = random

    def _changed(self, caller: Caller) -> None:
        self._cache.invalidate("iam", caller.account_id)

    # inline policies -------------------------------------------------------------------
    def put_inline(
        self, caller: Caller, kind: OwnerKind, owner: str, name: str, document: str
    ) -> None:
        parse_policy(document, PolicyKind.IDENTITY)
        with self._storage.write() as tx:
            self._owner(tx, caller, kind, owner, f"iam:Put{_WORD[kind]}Policy")
            others = [
                p for p in tx.list_inline_policies(caller.account_id, kind, owner) if p.name != name
            ]
            total = _compact_length(document) + sum(_compact_length(p.document) for p in others)
            if total > _INLINE_LIMIT[kind]:
                raise LimitExceededError(
                    f"Maximum policy size of {_INLINE_LIMIT[kind]} bytes exceeded for"
                    f" {_WORD[kind].lower()} {owner}"
                )
            tx.put_inline_policy(InlinePolicy(caller.account_id, kind, owner, name, document))
        self._changed(caller)

    def get_inline(self, caller: Caller, kind: OwnerKind, owner: str, name: str) -> InlinePolicy:
        with self._storage.read() as tx:
            self._owner(tx, caller, kind, owner, f"iam:Get{_WORD[kind]}Policy")
            policy = tx.get_inline_policy(caller.account_id, kind, owner, name)
        if policy is None:
            raise NotFoundError(
                f"The {_WORD[kind].lower()} policy with name {name} cannot be found."
            )
        return policy

    def list_inline(self, caller: Caller, kind: OwnerKind, owner: str) -> list[str]:
        with self._storage.read() as tx:
            self._owner(tx, caller, kind, owner, f"iam:List{_WORD[kind]}Policies")
            return [p.name for p in tx.list_inline_policies(caller.account_id, kind, owner)]

    def delete_inline(self, caller: Caller, kind: OwnerKind, owner: str, name: str) -> None:
        with self._storage.write() as tx:
            self._owner(tx, caller, kind, owner, f"iam:Delete{_WORD[kind]}Policy")
            if tx.get_inline_policy(caller.account_id, kind, owner, name) is None:
                raise NotFoundError(
                    f"The {_WORD[kind].lower()} policy with name {name} cannot be found."
                )
            tx.delete_inline_policy(caller.account_id, kind, owner, name)
        self._changed(caller)

    # managed policies ------------------------------------------------------------------
    def create_policy(
        self, caller: Caller, name: str, path: str | None, document: str, description: str
    ) -> ManagedPolicy:
        path = path or "/"
        check(self._authorizer, caller, "iam:CreatePolicy",
              policy_arn(caller.account_id, path, name))  # fmt: skip
        parse_policy(document, PolicyKind.IDENTITY)
        now = self._clock.now()
        policy = ManagedPolicy(
            account_id=caller.account_id,
            name=name,
            policy_id=unique_id(POLICY_ID_PREFIX, self._random),
            path=path,
            description=description,
            default_version_id="v1",
            next_version=2,
            created_at=now,
            updated_at=now,
        )
        with self._storage.write() as tx:
            tx.insert_managed_policy(
                policy, PolicyVersion(caller.account_id, name, "v1", document, now)
            )
        return policy

    def _existing(self, tx: ReadTx, caller: Caller, arn: str, action: str) -> ManagedPolicy:
        policy = tx.get_managed_policy(caller.account_id, _policy_name(caller, arn))
        check(self._authorizer, caller, action, arn)
        if policy is None or policy.arn != arn:
            raise NotFoundError(f"Policy {arn} was not found.")
        return policy

    def get_policy(self, caller: Caller, arn: str) -> tuple[ManagedPolicy, int]:
        """The policy and how many users and roles it is attached to."""
        with self._storage.read() as tx:
            policy = self._existing(tx, caller, arn, "iam:GetPolicy")
            return policy, tx.count_attachments(caller.account_id, policy.arn)

    def list_policies(
        self,
        caller: Caller,
        scope: str | None,
        only_attached: bool,
        path_prefix: str | None,
        marker: str | None,
        max_items: int | None,
    ) -> Page[tuple[ManagedPolicy, int]]:
        check(self._authorizer, caller, "iam:ListPolicies")
        if scope == "AWS":
            return Page([], None)  # Cofre has no AWS managed policies
        size = max_items or 100
        after = decode_marker(marker)
        found: list[tuple[ManagedPolicy, int]] = []
        with self._storage.read() as tx:
            while len(found) <= size:
                batch = tx.list_managed_policies(caller.account_id, path_prefix or "/", after, 100)
                for policy in batch:
                    count = tx.count_attachments(caller.account_id, policy.arn)
                    if count or not only_attached:
                        found.append((policy, count))
                if len(batch) < 100:
                    break
                after = batch[-1].name
        return first_page(found, size, lambda entry: entry[0].name)

    def delete_policy(self, caller: Caller, arn: str) -> None:
        with self._storage.write() as tx:
            policy = self._existing(tx, caller, arn, "iam:DeletePolicy")
            if tx.count_attachments(caller.account_id, policy.arn):
                raise DeleteConflictError("Cannot delete a policy attached to entities.")
            if len(tx.list_policy_versions(caller.account_id, policy.name)) > 1:
                raise DeleteConflictError(
                    "This policy has more than one version. Before you delete a policy, you"
                    " must delete the policy's versions. The default version is deleted with"
                    " the policy."
                )
            tx.delete_managed_policy(caller.account_id, policy.name)
        self._changed(caller)

    # versions --------------------------------------------------------------------------
    def create_version(
        self, caller: Caller, arn: str, document: str, set_as_default: bool
    ) -> PolicyVersion:
        parse_policy(document, PolicyKind.IDENTITY)
        with self._storage.write() as tx:
            policy = self._existing(tx, caller, arn, "iam:CreatePolicyVersion")
            if len(tx.list_policy_versions(caller.account_id, policy.name)) >= MAX_POLICY_VERSIONS:
                raise LimitExceededError(
                    f"A managed policy can have up to {MAX_POLICY_VERSIONS} versions. Before you"
                    " create a new version, you must delete an existing version."
                )
            now = self._clock.now()
            version = PolicyVersion(
                caller.account_id, policy.name, f"v{policy.next_version}", document, now
            )
            tx.insert_policy_version(version)
            tx.update_managed_policy(
                replace(
                    policy,
                    next_version=policy.next_version + 1,
                    updated_at=now,
                    default_version_id=version.version_id
                    if set_as_default
                    else policy.default_version_id,
                )
            )
        self._changed(caller)
        return version

    def _version(self, tx: ReadTx, policy: ManagedPolicy, version_id: str) -> PolicyVersion:
        version = tx.get_policy_version(policy.account_id, policy.name, version_id)
        if version is None:
            raise NotFoundError(f"Policy {policy.arn} version {version_id} does not exist.")
        return version

    def get_version(
        self, caller: Caller, arn: str, version_id: str
    ) -> tuple[ManagedPolicy, PolicyVersion]:
        with self._storage.read() as tx:
            policy = self._existing(tx, caller, arn, "iam:GetPolicyVersion")
            return policy, self._version(tx, policy, version_id)

    def list_versions(self, caller: Caller, arn: str) -> tuple[ManagedPolicy, list[PolicyVersion]]:
        with self._storage.read() as tx:
            policy = self._existing(tx, caller, arn, "iam:ListPolicyVersions")
            return policy, tx.list_policy_versions(caller.account_id, policy.name)

    def delete_version(self, caller: Caller, arn: str, version_id: str) -> None:
        with self._storage.write() as tx:
            policy = self._existing(tx, caller, arn, "iam:DeletePolicyVersion")
            self._version(tx, policy, version_id)
            if version_id == policy.default_version_id:
                raise DeleteConflictError("Cannot delete the default version of a policy.")
            tx.delete_policy_version(caller.account_id, policy.name, version_id)
        self._changed(caller)

    def set_default_version(self, caller: Caller, arn: str, version_id: str) -> None:
        with self._storage.write() as tx:
            policy = self._existing(tx, caller, arn, "iam:SetDefaultPolicyVersion")
            self._version(tx, policy, version_id)
            tx.update_managed_policy(
                replace(policy, default_version_id=version_id, updated_at=self._clock.now())
            )
        self._changed(caller)

    # attachments -----------------------------------------------------------------------
    def attach(self, caller: Caller, kind: OwnerKind, owner: str, arn: str) -> None:
        with self._storage.write() as tx:
            self._owner(tx, caller, kind, owner, f"iam:Attach{_WORD[kind]}Policy")
            policy = tx.get_managed_policy(caller.account_id, _policy_name(caller, arn))
            if policy is None or policy.arn != arn:
                raise NotFoundError(f"Policy {arn} does not exist or is not attachable.")
            attached = tx.list_attached(caller.account_id, kind, owner)
            if arn not in attached:
                if len(attached) >= MAX_MANAGED_POLICIES_PER_PRINCIPAL:
                    raise LimitExceededError(
                        f"Cannot exceed quota for PoliciesPer{_WORD[kind]}:"
                        f" {MAX_MANAGED_POLICIES_PER_PRINCIPAL}"
                    )
                tx.attach_policy(caller.account_id, kind, owner, arn)
        self._changed(caller)

    def detach(self, caller: Caller, kind: OwnerKind, owner: str, arn: str) -> None:
        with self._storage.write() as tx:
            self._owner(tx, caller, kind, owner, f"iam:Detach{_WORD[kind]}Policy")
            if arn not in tx.list_attached(caller.account_id, kind, owner):
                raise NotFoundError(f"Policy {arn} was not found.")
            tx.detach_policy(caller.account_id, kind, owner, arn)
        self._changed(caller)

    def list_attached(self, caller: Caller, kind: OwnerKind, owner: str) -> list[ManagedPolicy]:
        with self._storage.read() as tx:
            self._owner(tx, caller, kind, owner, f"iam:ListAttached{_WORD[kind]}Policies")
            policies = []
            for arn in tx.list_attached(caller.account_id, kind, owner):
                policy = tx.get_managed_policy(caller.account_id, arn.rsplit("/", 1)[-1])
                if policy is not None and policy.arn == arn:
                    policies.append(policy)
            return policies

    def _owner(self, tx: ReadTx, caller: Caller, kind: OwnerKind, owner: str, action: str) -> None:
        """Authorize ``action`` on a user or role, then require that it exists (so that a
        caller without the permission learns nothing about which names exist)."""
        arn = owner_arn(tx, caller.account_id, kind, owner)
        default = f"arn:aws:iam::{caller.account_id}:{kind.value}/{owner}"
        check(self._authorizer, caller, action, arn or default)
        if arn is None:
            raise NotFoundError(f"The {_WORD[kind].lower()} with name {owner} cannot be found.")
