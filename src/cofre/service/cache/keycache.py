"""In-memory caches of unwrapped key material, key state, aliases and credentials.

The hot path (Encrypt, Decrypt, GenerateDataKey with a known key) reads only from here.
Entries are dropped when the change feed (``changefeed.py``) reports a change, so a
DisableKey on one node is honoured on every node within the feed's poll interval.
A generation counter keeps a load that raced an invalidation from caching stale data.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from cofre.core.crypto import Aead, Cipher, credential_aad, key_version_aad, unwrap
from cofre.core.iam.principals import Credential, CredentialStatus
from cofre.core.kms.asymmetric import load_private
from cofre.core.kms.blob import BlobHeader
from cofre.core.kms.keys import Key
from cofre.core.kms.keyspecs import KEY_SPECS, Family
from cofre.service.ports import Storage

RELOAD_INTERVAL = 1.0


@dataclass(frozen=True, slots=True)
class CachedKey:
    key: Key
    ciphers: dict[bytes, Cipher]  # version id -> cipher (symmetric keys)
    header: bytes  # the blob header for the current version (format, key id, version id)
    loaded_at: float  # time.monotonic() of the load
    # version id -> private key object (asymmetric) or key bytes (HMAC)
    materials: dict[bytes, Any] = field(default_factory=dict)

    @property
    def current_material(self) -> Any:
        return self.materials[self.key.current_version_id]


@dataclass(frozen=True, slots=True)
class CachedCredential:
    credential: Credential
    secret: str


class Invalidated(Protocol):
    """Another cache that must forget what a change touched (e.g. policy decisions)."""

    def invalidate(self, kind: str, ref: str) -> None: ...
    def clear(self) -> None: ...


K = TypeVar("K")
V = TypeVar("V")


class _Bounded(Generic[K, V]):
    """A dict with a size bound (oldest out first) and a per-entry lifetime."""

    def __init__(self, max_entries: int, ttl: float) -> None:
        self._data: dict[K, tuple[float, V]] = {}
        self._max = max_entries
        self._ttl = ttl

    def get(self, key: K) -> V | None:
        hit = self._data.get(key)
        if hit is None:
            return None
        if time.monotonic() - hit[0] > self._ttl:
            self._data.pop(key, None)
            return None
        return hit[1]

    def put(self, key: K, value: V) -> None:
        if len(self._data) >= self._max:
            try:
                del self._data[next(iter(self._data))]
            except (StopIteration, KeyError, RuntimeError):
                pass
        self._data[key] = (time.monotonic(), value)

    def pop(self, key: K) -> None:
        self._data.pop(key, None)

    def clear(self) -> None:
        self._data.clear()


class KeyCache:
    def __init__(
        self, storage: Storage, root: Aead, max_entries: int = 20_000, ttl: float = 300.0
    ) -> None:
        self._storage = storage
        self._root = root
        self._keys: _Bounded[str, CachedKey] = _Bounded(max_entries, ttl)
        self._aliases: _Bounded[tuple[str, str, str], str] = _Bounded(max_entries, ttl)
        self._credentials: _Bounded[str, CachedCredential] = _Bounded(max_entries, ttl)
        self._generation = 0
        self._lock = threading.Lock()
        self._listeners: list[Invalidated] = []

    def add_listener(self, listener: Invalidated) -> None:
        """``listener`` hears of every invalidation, local or from the change feed."""
        self._listeners.append(listener)

    # keys ------------------------------------------------------------------------------
    def key(self, row_id: str) -> CachedKey | None:
        """The key stored under ``row_id`` (``Key.row_id``) with its ready ciphers; loaded
        from storage on a miss; None if absent."""
        hit = self._keys.get(row_id)
        if hit is not None:
            return hit
        generation = self._generation
        with self._storage.read() as tx:
            key = tx.get_key(row_id)
            versions = tx.versions(row_id) if key is not None else []
        if key is None:
            return None
        raw = {
            v.version_id: unwrap(
                self._root, v.wrapped_material, key_version_aad(key.arn, v.version_id)
            )
            for v in versions
        }
        family = KEY_SPECS[key.key_spec].family
        ciphers: dict[bytes, Cipher] = {}
        materials: dict[bytes, Any] = {}
        if family is Family.SYMMETRIC:
            ciphers = {version_id: Cipher(material) for version_id, material in raw.items()}
        elif family is Family.HMAC:
            materials = raw
        else:
            materials = {version_id: load_private(der) for version_id, der in raw.items()}
        entry = CachedKey(
            key,
            ciphers,
            BlobHeader(key.key_id, key.current_version_id).encode(),
            time.monotonic(),
            materials,
        )
        self._remember(self._keys, row_id, entry, generation)
        return entry

    def key_with_version(self, row_id: str, version_id: bytes) -> CachedKey | None:
        """Like ``key``, but reload once if the cached entry lacks ``version_id``.

        Another node may have rotated the key since this one cached it; the change feed
        would tell within a poll, but a blob made there can arrive here first. Reloads
        are limited to one per key per second so that made-up version ids cannot turn
        into database load.
        """
        entry = self.key(row_id)
        if entry is None or version_id in entry.ciphers:
            return entry
        if time.monotonic() - entry.loaded_at < RELOAD_INTERVAL:
            return entry
        with self._lock:
            self._generation += 1
            self._keys.pop(row_id)
        return self.key(row_id)

    def alias_target(self, account_id: str, region: str, name: str) -> str | None:
        """The key id (not row id) alias ``name`` of (account, Region) points to."""
        ref = (account_id, region, name)
        hit = self._aliases.get(ref)
        if hit is not None:
            return hit
        generation = self._generation
        with self._storage.read() as tx:
            alias = tx.get_alias(account_id, region, name)
        if alias is None:
            return None
        self._remember(self._aliases, ref, alias.key_id, generation)
        return alias.key_id

    # credentials -----------------------------------------------------------------------
    def credential(self, access_key_id: str) -> CachedCredential | None:
        hit = self._credentials.get(access_key_id)
        if hit is not None:
            return hit
        generation = self._generation
        with self._storage.read() as tx:
            credential = tx.get_credential(access_key_id)
        if credential is None or credential.status is not CredentialStatus.ACTIVE:
            return None
        secret = unwrap(self._root, credential.secret_wrapped, credential_aad(access_key_id))
        entry = CachedCredential(credential, secret.decode())
        self._remember(self._credentials, access_key_id, entry, generation)
        return entry

    def _remember(self, table: _Bounded[Any, Any], key: Any, value: Any, generation: int) -> None:
        """Cache a loaded value unless an invalidation happened since the load began, or
        it was read inside a transaction still open (it may roll back; other threads must
        not see it before it commits)."""
        if self._storage.in_transaction():
            return
        with self._lock:
            if generation == self._generation:
                table.put(key, value)

    # invalidation ----------------------------------------------------------------------
    def invalidate(self, kind: str, ref: str) -> None:
        with self._lock:
            self._generation += 1
            if kind == "key":
                self._keys.pop(ref)
            elif kind == "alias":
                account_id, region, name = ref.split("/", 2)
                self._aliases.pop((account_id, region, name))
            elif kind == "credential":
                self._credentials.pop(ref)
            elif kind not in ("iam", "grant", "quota", "xks", "cks"):
                self.clear_locked()
        for listener in self._listeners:
            listener.invalidate(kind, ref)

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self.clear_locked()
        for listener in self._listeners:
            listener.clear()

    def clear_locked(self) -> None:
        self._keys.clear()
        self._aliases.clear()
        self._credentials.clear()
