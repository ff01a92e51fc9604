"""Whether this node can serve: it is unsealed, and storage and the audit trail can be
written (readiness).

A check writes one row (the database must take a write, not only answer a read) and asks
the audit trail whether it takes records; it blocks, so it runs on a worker thread, at
most once a second whatever the number of probes (a load balancer's, a kubelet's).
Liveness -- the process answers at all -- needs none of this and is answered on the event
loop (``GET /health/live``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from cofre.errors import CofreError
from cofre.service.ports import Clock, Storage

PROBE_META = "health_probe"
OK = "ok"


@dataclass(frozen=True, slots=True)
class HealthReport:
    components: Mapping[str, str]  # name -> "ok", or why not

    @property
    def ready(self) -> bool:
        return all(state == OK for state in self.components.values())

    @property
    def sealed(self) -> bool:
        return self.components.get("seal", OK) != OK


class Health:
    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        audit_problem: Callable[[], str | None],
        sealed: Callable[[], bool] = lambda: False,
        *,
        ttl: float = 1.0,
    ) -> None:
        self._storage = storage
        self._clock = clock
        self._audit_problem = audit_problem
        self._sealed = sealed
        self._ttl = ttl
        self._lock = threading.Lock()
        self._last: tuple[float, HealthReport] | None = None

    def check(self) -> HealthReport:
        """The components' states, looked at now or within the last ``ttl`` seconds; a
        change of the seal (a cheap flag) is told at once, never from the cache."""
        with self._lock:
            seal = "sealed: operators must unseal it" if self._sealed() else OK
            last = self._last
            fresh = last is not None and time.monotonic() - last[0] < self._ttl
            if last is not None and fresh and last[1].components["seal"] == seal:
                return last[1]
            components = {"seal": seal, "storage": self._storage_state(), "audit": self._audit()}
            report = HealthReport(components)
            self._last = (time.monotonic(), report)
            return report

    def _storage_state(self) -> str:
        try:
            with self._storage.write() as tx:
                tx.set_meta(PROBE_META, self._clock.now().isoformat())
        except CofreError as error:
            return error.message or type(error).__name__
        return OK

    def _audit(self) -> str:
        problem = self._audit_problem()
        return OK if problem is None else problem
