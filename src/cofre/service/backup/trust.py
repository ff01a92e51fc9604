"""The root of trust around a backup, which never holds it.

A backup needs no root key (the rows stay wrapped); it uses one only to bring the audit
journals into the chain first, and only one that is already there -- ``COFRE_ROOT_KEY``
or the data directory's ``root.key`` -- never a new one. A restored store opens with the
root key that made it: the operator brings it, and ``cofre restore`` checks a root key it
is given against the backup's check value before committing.
"""

from __future__ import annotations

from pathlib import Path

from cofre.core.crypto import Cipher
from cofre.errors import RestoreError
from cofre.service.backup.restore import CheckMeta
from cofre.service.rootkey import (
    CHECK_META,
    ROOT_KEY_FILE,
    RootKeyError,
    check_root_key,
    load_root_key,
)


def _never(n: int) -> bytes:
    raise RootKeyError("no root key here")


def existing_root_key(data_dir: Path, env_value: str | None) -> bytes | None:
    """The root key ``cofre serve`` would use, if it has one already; None otherwise."""
    if not env_value and not (data_dir / ROOT_KEY_FILE).is_file():
        return None
    return load_root_key(data_dir, env_value, _never, create=False)


def requires_root_key(root: bytes) -> CheckMeta:
    """A check for :func:`~cofre.service.backup.restore.restore_backup`: the backup's
    store must open with ``root`` (a store never started has no check value to open)."""

    def check(meta: dict[str, str]) -> None:
        stored = meta.get(CHECK_META)
        if stored is None:
            return
        try:
            check_root_key(stored, Cipher(root))
        except RootKeyError as exc:
            raise RestoreError(
                "the root key given is not the one this backup's store was made with:"
                " a server would refuse to open the restored store"
            ) from exc

    return check
