"""Where the root key comes from: a 0600 file in the data directory, or the environment.

Every node that shares a database must use the same root key; a check value stored in
the database (the root key sealing a known text) makes a node with another key refuse
to start instead of failing on every request.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from cofre.core.crypto import ROOT_CHECK_AAD, ROOT_CHECK_PLAINTEXT, Cipher, Random, unwrap, wrap
from cofre.errors import CofreError, InvalidCiphertextError
from cofre.service.ports import Storage

ROOT_KEY_FILE = "root.key"
ROOT_KEY_ENV = "COFRE_ROOT_KEY"
CHECK_META = "root_key_check"


class RootKeyError(CofreError):
    """The root key is missing, malformed, or not the one the database was made with."""


def load_root_key(
    data_dir: Path, env_value: str | None, random: Random, *, create: bool = True
) -> bytes:
    """The root key from ``COFRE_ROOT_KEY`` (base64), else from the data dir (created 0600
    when absent, unless ``create`` is false: then its absence is an error)."""
    if env_value:
        try:
            key = base64.b64decode(env_value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise RootKeyError(f"{ROOT_KEY_ENV} is not valid base64") from exc
        if len(key) != 32:
            raise RootKeyError(f"{ROOT_KEY_ENV} must hold 32 bytes")
        return key
    path = data_dir / ROOT_KEY_FILE
    if not path.exists() and not create:
        raise RootKeyError(f"no root key: {path} does not exist and {ROOT_KEY_ENV} is not set")
    if not path.exists():
        key = random(32)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, key)
            os.fsync(fd)
        finally:
            os.close(fd)
        return key
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise RootKeyError(f"{path} must not be readable by group or others (mode {mode:o})")
    key = path.read_bytes()
    if len(key) != 32:
        raise RootKeyError(f"{path} must hold 32 bytes")
    return key


def verify_root_key(storage: Storage, root: Cipher, random: Random) -> None:
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


def check_root_key(stored: str, root: Cipher) -> None:
    """Insist that ``root`` opens the stored check value."""
    try:
        opened = unwrap(root, base64.b64decode(stored), ROOT_CHECK_AAD)
    except (InvalidCiphertextError, binascii.Error) as exc:
        raise RootKeyError(
            "The root key does not match this database: every node must use the same root key"
        ) from exc
    if opened != ROOT_CHECK_PLAINTEXT:
        raise RootKeyError("The root key does not match this database")
