"""Caching CMM and a local LRU materials cache (framework/caching-cmm.md,
framework/cryptographic-materials-cache.md).

The caching CMM reuses a data key for several messages, within limits: an age (required),
a number of messages (default 2^32) and a number of plaintext bytes (default 2^63 - 1).
It never caches for suites without a key derivation function (each message must then get
its own key) and never caches encryption materials when the plaintext length is unknown
(``encrypt_stream`` without ``plaintext_length``), since the byte limit could not be kept.

Cache entry identifiers follow caching-cmm.md, Appendix A, with two additions that keep
materials from being shared where they must not be: the required encryption context keys
of an encryption request (when there are any) and the reproduced encryption context of a
decrypt request (when given) are hashed into the identifier too. Without the latter, a
caller reproducing a wrong value for a pair the message does not store would be handed
materials made for the right value.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from cofre.esdk.context import serialize_encryption_context
from cofre.esdk.encrypt import resolve_cmm
from cofre.esdk.errors import ConfigurationError, DecryptError
from cofre.esdk.header import serialize_edks
from cofre.esdk.materials import (
    CryptoMaterialsManager,
    DecryptionMaterials,
    DecryptMaterialsRequest,
    EncryptionMaterials,
    EncryptionMaterialsRequest,
    Keyring,
)

MAX_MESSAGES_PER_KEY = 2**32
MAX_BYTES_PER_KEY = 2**63 - 1
_END_OF_KEYS = bytes(64)


@dataclass(frozen=True)
class CacheEntry:
    """One cached set of materials and, for encryption materials, their usage so far."""

    materials: EncryptionMaterials | DecryptionMaterials
    expires: float
    messages: int = 0
    bytes_encrypted: int = 0


class LocalCache:
    """A thread-safe, in-memory, least-recently-used cache of at most ``capacity`` entries.

    Expired entries are dropped when looked up; the least recently used entry is evicted
    when a put would exceed the capacity.
    """

    def __init__(self, capacity: int) -> None:
        # local-cryptographic-materials-cache.md: the entry capacity MUST be at least 1
        if not isinstance(capacity, int) or capacity < 1:
            raise ConfigurationError("cache capacity must be at least 1")
        self.capacity = capacity
        self._entries: OrderedDict[bytes, CacheEntry] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def _live(self, entry_id: bytes, now: float) -> CacheEntry | None:
        entry = self._entries.get(entry_id)
        if entry is None:
            return None
        if now >= entry.expires:
            del self._entries[entry_id]
            return None
        self._entries.move_to_end(entry_id)
        return entry

    def _put(self, entry_id: bytes, entry: CacheEntry) -> None:
        self._entries[entry_id] = entry
        self._entries.move_to_end(entry_id)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def get_encryption(
        self, entry_id: bytes, now: float, plaintext_length: int
    ) -> CacheEntry | None:
        """Count one more message of ``plaintext_length`` bytes; return the updated entry."""
        with self._lock:
            entry = self._live(entry_id, now)
            if entry is None or not isinstance(entry.materials, EncryptionMaterials):
                return None
            entry = replace(
                entry,
                messages=entry.messages + 1,
                bytes_encrypted=entry.bytes_encrypted + plaintext_length,
            )
            self._entries[entry_id] = entry
            return entry

    def get_decryption(self, entry_id: bytes, now: float) -> DecryptionMaterials | None:
        with self._lock:
            entry = self._live(entry_id, now)
            if entry is None or not isinstance(entry.materials, DecryptionMaterials):
                return None
            return entry.materials

    def put_encryption(
        self, entry_id: bytes, materials: EncryptionMaterials, expires: float, plaintext_length: int
    ) -> None:
        """Store materials that have already encrypted one message of ``plaintext_length``."""
        with self._lock:
            self._put(entry_id, CacheEntry(materials, expires, 1, plaintext_length))

    def put_decryption(
        self, entry_id: bytes, materials: DecryptionMaterials, expires: float
    ) -> None:
        with self._lock:
            self._put(entry_id, CacheEntry(materials, expires))

    def remove(self, entry_id: bytes) -> None:
        with self._lock:
            self._entries.pop(entry_id, None)


def _sha512(data: bytes) -> bytes:
    return hashlib.sha512(data).digest()


def _context_hash(context: Mapping[str, str]) -> bytes:
    return _sha512(serialize_encryption_context(context))


def encryption_entry_id(partition_hash: bytes, request: EncryptionMaterialsRequest) -> bytes:
    """caching-cmm.md#appendix-a: partition, [suite id], context; plus the required keys."""
    suite = request.algorithm_suite
    parts = [partition_hash]
    parts += [b"\x00"] if suite is None else [b"\x01", suite.id_bytes]
    parts.append(_context_hash(request.encryption_context))
    keys = request.required_encryption_context_keys
    if keys:
        parts.append(_context_hash(dict.fromkeys(sorted(keys), "")))
    return _sha512(b"".join(parts))


