"""Accounts and access keys, including the bootstrap admin of a new server."""

from __future__ import annotations

import json
import os
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

from cofre.core.crypto import Aead, Random
from cofre.core.iam.principals import Account, Caller, Credential
from cofre.core.ids import is_account_id, root_arn
from cofre.errors import AccessDeniedError, AlreadyExistsError, ValidationError
from cofre.service.authz.authorizer import Authorizer
from cofre.service.iam.common import check, new_credential
from cofre.service.ports import Clock, Storage

ADMIN_CREDENTIALS_FILE = "admin-credentials.json"
_AKID_ALPHABET = string.ascii_uppercase + "234567"


@dataclass(frozen=True, slots=True)
class AccessKeyPair:
    access_key_id: str
    secret_access_key: str


def new_access_key_pair() -> AccessKeyPair:
    akid = "AKIA" + "".join(secrets.choice(_AKID_ALPHABET) for _ in range(16))
    secret = secrets.token_urlsafe(30)[:40]
    return AccessKeyPair(akid, secret)


def new_account_id() -> str:
    return str(secrets.randbelow(9 * 10**11) + 10**11)


class AccountService:
    """Accounts (tenants). The bootstrap admin's account administers the others."""

    def __init__(
        self,
        storage: Storage,
        root: Aead,
        clock: Clock,
        random: Random,
        authorizer: Authorizer,
    ) -> None:
        self._storage = storage
        self._root = root
        self._clock = clock
        self._random = random
        self._authorizer = authorizer

    def admin_account(self) -> str | None:
        """The server's administrative account (its default one), once bootstrapped."""
        with self._storage.read() as tx:
            return tx.get_meta("default_account")

    def require_admin(self, caller: Caller, action: str) -> None:
        """Only principals of the server's default account may administer the server, and
        among them those whose identity policies allow ``action`` (its root always may)."""
        self._admin(caller, action)

    def _admin(self, caller: Caller, action: str) -> None:
        """Only principals of the server's default account may administer accounts, and
        among them those whose identity policies allow it (the root always may)."""
        with self._storage.read() as tx:
            admin_account = tx.get_meta("default_account")
        if caller.account_id != admin_account:
            raise AccessDeniedError(
                f"User: {caller.principal_arn} is not authorized to perform: {action}"
                " because only the server's administrative account manages accounts"
            )
        check(self._authorizer, caller, action)

    def create_account(
        self, caller: Caller, account_id: str | None, name: str
    ) -> tuple[Account, AccessKeyPair]:
        """A new account and its root access key pair (the secret is shown only here)."""
        self._admin(caller, "cofre:CreateAccount")
        account_id = account_id or new_account_id()
        if not is_account_id(account_id):
            raise ValidationError(f"Account id {account_id!r} must be 12 digits")
        account = Account(account_id, name, self._clock.now())
        pair = new_access_key_pair()
        with self._storage.write() as tx:
            if tx.get_account(account_id) is not None:
                raise AlreadyExistsError(f"Account {account_id} already exists.")
            tx.insert_account(account)
            tx.put_credential(self._root_credential(account_id, pair))
        return account, pair

    def list_accounts(self, caller: Caller) -> list[Account]:
        self._admin(caller, "cofre:ListAccounts")
        with self._storage.read() as tx:
            return tx.list_accounts()

    def ensure_account(self, account_id: str, name: str) -> Account:
        if not is_account_id(account_id):
            raise ValidationError(f"Account id {account_id!r} must be 12 digits")
        with self._storage.write() as tx:
            account = tx.get_account(account_id)
            if account is None:
                account = Account(account_id, name, self._clock.now())
                tx.insert_account(account)
            return account

    def _root_credential(self, account_id: str, pair: AccessKeyPair) -> Credential:
        return new_credential(
            self._root,
            self._random,
            self._clock.now(),
            access_key_id=pair.access_key_id,
            secret_access_key=pair.secret_access_key,
            account_id=account_id,
            principal_arn=root_arn(account_id),
            principal_id=account_id,
        )

    def put_root_access_key(self, account_id: str, pair: AccessKeyPair) -> None:
        with self._storage.write() as tx:
            tx.put_credential(self._root_credential(account_id, pair))


@dataclass(frozen=True, slots=True)
class Bootstrap:
    account_id: str
    access_key_id: str
    credentials_file: Path | None  # where generated credentials were written, if they were


def bootstrap_admin(
    accounts: AccountService,
    storage: Storage,
    data_dir: Path,
    account_id: str | None,
    access_key_id: str | None,
    secret_access_key: str | None,
) -> Bootstrap:
    """Make sure the default account and its root access key exist.

    Fixed credentials (environment) win; otherwise the first start generates them and
    writes them to a 0600 file in the data directory. The secret is never logged.
    """
    with storage.read() as tx:
        default_account = tx.get_meta("default_account")
    account = account_id or default_account or new_account_id()
    accounts.ensure_account(account, "default")
    with storage.write() as tx:
        if tx.get_meta("default_account") is None:
            tx.set_meta("default_account", account)
    if access_key_id and secret_access_key:
        accounts.put_root_access_key(account, AccessKeyPair(access_key_id, secret_access_key))
        return Bootstrap(account, access_key_id, None)
    path = data_dir / ADMIN_CREDENTIALS_FILE
    if path.exists():
        stored = json.loads(path.read_text())
        return Bootstrap(stored["account_id"], stored["access_key_id"], path)
    pair = new_access_key_pair()
    accounts.put_root_access_key(account, pair)
    document = {
        "account_id": account,
        "access_key_id": pair.access_key_id,
        "secret_access_key": pair.secret_access_key,
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(document, handle, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    return Bootstrap(account, pair.access_key_id, path)
