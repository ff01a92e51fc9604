"""Required encryption context CMM (framework/required-encryption-context-cmm.md).

Wraps another CMM (or a default CMM over a keyring) and a set of encryption context keys:

* encrypt: the caller's context MUST hold every required key; the pairs are authenticated
  by the header tag but not stored in the message (message format v2 and v1 alike);
* decrypt: the caller MUST reproduce every required pair (``decrypt(...,
  encryption_context=...)``); a wrong or missing value fails the header check.

A message made this way can only be decrypted by a reader that knows the required pairs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from cofre.esdk.context import RESERVED_PREFIX
from cofre.esdk.encrypt import resolve_cmm
from cofre.esdk.errors import ConfigurationError, DecryptError, EncryptError
from cofre.esdk.materials import (
    CryptoMaterialsManager,
    DecryptionMaterials,
    DecryptMaterialsRequest,
    EncryptionMaterials,
    EncryptionMaterialsRequest,
    Keyring,
)


class RequiredEncryptionContextCmm:
    """Requires ``required_keys`` in the context on encrypt and in the reproduced context
    on decrypt; give exactly one of ``keyring`` or ``materials_manager``."""

    def __init__(
        self,
        required_keys: Iterable[str],
        *,
        keyring: Keyring | None = None,
        materials_manager: CryptoMaterialsManager | None = None,
    ) -> None:
        # required-encryption-context-cmm.md#initialization: keys, and a CMM or a keyring
        # (a keyring gets a default CMM)
        self.underlying = resolve_cmm(keyring, materials_manager)
        if isinstance(required_keys, str):
            raise ConfigurationError("required_keys must be a collection of keys, not a string")
        keys = tuple(dict.fromkeys(required_keys))
        if not all(isinstance(k, str) and k for k in keys):
            raise ConfigurationError("required keys must be non-empty strings")
        if any(key.startswith(RESERVED_PREFIX) for key in keys):
            raise ConfigurationError(f"required keys may not use the {RESERVED_PREFIX} prefix")
        self.required_keys = keys

    def get_encryption_materials(self, request: EncryptionMaterialsRequest) -> EncryptionMaterials:
        # required-encryption-context-cmm.md#get-encryption-materials: every key MUST have a
        # value in the request's context, or the request MUST fail
        missing = [k for k in self.required_keys if k not in request.encryption_context]
        if missing:
            raise EncryptError(f"encryption context lacks required keys: {', '.join(missing)}")
        keys = tuple(
            dict.fromkeys((*request.required_encryption_context_keys, *self.required_keys))
        )
        materials = self.underlying.get_encryption_materials(
            replace(request, required_encryption_context_keys=keys)
        )
        # the obtained materials MUST list every configured key as required
        if not set(self.required_keys) <= set(materials.required_encryption_context_keys):
            raise EncryptError("materials manager dropped required encryption context keys")
        return materials

    def decrypt_materials(self, request: DecryptMaterialsRequest) -> DecryptionMaterials:
        reproduced = request.reproduced_encryption_context or {}
        # required-encryption-context-cmm.md#decrypt-materials: the reproduced context MUST
        # hold every key, or the request MUST fail
        missing = [k for k in self.required_keys if k not in reproduced]
        if missing:
            raise DecryptError(
                f"reproduced encryption context lacks required keys: {', '.join(missing)}"
            )
        materials = self.underlying.decrypt_materials(request)
        # the obtained materials' context MUST hold every configured key
        if any(k not in materials.encryption_context for k in self.required_keys):
            raise DecryptError("materials manager dropped required encryption context keys")
        return materials
