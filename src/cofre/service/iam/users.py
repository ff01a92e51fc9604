"""IAM users and their access keys."""

from __future__ import annotations

from dataclasses import replace

from cofre.core.crypto import Aead, Random
from cofre.core.iam.entities import (
    ACCESS_KEY_PREFIX,
    MAX_ACCESS_KEYS_PER_USER,
    USER_ID_PREFIX,
    OwnerKind,
    User,
    user_arn,
)
from cofre.core.iam.principals import Caller, Credential, CredentialStatus
from cofre.errors import DeleteConflictError, LimitExceededError, NotFoundError, ValidationError
from cofre.service.authz.authorizer import Authorizer
from cofre.service.cache.keycache import KeyCache
from cofre.service.iam.common import NewSecret, check, new_credential, secret_key, unique_id
from cofre.service.pagination import Page, decode_marker, first_page
from cofre.service.ports import Clock, ReadTx, Storage


def no_such_user(name: str) -> NotFoundError:
    return NotFoundError(f"The user with name {name} cannot be found.")


class IamUsers:
    def __init__(
        self,
        storage: Storage,
        cache: KeyCache,
        authorizer: Authorizer,
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

    def _arn(self, caller: Caller, path: str, name: str) -> str:
        return user_arn(caller.account_id, path, name)

    def _target(self, caller: Caller, user_name: str | None) -> str:
        """The user an access-key call is about: the named one, or the caller itself."""
        if user_name is not None:
            return user_name
        if caller.user_name is None:
            raise ValidationError("Must specify a userName when calling with non-User credentials")
        return caller.user_name

    def _user(self, tx: ReadTx, caller: Caller, name: str, action: str) -> User:
        """Authorize ``action`` on the user, then require that it exists."""
        user = tx.get_user(caller.account_id, name)
        check(self._authorizer, caller, action,
              user.arn if user is not None else self._arn(caller, "/", name))  # fmt: skip
        if user is None:
            raise no_such_user(name)
        return user

    # users -----------------------------------------------------------------------------
    def create_user(self, caller: Caller, name: str, path: str | None) -> User:
        path = path or "/"
        check(self._authorizer, caller, "iam:CreateUser", self._arn(caller, path, name))
        user = User(
            account_id=caller.account_id,
            name=name,
            user_id=unique_id(USER_ID_PREFIX, self._random),
            path=path,
            created_at=self._clock.now(),
        )
        with self._storage.write() as tx:
            tx.insert_user(user)
        return user

    def get_user(self, caller: Caller, name: str | None) -> User | None:
        """The named user, or the caller's own; None for the account root itself."""
        target = name if name is not None else caller.user_name
        if target is None:
            check(self._authorizer, caller, "iam:GetUser", caller.principal_arn)
            return None
        with self._storage.read() as tx:
            return self._user(tx, caller, target, "iam:GetUser")

    def list_users(
        self, caller: Caller, path_prefix: str | None, marker: str | None, max_items: int | None
    ) -> Page[User]:
        check(self._authorizer, caller, "iam:ListUsers")
        size = max_items or 100
        with self._storage.read() as tx:
            users = tx.list_users(caller.account_id, path_prefix or "/", decode_marker(marker),
                                  size + 1)  # fmt: skip
        return first_page(users, size, lambda u: u.name)

    def delete_user(self, caller: Caller, name: str) -> None:
        with self._storage.write() as tx:
            user = self._user(tx, caller, name, "iam:DeleteUser")
            if tx.list_access_keys(caller.account_id, user.name):
                raise DeleteConflictError("Cannot delete entity, must delete access keys first.")
            if tx.list_inline_policies(caller.account_id, OwnerKind.USER, user.name):
                raise DeleteConflictError("Cannot delete entity, must delete policies first.")
            if tx.list_attached(caller.account_id, OwnerKind.USER, user.name):
                raise DeleteConflictError("Cannot delete entity, must detach all policies first.")
            tx.delete_user(caller.account_id, user.name)
        self._cache.invalidate("iam", caller.account_id)

    # access keys -----------------------------------------------------------------------
    def create_access_key(self, caller: Caller, user_name: str | None) -> NewSecret:
        target = self._target(caller, user_name)
        with self._storage.write() as tx:
            user = self._user(tx, caller, target, "iam:CreateAccessKey")
            if len(tx.list_access_keys(caller.account_id, user.name)) >= MAX_ACCESS_KEYS_PER_USER:
                raise LimitExceededError(
                    f"Cannot exceed quota for AccessKeysPerUser: {MAX_ACCESS_KEYS_PER_USER}"
                )
            secret = secret_key(self._random)
            credential = new_credential(
                self._root,
                self._random,
                self._clock.now(),
                access_key_id=unique_id(ACCESS_KEY_PREFIX, self._random, 20),
                secret_access_key=secret,
                account_id=caller.account_id,
                principal_arn=user.arn,
                principal_id=user.user_id,
                user_name=user.name,
            )
            tx.put_credential(credential)
        return NewSecret(credential, secret)

    def list_access_keys(self, caller: Caller, user_name: str | None) -> list[Credential]:
        target = self._target(caller, user_name)
        with self._storage.read() as tx:
            user = self._user(tx, caller, target, "iam:ListAccessKeys")
            return tx.list_access_keys(caller.account_id, user.name)

    def _own_key(self, tx: ReadTx, caller: Caller, user: User, access_key_id: str) -> Credential:
        for credential in tx.list_access_keys(caller.account_id, user.name):
            if credential.access_key_id == access_key_id:
                return credential
        raise NotFoundError(f"The Access Key with id {access_key_id} cannot be found.")

    def update_access_key(
        self, caller: Caller, user_name: str | None, access_key_id: str, status: str
    ) -> None:
        target = self._target(caller, user_name)
        with self._storage.write() as tx:
            user = self._user(tx, caller, target, "iam:UpdateAccessKey")
            credential = self._own_key(tx, caller, user, access_key_id)
            tx.put_credential(replace(credential, status=CredentialStatus(status)))
        self._cache.invalidate("credential", access_key_id)

    def delete_access_key(self, caller: Caller, user_name: str | None, access_key_id: str) -> None:
        target = self._target(caller, user_name)
        with self._storage.write() as tx:
            user = self._user(tx, caller, target, "iam:DeleteAccessKey")
            self._own_key(tx, caller, user, access_key_id)
            tx.delete_credential(access_key_id)
        self._cache.invalidate("credential", access_key_id)
