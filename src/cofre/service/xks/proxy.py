"""Cofre as an XKS proxy (ADR 22): the four operations of the XKS Proxy API
Specification, answered with the keys a store was given.

Everything a call needs is in memory once warm: the stores (with their unwrapped
secrets and key sets) in a :class:`XksDirectory`, the keys in the key cache. A miss reads
storage, which the event loop refuses (``WouldBlock``), so the API layer runs the call
again on a thread. The directory listens to the key cache's invalidations: a store's
``xks`` change (any write to it, from any process or node) drops it everywhere within
the change feed's poll, as a DisableKey does for its key.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass

from cofre.core.crypto import Aead, Random, unwrap
from cofre.core.ids import MRK_PREFIX, key_row_id
from cofre.core.kms.keys import KeyState
from cofre.core.xks.cipher import (
    IV_LENGTHS,
    MAX_AAD,
    MAX_METADATA,
    MAX_PLAINTEXT,
    TAG_LEN,
    integrity_value,
    key_aad,
    metadata_for,
    version_of,
)
from cofre.core.xks.stores import XksStore, check_store_id, secret_aad
from cofre.errors import (
    InvalidKeyUsageError,
    KeyStateError,
    NotFoundError,
    SealedError,
    UnsupportedOperationError,
    ValidationError,
)
from cofre.service.cache.keycache import CachedKey, KeyCache
from cofre.service.ports import Storage
from cofre.service.seal.keyring import Keyring

_NEGATIVE_TTL = 1.0  # how long "no such store / access key" is remembered
_MAX_ENTRIES = 4096
VENDOR = "Cofre"
MODEL = "Cofre XKS proxy 1"


@dataclass(frozen=True, slots=True)
class ServedStore:
    """A store as the proxy serves it: its secrets in the clear (memory only)."""

    store: XksStore
    secrets: dict[str, str]  # access key id -> secret
    key_ids: frozenset[str]


@dataclass(frozen=True, slots=True)
class XksKeyMetadata:
    key_spec: str
    key_usage: tuple[str, ...]
    key_status: str  # ENABLED | DISABLED


@dataclass(frozen=True, slots=True)
class XksCiphertext:
    ciphertext: bytes
    metadata: bytes
    iv: bytes
    tag: bytes
    integrity: bytes | None  # the CDIV, when asked for
    key_arn: str


class XksDirectory:
    """The stores, by id and by access key id, cached (see the module docstring)."""

    def __init__(self, storage: Storage, root: Aead) -> None:
        self._storage = storage
        self._root = root
        self._lock = threading.Lock()
        self._stores: dict[str, ServedStore] = {}
        self._by_access: dict[str, str] = {}
        self._missing: dict[str, float] = {}  # store id or access key id -> when
        self._generation = 0

    def store(self, store_id: str) -> ServedStore | None:
        hit = self._stores.get(store_id)
        if hit is not None:
            return hit
        if self._recently_missing(store_id):
            return None
        generation = self._generation
        with self._storage.read() as tx:
            store = tx.get_xks_store(store_id)
            keys = tx.xks_store_keys(store_id) if store is not None else []
        return self._remember(store_id, store, keys, generation)

    def by_access_key(self, access_key_id: str) -> ServedStore | None:
        store_id = self._by_access.get(access_key_id)
        if store_id is not None:
            return self.store(store_id)
        if self._recently_missing(access_key_id):
            return None
        generation = self._generation
        with self._storage.read() as tx:
            store = tx.xks_store_of_access_key(access_key_id)
            keys = tx.xks_store_keys(store.store_id) if store is not None else []
        if store is None:
            self._remember(access_key_id, None, [], generation)
            return None
        return self._remember(store.store_id, store, keys, generation)

    def _recently_missing(self, ref: str) -> bool:
        when = self._missing.get(ref)
        return when is not None and time.monotonic() - when < _NEGATIVE_TTL

    def _remember(
        self, ref: str, store: XksStore | None, keys: list[str], generation: int
    ) -> ServedStore | None:
        if store is None:
            with self._lock:
                if len(self._missing) >= _MAX_ENTRIES:
                    self._missing.clear()
                self._missing[ref] = time.monotonic()
            return None
        secrets = {
            c.access_key_id: unwrap(
                self._root, c.secret_wrapped, secret_aad(store.store_id, c.access_key_id)
            ).decode()
            for c in store.credentials()
        }
        served = ServedStore(store, secrets, frozenset(keys))
        if self._storage.in_transaction():
            return served
        with self._lock:
            if generation != self._generation:
                return served
            if len(self._stores) >= _MAX_ENTRIES:
                self._clear_locked()
            self._stores[store.store_id] = served
            for access_key_id in secrets:
                self._by_access[access_key_id] = store.store_id
            self._missing.pop(ref, None)
        return served

    # the key cache's listener ---------------------------------------------------------
    def invalidate(self, kind: str, ref: str) -> None:
        if kind != "xks":
            return
        with self._lock:
            self._generation += 1
            gone = self._stores.pop(ref, None)
            if gone is not None:
                for access_key_id in gone.secrets:
                    self._by_access.pop(access_key_id, None)
            self._missing.clear()

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._clear_locked()

    def _clear_locked(self) -> None:
        self._stores.clear()
        self._by_access.clear()
        self._missing.clear()


def _is_key_id(text: str) -> bool:
    """A key id (a UUID, or ``mrk-`` and 32 hex digits), not an alias name."""
    if text.startswith(MRK_PREFIX):
        rest = text[len(MRK_PREFIX) :]
        return len(rest) == 32 and all(c in "0123456789abcdef" for c in rest)
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


_USAGE = ("ENCRYPT", "DECRYPT")
_NOT_ENABLED = "The external key is not enabled."


class XksProxy:
    """The XKS operations (their inputs already decoded and checked for shape)."""

    def __init__(
        self, directory: XksDirectory, cache: KeyCache, keyring: Keyring, random: Random
    ) -> None:
        self.directory = directory
        self._cache = cache
        self._keyring = keyring
        self._random = random

    def served(self, store_id: str) -> ServedStore:
        """The store a path prefix names; NotFoundError if there is none."""
        check_store_id(store_id)
        found = self.directory.store(store_id)
        if found is None:
            raise NotFoundError("No key store is served under this path.")
        return found

    def _entry(self, served: ServedStore, external_key_id: str) -> CachedKey:
        """The Cofre key an externalKeyId names (a key id, or an alias name without its
        ``alias/``), if the store was given it; KeyNotFound otherwise (not another
        account's key, nor one of the account's keys the store was not given)."""
        store = served.store
        key_id: str | None = external_key_id
        if not _is_key_id(external_key_id):
            key_id = self._cache.alias_target(
                store.account_id, store.region, "alias/" + external_key_id
            )
        entry = None
        if key_id is not None and key_id in served.key_ids:
            entry = self._cache.key(key_row_id(key_id, store.region))
        if entry is None or entry.key.account_id != store.account_id:
            raise NotFoundError(f"External key {external_key_id} is not found.")
        return entry

    def metadata(self, served: ServedStore, external_key_id: str) -> tuple[XksKeyMetadata, str]:
        entry = self._entry(served, external_key_id)
        status = "ENABLED" if entry.key.state is KeyState.ENABLED else "DISABLED"
        return XksKeyMetadata("AES_256", _USAGE, status), entry.key.arn

    def _usable(self, served: ServedStore, external_key_id: str) -> CachedKey:
        entry = self._entry(served, external_key_id)
        key = entry.key
        if key.key_spec != "SYMMETRIC_DEFAULT" or key.key_usage != "ENCRYPT_DECRYPT":
            raise InvalidKeyUsageError("The external key does not support this operation.")
        if key.state is not KeyState.ENABLED:
            raise KeyStateError(_NOT_ENABLED)
        return entry

    def encrypt(
        self,
        served: ServedStore,
        external_key_id: str,
        plaintext: bytes,
        aad: bytes,
        integrity: bool,
    ) -> XksCiphertext:
        _limits(plaintext, aad)
        entry = self._usable(served, external_key_id)
        version_id = entry.key.current_version_id
        metadata = metadata_for(version_id)
        iv = self._random(12)
        sealed = entry.ciphers[version_id].seal(iv, plaintext, key_aad(aad, metadata))
        ciphertext, tag = sealed[:-TAG_LEN], sealed[-TAG_LEN:]
        cdiv = integrity_value(aad, metadata, iv, ciphertext, tag) if integrity else None
        return XksCiphertext(ciphertext, metadata, iv, tag, cdiv, entry.key.arn)

    def decrypt(
        self,
        served: ServedStore,
        external_key_id: str,
        ciphertext: bytes,
        metadata: bytes,
        aad: bytes,
        iv: bytes,
        tag: bytes,
    ) -> tuple[bytes, str]:
        _limits(ciphertext, aad)
        if len(metadata) > MAX_METADATA:
            raise ValidationError("ciphertextMetadata must be at most 20 bytes.")
        if len(iv) not in IV_LENGTHS:
            raise ValidationError("initializationVector must be 12 or 16 bytes.")
        if len(tag) != TAG_LEN:
            raise ValidationError("authenticationTag must be 16 bytes.")
        entry = self._usable(served, external_key_id)
        cipher = entry.ciphers[version_of(metadata, entry.ciphers)]
        plaintext = cipher.open(iv, ciphertext + tag, key_aad(aad, metadata))
        return plaintext, entry.key.arn

    def health(self) -> str:
        """ACTIVE when this node can encrypt (unsealed); SealedError otherwise."""
        if self._keyring.sealed:
            raise SealedError()
        return "ACTIVE"


def _limits(data: bytes, aad: bytes) -> None:
    """Beyond the sizes the specification requires: UnsupportedOperationException."""
    if len(data) > MAX_PLAINTEXT:
        raise UnsupportedOperationError(
            f"Cofre's XKS proxy handles at most {MAX_PLAINTEXT} bytes of data."
        )
    if len(aad) > MAX_AAD:
        raise UnsupportedOperationError(
            f"Cofre's XKS proxy handles at most {MAX_AAD} bytes of additional data."
        )
