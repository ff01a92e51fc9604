"""The key that signs audit digests: an Ed25519 seed stored wrapped under the root key.

Created on first use by whichever process signs first, inside its write transaction and
with the chain row locked, so two processes cannot each create one. The public key is
stored beside it in the clear (PEM), for ``cofre audit public-key`` and for verifiers.
"""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from cofre.core.audit.chain import public_key_pem, signing_key
from cofre.core.crypto import Aead, Random, unwrap, wrap
from cofre.service.ports import WriteTx

SIGNING_KEY_META = "audit_signing_key"  # base64 of the wrapped 32-byte Ed25519 seed
PUBLIC_KEY_META = "audit_public_key"  # PEM (SubjectPublicKeyInfo)
_SIGNING_KEY_AAD = b"cofre/audit-signing-key/v1"


class SigningKey:
    def __init__(self, root: Aead, random: Random) -> None:
        self._root = root
        self._random = random
        self._private: Ed25519PrivateKey | None = None

    def forget(self) -> None:
        """Drop the private key (the node is being sealed)."""
        self._private = None

    def key(self, tx: WriteTx) -> Ed25519PrivateKey:
        """The private key, created on first use; call with the chain locked."""
        if self._private is not None:
            return self._private
        stored = tx.get_meta(SIGNING_KEY_META)
        if stored is None:
            seed = self._random(32)
            wrapped = wrap(self._root, seed, _SIGNING_KEY_AAD, self._random)
            private = signing_key(seed)
            tx.set_meta(SIGNING_KEY_META, base64.b64encode(wrapped).decode())
            tx.set_meta(PUBLIC_KEY_META, public_key_pem(private.public_key()))
        else:
            seed = unwrap(self._root, base64.b64decode(stored), _SIGNING_KEY_AAD)
            private = signing_key(seed)
        self._private = private
        return private
