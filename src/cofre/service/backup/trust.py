"""The root of trust around a backup, which never holds it.

A backup needs no key (the rows stay wrapped, the seal record among them); it uses one
only to bring the audit journals into the chain first, opened as ``cofre serve`` opens it
and never made anew. A restored store opens with its own seal: the unseal keys, the HSM
key or the other KMS's key of the store it was backed up from, which the restore neither
needs nor touches -- or, for the ``file`` seal, the root key file the operator brings,
which ``cofre restore`` checks against the backup before committing.
"""

from __future__ import annotations

from pathlib import Path

from cofre.core.crypto import Cipher
from cofre.core.seal import decode_record
from cofre.errors import RestoreError, SealError
from cofre.service.backup.restore import CheckMeta
from cofre.service.rootkey import CHECK_META, RootKeyError, check_root_key
from cofre.service.seal.files import FileRoot
from cofre.service.seal.keeper import SEAL_META, open_keyring


def existing_root_key(data_dir: Path, env_value: str | None) -> bytes | None:
    """The file seal's root key ``cofre serve`` would read, if there is one; None if not."""
    root = FileRoot.in_dir(data_dir, env_value)
    if not root.exists():
        return None
    try:
        return root.read()
    except SealError as exc:
        raise RestoreError(exc.message) from exc


def requires_root_key(root: bytes) -> CheckMeta:
    """A check for :func:`~cofre.service.backup.restore.restore_backup`: the backup's
    store must open with ``root`` -- the root key of its file seal, or of a store made
    before seals (which is its keyring key). A store on another seal takes no root key
    file; a store never started has nothing to check."""

    def check(meta: dict[str, str]) -> None:
        record_text = meta.get(SEAL_META)
        stored = meta.get(CHECK_META)
        try:
            key = root
            if record_text is not None:
                record = decode_record(record_text)
                if record.seal_type != "file":
                    raise RestoreError(
                        f"the backup's store is on the {record.seal_type} seal: it opens with"
                        " that seal, not with a root key file"
                    )
                key = open_keyring(record, root)
            if stored is not None:
                check_root_key(stored, Cipher(key))
        except (RootKeyError, SealError) as exc:
            raise RestoreError(
                "the root key given is not the one this backup's store was made with:"
                " a server would refuse to open the restored store"
            ) from exc

    return check
