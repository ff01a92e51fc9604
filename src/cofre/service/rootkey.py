"""The keyring key's check value: a known text wrapped under the keyring key, stored in
the database, so that a node holding another key refuses to serve instead of failing on
every request. (Stores made before seals wrapped it under their root key, which became
their keyring key: the same check.)"""

from __future__ import annotations

import base64
import binascii

from cofre.core.crypto import (
    ROOT_CHECK_AAD,
    ROOT_CHECK_PLAINTEXT,
    Aead,
    Random,
    unwrap,
    wrap,
)
from cofre.errors import CofreError, InvalidCiphertextError
from cofre.service.ports import Storage

CHECK_META = "root_key_check"


class RootKeyError(CofreError):
    """The root key is missing, malformed, or not the one the database was made with."""


def verify_root_key(storage: Storage, root: Aead, random: Random) -> None:
    """Store the check value on first use; afterwards insist that it opens."""
    with storage.write() as tx:
        stored = tx.get_meta(CHECK_META)
        if stored is None:
            check = wrap(root, ROOT_CHECK_PLAINTEXT, ROOT_CHECK_AAD, random)
            tx.set_meta(CHECK_META, base64.b64encode(check).decode())
            return
    check_root_key(stored, root)


def stored_check(storage: Storage) -> str | None:
    """The check value the database holds (None: never started with a root key)."""
    with storage.read() as tx:
        return tx.get_meta(CHECK_META)


def check_root_key(stored: str, root: Aead) -> None:
    """Insist that ``root`` opens the stored check value."""
    try:
        opened = unwrap(root, base64.b64decode(stored), ROOT_CHECK_AAD)
    except (InvalidCiphertextError, binascii.Error) as exc:
        raise RootKeyError(
            "The root key does not match this database: every node must use the same root key"
        ) from exc
    if opened != ROOT_CHECK_PLAINTEXT:
        raise RootKeyError("The root key does not match this database")
