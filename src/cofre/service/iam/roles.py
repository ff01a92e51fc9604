"""IAM roles with trust policies, and STS: AssumeRole and GetCallerIdentity."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from cofre.core.crypto import Aead, Random
from cofre.core.iam.entities import (
    DEFAULT_MAX_SESSION_SECONDS,
    MAX_SESSION_SECONDS,
    MIN_SESSION_SECONDS,
    ROLE_ID_PREFIX,
    SESSION_KEY_PREFIX,
    OwnerKind,
    Role,
    assumed_role_arn,
    role_arn,
)
from cofre.core.iam.principals import Caller
from cofre.core.policy import PolicyKind, parse_policy
from cofre.errors import (
    AccessDeniedError,
    DeleteConflictError,
    NotFoundError,
    UnsupportedOperationError,
    ValidationError,
)
from cofre.service.authz.authorizer import PolicyAuthorizer, Request
from cofre.service.cache.keycache import KeyCache
from cofre.service.iam.common import check, new_credential, secret_key, unique_id
from cofre.service.pagination import Page, decode_marker, first_page
from cofre.service.ports import Clock, ReadTx, Storage

ROLE_CHAINING_MAX_SECONDS = 3600


@dataclass(frozen=True, slots=True)
class Session:
    """Temporary credentials from AssumeRole; the secret and token are shown only once."""

    access_key_id: str
    secret_access_key: str
    session_token: str
    expiration: datetime
    assumed_role_id: str
    arn: str


def session_token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def _check_max_session(seconds: int | None) -> int:
    value = DEFAULT_MAX_SESSION_SECONDS if seconds is None else seconds
    if not MIN_SESSION_SECONDS <= value <= MAX_SESSION_SECONDS:
        raise ValidationError(
            f"MaxSessionDuration must be between {MIN_SESSION_SECONDS} and"
            f" {MAX_SESSION_SECONDS} seconds."
        )
    return value


class IamRoles:
    def __init__(
        self,
        storage: Storage,
        cache: KeyCache,
        authorizer: PolicyAuthorizer,
        clock: Clock,
        random: Random,
        root: Aead,
    ) -> None:
        self._storage = storage
        self._cache = cache
        self._authorizer = authorizer
        self._clock = clock
        self._random = random
        self._root = root

    def _role(self, tx: ReadTx, caller: Caller, name: str, action: str) -> Role:
        role = tx.get_role(caller.account_id, name)
        check(self._authorizer, caller, action,
              role.arn if role is not None else role_arn(caller.account_id, "/", name))  # fmt: skip
        if role is None:
            raise NotFoundError(f"The role with name {name} cannot be found.")
        return role

    # roles -----------------------------------------------------------------------------
    def create_role(
        self,
        caller: Caller,
        name: str,
        path: str | None,
        trust_policy: str,
        description: str,
        max_session_duration: int | None,
    ) -> Role:
        path = path or "/"
        check(self._authorizer, caller, "iam:CreateRole", role_arn(caller.account_id, path, name))
        parse_policy(trust_policy, PolicyKind.TRUST)
        role = Role(
            account_id=caller.account_id,
            name=name,
            role_id=unique_id(ROLE_ID_PREFIX, self._random),
            path=path,
            trust_policy=trust_policy,
            description=description,
            max_session_duration=_check_max_session(max_session_duration),
            created_at=self._clock.now(),
        )
        with self._storage.write() as tx:
            tx.insert_role(role)
        return role

    def get_role(self, caller: Caller, name: str) -> Role:
        with self._storage.read() as tx:
            return self._role(tx, caller, name, "iam:GetRole")

    def list_roles(
        self, caller: Caller, path_prefix: str | None, marker: str | None, max_items: int | None
    ) -> Page[Role]:
        check(self._authorizer, caller, "iam:ListRoles")
        size = max_items or 100
        with self._storage.read() as tx:
            roles = tx.list_roles(caller.account_id, path_prefix or "/", decode_marker(marker),
                                  size + 1)  # fmt: skip
        return first_page(roles, size, lambda r: r.name)

    def update_trust_policy(self, caller: Caller, name: str, trust_policy: str) -> None:
        parse_policy(trust_policy, PolicyKind.TRUST)
        with self._storage.write() as tx:
            role = self._role(tx, caller, name, "iam:UpdateAssumeRolePolicy")
            tx.update_role(replace(role, trust_policy=trust_policy))
        self._cache.invalidate("iam", caller.account_id)

    def update_role(
        self, caller: Caller, name: str, description: str | None, max_session: int | None
    ) -> None:
        with self._storage.write() as tx:
            role = self._role(tx, caller, name, "iam:UpdateRole")
            tx.update_role(
                replace(
                    role,
                    description=role.description if description is None else description,
                    max_session_duration=role.max_session_duration
                    if max_session is None
                    else _check_max_session(max_session),
                )
            )

    def delete_role(self, caller: Caller, name: str) -> None:
        with self._storage.write() as tx:
            role = self._role(tx, caller, name, "iam:DeleteRole")
            if tx.list_inline_policies(caller.account_id, OwnerKind.ROLE, role.name):
                raise DeleteConflictError("Cannot delete entity, must delete policies first.")
            if tx.list_attached(caller.account_id, OwnerKind.ROLE, role.name):
                raise DeleteConflictError("Cannot delete entity, must detach all policies first.")
            tx.delete_role(caller.account_id, role.name)
        self._cache.invalidate("iam", caller.account_id)

    # STS -------------------------------------------------------------------------------
    def assume_role(
        self,
        caller: Caller,
        arn: str,
        session_name: str,
        duration_seconds: int | None,
        external_id: str | None = None,
        session_policy: bool = False,
    ) -> Session:
        if caller.is_account_root:
            raise AccessDeniedError("Roles may not be assumed by root accounts.")
        if session_policy:
            raise UnsupportedOperationError("Session policies are not supported by Cofre yet.")
        parts = arn.split(":", 5)
        role = None
        if len(parts) == 6 and parts[2] == "iam" and parts[5].startswith("role/"):
            with self._storage.read() as tx:
                role = tx.get_role(parts[4], parts[5].rsplit("/", 1)[-1])
        if role is None or role.arn != arn:
            raise AccessDeniedError(
                f"User: {caller.principal_arn} is not authorized to perform: sts:AssumeRole"
                f" on resource: {arn}"
            )
        keys = {"sts:ExternalId": external_id} if external_id is not None else {}
        self._authorizer.authorize_with_policy(
            caller,
            Request("sts:AssumeRole", resource=role.arn, condition_keys=keys),
            role.trust_policy,
            role.account_id,
        )
        limit = role.max_session_duration
        if caller.role_arn is not None:
            limit = min(limit, ROLE_CHAINING_MAX_SECONDS)  # role chaining: one hour at most
        duration = min(DEFAULT_MAX_SESSION_SECONDS, limit)
        if duration_seconds is not None:
            if duration_seconds > limit:
                raise ValidationError(
                    "The requested DurationSeconds exceeds the MaxSessionDuration set for this"
                    f" role ({limit} seconds)."
                )
            duration = duration_seconds
        now = self._clock.now()
        secret = secret_key(self._random)
        token = base64.b64encode(self._random(96)).decode()
        access_key_id = unique_id(SESSION_KEY_PREFIX, self._random, 20)
        principal_arn = assumed_role_arn(role.account_id, role.name, session_name)
        principal_id = f"{role.role_id}:{session_name}"
        expiration = (now + timedelta(seconds=duration)).replace(microsecond=0)
        credential = new_credential(
            self._root,
            self._random,
            now,
            access_key_id=access_key_id,
            secret_access_key=secret,
            account_id=role.account_id,
            principal_arn=principal_arn,
            principal_id=principal_id,
            expires_at=expiration,
            session_token_hash=session_token_hash(token),
            role_arn=role.arn,
        )
        with self._storage.write() as tx:
            tx.put_credential(credential)
        return Session(access_key_id, secret, token, expiration, principal_id, principal_arn)
