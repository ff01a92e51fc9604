"""Follows the storage change feed and drops stale cache entries.

Sequence numbers can commit out of order on PostgreSQL (a transaction holding seq 9 may
commit after one holding seq 10), so a missing number is remembered as a gap and asked
for again until it appears or ``gap_timeout`` passes (a rolled-back transaction leaves a
permanent gap).
"""

from __future__ import annotations

import logging
import threading
import time

from cofre.service.background import report_failure
from cofre.service.cache.keycache import KeyCache
from cofre.service.ports import Storage

log = logging.getLogger(__name__)


class ChangeFollower:
    def __init__(
        self,
        storage: Storage,
        cache: KeyCache,
        interval: float = 0.2,
        gap_timeout: float = 10.0,
    ) -> None:
        self._storage = storage
        self._cache = cache
        self._interval = interval
        self._gap_timeout = gap_timeout
        self._seen = 0
        self._gaps: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        with self._storage.read() as tx:
            self._seen = tx.max_change_seq()
        self._thread = threading.Thread(target=self._run, name="cofre-changefeed", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def poll_once(self) -> int:
        """Apply every change seen since the last poll; return how many."""
        floor = min(self._gaps) - 1 if self._gaps else self._seen
        with self._storage.read() as tx:
            changes = tx.changes_after(floor, 10_000)
        now = time.monotonic()
        applied = 0
        for change in changes:
            if change.seq <= self._seen and change.seq not in self._gaps:
                continue
            self._cache.invalidate(change.kind, change.ref)
            self._gaps.pop(change.seq, None)
            for missing in range(self._seen + 1, change.seq):
                self._gaps.setdefault(missing, now)
            self._seen = max(self._seen, change.seq)
            applied += 1
        for seq, since in list(self._gaps.items()):
            if now - since > self._gap_timeout:
                del self._gaps[seq]
        return applied

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.poll_once()
            except Exception as exc:
                # Cannot tell what changed: forget everything rather than serve stale state.
                report_failure(log, "change feed poll failed; clearing caches", exc)
                self._cache.clear()
