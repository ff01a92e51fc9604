"""Accounts and access keys, including the bootstrap admin of a new server."""

from __future__ import annotations

import json
import os
import secrets
import string
from dataclasses import dataclass
from pathlib import Path

from cofre.core.crypto import Cipher, Random, credential_aad, wrap
from cofre.core.ids import is_account_id, root_arn
from cofre.core.principals import Account, Credential, CredentialStatus
from cofre.errors import ValidationError
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
    def __init__(self, storage: Storage, root: Cipher, clock: Clock, random: Random) -> None:
        self._storage = storage
        self._root = root
        self._clock = clock
        self._random = random

    def ensure_account(self, account_id: str, name: str) -> Account:
        if not is_account_id(account_id):
            raise ValidationError(f"Account id {account_id!r} must be 12 digits")
        with self._storage.write() as tx:
            account = tx.get_account(account_id)
            if account is None:
                account = Account(account_id, name, self._clock.now())
                tx.insert_account(account)
            return account

    def put_root_access_key(self, account_id: str, pair: AccessKeyPair) -> None:
        credential = Credential(
            access_key_id=pair.access_key_id,
            account_id=account_id,
            principal_arn=root_arn(account_id),
            user_name=None,
            secret_wrapped=wrap(
                self._root,
                pair.secret_access_key.encode(),
                credential_aad(pair.access_key_id),
                self._random,
            ),
            status=CredentialStatus.ACTIVE,
            created_at=self._clock.now(),
        )
        with self._storage.write() as tx:
            tx.put_credential(credential)


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