def decryption_entry_id(partition_hash: bytes, request: DecryptMaterialsRequest) -> bytes:
    """caching-cmm.md#decryption-materials: partition, suite id, sorted EDK hashes, 64 zero
    bytes, context; plus the reproduced context when one was given."""
    edk_hashes = sorted(_sha512(serialize_edks((edk,))[2:]) for edk in request.encrypted_data_keys)
    parts = [partition_hash, request.algorithm_suite.id_bytes, *edk_hashes, _END_OF_KEYS]
    parts.append(_context_hash(request.encryption_context))
    if request.reproduced_encryption_context:
        parts.append(_context_hash(request.reproduced_encryption_context))
    return _sha512(b"".join(parts))


class CachingCmm:
    """Caches the materials of an underlying CMM (or of a default CMM over ``keyring``)."""

    def __init__(
        self,
        keyring: Keyring | None = None,
        *,
        materials_manager: CryptoMaterialsManager | None = None,
        cache: LocalCache,
        max_age: float,
        max_messages_encrypted: int = MAX_MESSAGES_PER_KEY,
        max_bytes_encrypted: int = MAX_BYTES_PER_KEY,
        partition: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # caching-cmm.md#initialization: a cache, a TTL, and a CMM or a keyring
        self.underlying = resolve_cmm(keyring, materials_manager)
        if not isinstance(cache, LocalCache):
            raise ConfigurationError("cache must be a LocalCache")
        # caching-cmm.md#cache-limit-ttl: greater than zero
        if not (isinstance(max_age, int | float) and 0 < max_age and math.isfinite(max_age)):
            raise ConfigurationError("max_age must be a positive number of seconds")
        if not 1 <= max_messages_encrypted <= MAX_MESSAGES_PER_KEY:
            raise ConfigurationError(f"max_messages_encrypted must be 1 .. {MAX_MESSAGES_PER_KEY}")
        if not 0 <= max_bytes_encrypted <= MAX_BYTES_PER_KEY:
            raise ConfigurationError(f"max_bytes_encrypted must be 0 .. {MAX_BYTES_PER_KEY}")
        self.cache = cache
        self.max_age = float(max_age)
        self.max_messages_encrypted = max_messages_encrypted
        self.max_bytes_encrypted = max_bytes_encrypted
        # caching-cmm.md#partition-id: unset -> an id unique to this CMM
        self.partition = partition if partition is not None else str(uuid.uuid4())
        self._partition_hash = _sha512(self.partition.encode("utf-8"))
        self._clock = clock

    def get_encryption_materials(self, request: EncryptionMaterialsRequest) -> EncryptionMaterials:
        suite = request.algorithm_suite
        length = request.max_plaintext_length
        # caching-cmm.md#get-encryption-materials: identity KDF or no max plaintext length:
        # ask the underlying CMM and store nothing
        if length is None or (suite is not None and suite.spec.kdf_hash is None):
            return self.underlying.get_encryption_materials(request)
        entry_id = encryption_entry_id(self._partition_hash, request)
        now = self._clock()
        cacheable = length <= self.max_bytes_encrypted
        if cacheable:
            entry = self.cache.get_encryption(entry_id, now, length)
            if entry is not None:
                materials = entry.materials
                assert isinstance(materials, EncryptionMaterials)
                if self._within_limits(entry) and request.commitment_policy.allows_encrypt(
                    materials.suite
                ):
                    return materials
                self.cache.remove(entry_id)
        # caching-cmm.md: the underlying request MUST carry max plaintext length = limit bytes
        inner = replace(request, max_plaintext_length=self.max_bytes_encrypted)
        materials = self.underlying.get_encryption_materials(inner)
        if cacheable and materials.suite.spec.kdf_hash is not None:
            self.cache.put_encryption(entry_id, materials, now + self.max_age, length)
        return materials

    def _within_limits(self, entry: CacheEntry) -> bool:
        return (
            entry.messages <= self.max_messages_encrypted
            and entry.bytes_encrypted <= self.max_bytes_encrypted
        )

    def decrypt_materials(self, request: DecryptMaterialsRequest) -> DecryptionMaterials:
        suite = request.algorithm_suite
        # caching-cmm.md#decrypt-materials: identity KDF -> no caching
        if suite.spec.kdf_hash is None:
            return self.underlying.decrypt_materials(request)
        # a cached entry must not bypass the policy check of the underlying CMM
        if not request.commitment_policy.allows_decrypt(suite):
            raise DecryptError("algorithm suite is not allowed by the commitment policy")
        entry_id = decryption_entry_id(self._partition_hash, request)
        now = self._clock()
        cached = self.cache.get_decryption(entry_id, now)
        if cached is not None:
            return cached
        materials = self.underlying.decrypt_materials(request)
        self.cache.put_decryption(entry_id, materials, now + self.max_age)
        return materials
