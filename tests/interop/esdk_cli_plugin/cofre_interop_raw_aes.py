"""A raw AES wrapping key for the official aws-encryption-cli, for Cofre's interop tests.

The official CLI has no raw-key provider of its own: wrapping keys other than AWS KMS come
from plugins registered under the ``aws_encryption_sdk_cli.master_key_providers`` entry
point, named with ``provider=``; the CLI passes every other ``attribute=value`` word as a
keyword argument (a list of values) and adds each ``key=`` as a master key. This one:

    aws-encryption-cli -w provider=raw-aes key=<key name> key-namespace=<namespace> \\
        key-file=<file holding the 16, 24 or 32 key bytes>

It writes the EDKs that Cofre's ``provider=raw-aes`` keyring (and any Raw AES keyring)
reads: provider id = namespace, key id = name, AES-GCM wrapping.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aws_encryption_sdk.identifiers import EncryptionKeyType, WrappingAlgorithm
from aws_encryption_sdk.internal.crypto.wrapping_keys import WrappingKey
from aws_encryption_sdk.key_providers.raw import RawMasterKeyProvider

_WRAPPING = {
    16: WrappingAlgorithm.AES_128_GCM_IV12_TAG16_NO_PADDING,
    24: WrappingAlgorithm.AES_192_GCM_IV12_TAG16_NO_PADDING,
    32: WrappingAlgorithm.AES_256_GCM_IV12_TAG16_NO_PADDING,
}


def _one(words: dict[str, list[str]], name: str) -> str:
    values = words.get(name) or []
    if len(values) != 1:
        raise ValueError(f"raw-aes: give {name}= exactly once")
    return values[0]


def raw_aes(key_ids: list[str] | None = None, **words: list[str]) -> Any:
    """The provider for ``-w provider=raw-aes key=.. key-namespace=.. key-file=..``."""
    namespace = _one(words, "key-namespace")
    key = Path(_one(words, "key-file")).read_bytes()
    if len(key) not in _WRAPPING:
        raise ValueError("raw-aes: the key file must hold 16, 24 or 32 bytes")
    wrapping = WrappingKey(
        wrapping_algorithm=_WRAPPING[len(key)],
        wrapping_key=key,
        wrapping_key_type=EncryptionKeyType.SYMMETRIC,
    )

    class Provider(RawMasterKeyProvider):  # type: ignore[misc]
        provider_id = namespace

        def _get_raw_key(self, key_id: bytes) -> WrappingKey:
            return wrapping

    return Provider()
