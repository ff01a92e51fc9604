"""Token buckets shared by the serving processes of one node: a memory-mapped file in the
data directory (ADR 20, "One limit per node").

The file is a table of slots, 32 bytes each: an 8-byte fingerprint of the bucket's name
(0: free), the tokens left and when they were counted (``time.monotonic()``, one clock for
every process of the machine), as little-endian doubles, and 8 bytes unused. A name's
slot is found by its fingerprint, probing up to ``_PROBE`` slots; a process locks those
slots' bytes (``fcntl.lockf``) while it reads and writes them, and a mutex keeps its own
threads apart (POSIX record locks belong to the process).

Cheap on the hot path: a process leases tokens from the shared bucket in batches of up
to 1% of the rate, and spends them from memory; at rates of 100 a second or less every
request goes to the file. A lease is taken from tokens already earned, so the limit
holds for the node as a whole; what a process has leased and not yet spent is at most 1%
of the rate.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import mmap
import os
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path

from cofre.core.quotas import capacity, refill

log = logging.getLogger(__name__)

_SLOT = 32
_SLOTS = 1 << 15  # 32,768 buckets: (account, Region, quota) triples in use on a node
_PROBE = 8
_ENTRY = struct.Struct("<Qdd")
_LEASE_SHARE = 0.01


def quota_buckets(data_dir: Path) -> Path:
    """The node's bucket file."""
    return data_dir / "quota-buckets"


class SharedBuckets:
    """The node's token buckets (one file); opened on first use, in the process that
    uses it."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.monotonic) -> None:
        self._path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._map: mmap.mmap | None = None
        self._fd = -1
        self._slots: dict[str, int] = {}  # name -> first slot probed (bounded)
        self._leased: dict[str, list[float]] = {}  # name -> [tokens held, at rate]

    @staticmethod
    def reset(path: Path) -> None:
        """Forget every bucket (``cofre serve`` at start, before its workers)."""
        path.unlink(missing_ok=True)

    def _open(self) -> mmap.mmap:
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600)
        size = _SLOT * _SLOTS
        if os.fstat(fd).st_size < size:
            os.ftruncate(fd, size)
        self._fd = fd
        self._map = mmap.mmap(fd, size)
        return self._map

    def take(self, name: str, rate: float) -> bool:
        """Spend one token of bucket ``name`` (``rate`` a second); whether there was one."""
        with self._lock:
            leased = self._leased.get(name)
            if leased is not None and leased[0] >= 1.0 and leased[1] == rate:
                leased[0] -= 1.0
                return True
            lease = max(1.0, float(int(rate * _LEASE_SHARE)))
            got = self._take_shared(name, rate, lease)
            if got < 1.0:
                return False
            if len(self._leased) > 4096:
                self._leased.clear()
            self._leased[name] = [got - 1.0, rate]  # a lease ends when the rate changes
            return True

    def _take_shared(self, name: str, rate: float, lease: float) -> float:
        """Up to ``lease`` whole tokens from the shared bucket (at least 1 if it has 1)."""
        table = self._map if self._map is not None else self._open()
        first = self._slots.get(name)
        digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
        fingerprint = int.from_bytes(digest, "little") | 1
        if first is None:
            first = fingerprint % (_SLOTS - _PROBE)
            if len(self._slots) > 65536:
                self._slots.clear()
            self._slots[name] = first
        start = first * _SLOT
        fcntl.lockf(self._fd, fcntl.LOCK_EX, _SLOT * _PROBE, start, os.SEEK_SET)
        try:
            now = self._clock()
            for slot in range(first, first + _PROBE):
                offset = slot * _SLOT
                found, tokens, last = _ENTRY.unpack_from(table, offset)
                if found == 0:  # a free slot: a new bucket, full
                    tokens, last = capacity(rate), now
                elif found != fingerprint:
                    continue
                tokens = refill(tokens, last, now, rate)
                got = min(lease, float(int(tokens)))
                _ENTRY.pack_into(table, offset, fingerprint, tokens - got, now)
                return got
        finally:
            fcntl.lockf(self._fd, fcntl.LOCK_UN, _SLOT * _PROBE, start, os.SEEK_SET)
        log.warning("the quota table is full around %s: not throttled", name)
        return lease

    def close(self) -> None:
        with self._lock:
            if self._map is not None:
                self._map.close()
                os.close(self._fd)
                self._map, self._fd = None, -1
