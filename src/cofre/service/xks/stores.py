"""The logical XKS key stores of an account: create, list, rotate the credential, delete,
and which Cofre keys each may use (Cofre's own operations, ``CofreXks.<Op>``; ADR 22).

A store belongs to the caller's account and Region. Authorization is identity-policy
only, as for Cofre's other admin actions: ``cofre:CreateXksStore``, ``cofre:ListXksStores``
on ``*``, the others on the store's ARN (``arn:aws:kms:<region>:<account>:xks-store/<id>``);
an account's root may do all of it. The secret of a credential is stored wrapped by the
keyring key and shown once, by create and rotate.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from cofre.core.crypto import Aead, Random, wrap
from cofre.core.iam.principals import Caller
from cofre.core.ids import key_row_id
from cofre.core.kms.keys import KeyState
from cofre.core.xks.stores import (
    MAX_KEYS,
    MAX_STORES,
    XksCredential,
    XksStore,
    check_name,
    check_store_id,
    new_access_key_id,
    new_secret,
    new_store_id,
    secret_aad,
)
from cofre.errors import LimitExceededError, NotFoundError, ValidationError
from cofre.service.authz.authorizer import Authorizer
from cofre.service.iam.common import check
from cofre.service.kms.resolver import KeyResolver
from cofre.service.ports import Clock, ReadTx, Storage


def store_arn(region: str, account_id: str, store_id: str) -> str:
    return f"arn:aws:kms:{region}:{account_id}:xks-store/{store_id}"


@dataclass(frozen=True, slots=True)
class IssuedStore:
    """A store with the secret of its current credential (shown only once)."""

    store: XksStore
    secret_access_key: str


class XksStores:
    def __init__(
        self,
        storage: Storage,
        authorizer: Authorizer,
        resolver: KeyResolver,
        clock: Clock,
        root: Aead,
        random: Random,
    ) -> None:
        self._storage = storage
        self._authorizer = authorizer
        self._resolver = resolver
        self._clock = clock
        self._root = root
        self._random = random

    def _changed(self, store_id: str) -> None:
        """This process forgets the store now; the others when the change feed tells."""
        self._resolver.cache.invalidate("xks", store_id)

    def _credential(self, store_id: str) -> tuple[XksCredential, str]:
        access_key_id = new_access_key_id(self._random)
        secret = new_secret(self._random)
        wrapped = wrap(
            self._root, secret.encode(), secret_aad(store_id, access_key_id), self._random
        )
        return XksCredential(access_key_id, wrapped), secret

    def create(self, caller: Caller, name: str) -> IssuedStore:
        check_name(name)
        check(self._authorizer, caller, "cofre:CreateXksStore", "*")
        store_id = new_store_id(self._random)
        credential, secret = self._credential(store_id)
        store = XksStore(
            store_id, caller.account_id, caller.region, name, credential, None, self._clock.now()
        )
        with self._storage.write() as tx:
            if len(tx.list_xks_stores(caller.account_id, caller.region)) >= MAX_STORES:
                raise LimitExceededError(
                    f"An account can have at most {MAX_STORES} XKS key stores per Region."
                )
            tx.insert_xks_store(store)
        return IssuedStore(store, secret)

    def list(self, caller: Caller) -> list[tuple[XksStore, list[str]]]:
        """The caller's stores with the key ids each may use."""
        check(self._authorizer, caller, "cofre:ListXksStores", "*")
        with self._storage.read() as tx:
            found = tx.list_xks_stores(caller.account_id, caller.region)
            return [(s, tx.xks_store_keys(s.store_id)) for s in found]

    def _own(self, caller: Caller, store_id: str, action: str) -> None:
        check_store_id(store_id)
        check(
            self._authorizer, caller, action, store_arn(caller.region, caller.account_id, store_id)
        )

    @staticmethod
    def _get(caller: Caller, store_id: str, tx: ReadTx) -> XksStore:
        store = tx.get_xks_store(store_id)
        if store is None or (store.account_id, store.region) != (caller.account_id, caller.region):
            raise NotFoundError(f"Key store {store_id} does not exist.")
        return store

    def rotate_credentials(self, caller: Caller, store_id: str) -> IssuedStore:
        """A new credential; the one it replaces stays valid until the next rotation (the
        XKS specification's "SigV4 credentials rotation": two at once)."""
        self._own(caller, store_id, "cofre:RotateXksStoreCredentials")
        credential, secret = self._credential(store_id)
        with self._storage.write() as tx:
            store = self._get(caller, store_id, tx)
            rotated = replace(store, credential=credential, previous=store.credential)
            tx.update_xks_credentials(rotated)
        self._changed(store_id)
        return IssuedStore(rotated, secret)

    def delete(self, caller: Caller, store_id: str) -> None:
        self._own(caller, store_id, "cofre:DeleteXksStore")
        with self._storage.write() as tx:
            self._get(caller, store_id, tx)
            tx.delete_xks_store(store_id)
        self._changed(store_id)

    def add_key(self, caller: Caller, store_id: str, key: str) -> str:
        """Let the store use a symmetric encryption key of its account: its key id."""
        self._own(caller, store_id, "cofre:AddXksStoreKey")
        key_id = self._resolver.key_id_for(caller, key, allow_alias=True)
        with self._storage.write() as tx:
            self._get(caller, store_id, tx)
            found = tx.get_key(key_row_id(key_id, caller.region))
            if found is None or found.account_id != caller.account_id:
                raise NotFoundError(f"Key '{key[:256]}' does not exist")
            if found.key_spec != "SYMMETRIC_DEFAULT" or found.key_usage != "ENCRYPT_DECRYPT":
                raise ValidationError(
                    "An XKS key store serves only SYMMETRIC_DEFAULT keys for ENCRYPT_DECRYPT."
                )
            if found.state is KeyState.PENDING_DELETION:
                raise ValidationError(f"Key {key_id} is pending deletion.")
            if len(tx.xks_store_keys(store_id)) >= MAX_KEYS:
                raise LimitExceededError(f"A key store can use at most {MAX_KEYS} keys.")
            tx.add_xks_store_key(store_id, key_id, self._clock.now())
        self._changed(store_id)
        return key_id

    def remove_key(self, caller: Caller, store_id: str, key: str) -> str:
        self._own(caller, store_id, "cofre:RemoveXksStoreKey")
        key_id = self._resolver.key_id_for(caller, key, allow_alias=True)
        with self._storage.write() as tx:
            self._get(caller, store_id, tx)
            if not tx.remove_xks_store_key(store_id, key_id):
                raise NotFoundError(f"Key store {store_id} does not use key {key_id}.")
        self._changed(store_id)
        return key_id
