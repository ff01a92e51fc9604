"""The keyring key K: what every secret at rest is wrapped under (key material, secret
access keys, webhook secrets, the audit signing key) and what purpose keys are derived
from. It is in memory only while this node is unsealed; while sealed every use raises
``SealedError``, so nothing is decrypted and nothing new is wrapped.

Python cannot promise to wipe memory: dropping K drops the references to it and to the
ciphers built from it (and the caches of unwrapped material are emptied by the keeper);
the bytes are freed as the interpreter frees them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from cofre.core.crypto import KEY_LEN, Cipher, hkdf_key, legacy_derive_key
from cofre.errors import SealedError


class Keyring:
    """An :class:`~cofre.core.crypto.Aead` over K that may be absent (sealed)."""

    def __init__(self) -> None:
        self._cipher: Cipher | None = None
        self._key: bytes | None = None
        self._derived: dict[tuple[bytes, bool], bytes] = {}
        self._lock = threading.Lock()
        self._on_drop: list[Callable[[], None]] = []
        self._on_load: list[Callable[[], None]] = []

    @property
    def sealed(self) -> bool:
        return self._cipher is None

    def load(self, key: bytes) -> None:
        """Hold ``key`` (32 bytes): the node is unsealed."""
        if len(key) != KEY_LEN:
            raise ValueError("the keyring key is 32 bytes")
        with self._lock:
            self._key, self._cipher, self._derived = key, Cipher(key), {}
        for listener in list(self._on_load):
            listener()

    def drop(self) -> None:
        """Forget K and what was derived from it: the node is sealed."""
        with self._lock:
            self._key, self._cipher, self._derived = None, None, {}
        for listener in list(self._on_drop):
            listener()

    def on_drop(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` whenever K is dropped (to empty caches of unwrapped keys)."""
        self._on_drop.append(listener)

    def on_load(self, listener: Callable[[], None]) -> None:
        self._on_load.append(listener)

    def key(self) -> bytes:
        """K itself, for the keeper to hand to another process of this node."""
        key = self._key
        if key is None:
            raise SealedError()
        return key

    # Aead --------------------------------------------------------------------------------
    def seal(self, iv: bytes, plaintext: bytes, aad: bytes) -> bytes:
        cipher = self._cipher
        if cipher is None:
            raise SealedError()
        return cipher.seal(iv, plaintext, aad)

    def open(self, iv: bytes, sealed: bytes, aad: bytes) -> bytes:
        cipher = self._cipher
        if cipher is None:
            raise SealedError()
        return cipher.open(iv, sealed, aad)

    def derive(self, label: bytes, *, legacy: bool = False) -> bytes:
        """A key for one purpose: HKDF of K, or (``legacy``) the derivation stores made
        before HKDF used, to check what they wrote."""
        found = self._derived.get((label, legacy))
        if found is not None:
            return found
        with self._lock:
            key, cipher = self._key, self._cipher
            if key is None or cipher is None:
                raise SealedError()
            derived = legacy_derive_key(cipher, label) if legacy else hkdf_key(key, label)
            self._derived[(label, legacy)] = derived
            return derived
