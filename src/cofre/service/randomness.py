"""Random bytes for IVs, data keys and ids: the OS CSPRNG, read in blocks.

One ``os.urandom`` call per request costs a system call; reading 64 KiB at a time and
handing out slices gives the same bytes (each byte is used once) at a fraction of the
cost. Thread-safe; each process has its own pool (workers are spawned, never forked).
"""

from __future__ import annotations

import os
import threading

BLOCK = 64 * 1024


class RandomPool:
    def __init__(self, block: int = BLOCK) -> None:
        self._block = block
        self._buffer = b""
        self._offset = 0
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def __call__(self, n: int) -> bytes:
        if n > self._block // 4:
            return os.urandom(n)
        with self._lock:
            if os.getpid() != self._pid:  # never reuse bytes across a fork
                self._pid = os.getpid()
                self._buffer, self._offset = b"", 0
            end = self._offset + n
            if end > len(self._buffer):
                self._buffer, self._offset, end = os.urandom(self._block), 0, n
            out = self._buffer[self._offset : end]
            self._offset = end
            return out
