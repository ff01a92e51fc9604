"""Request counts and latencies, kept cheap: the hot path adds to plain dicts on the event
loop's thread (about a quarter of a microsecond); a flush, about once a second and before
each scrape, moves the sums into prometheus-client's metrics (memory-mapped files in
multi-process mode, so that a scrape of any worker sees every worker's).

Labels come from tables, never from raw input: the service is one Cofre serves and the
operation one of its model's, else ``other``; the outcome is ``ok`` or the AWS error
code of the error table.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterable, Mapping
from typing import Any

# Seconds. The hot path answers in well under a millisecond; control-plane calls commit.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
OTHER = "other"
OK = "ok"


def multiprocess_mode() -> bool:
    """Whether prometheus-client keeps its values in the multi-process directory."""
    from prometheus_client import values

    return bool(getattr(values.ValueClass, "_multiprocess", False))


class RequestMetrics:
    """Counters of one serving process; observe and flush on the event loop's thread."""

    def __init__(self, known: Mapping[str, Iterable[str]]) -> None:
        """``known``: the operations of every service served, by service name."""
        from prometheus_client import Counter, Gauge, Histogram

        self._known = {service: frozenset(ops) for service, ops in known.items()}
        self.requests = Counter(
            "cofre_requests",
            "Requests answered, by service, operation and outcome (ok or the AWS error code).",
            ["service", "operation", "outcome"],
            registry=None,
        )
        self.latency = Histogram(
            "cofre_request_duration_seconds",
            "Time from a request's arrival to its response, by service and operation.",
            ["service", "operation"],
            buckets=BUCKETS,
            registry=None,
        )
        self.key_jobs = Counter(
            "cofre_key_jobs",
            "Work the node did on keys by itself: deletions at the end of their waiting"
            " period, automatic rotations.",
            ["job"],
            registry=None,
        )
        self.pool = Gauge(
            "cofre_db_pool_connections",
            "Database connections of the serving processes' pools (PostgreSQL), by state.",
            ["state"],
            multiprocess_mode="livesum",
            registry=None,
        )
        self._bounds = (*BUCKETS, float("inf"))
        self._counts: dict[tuple[str, str, str], int] = {}
        self._latencies: dict[tuple[str, str], list[float]] = {}  # bucket counts, then sum
        self._jobs: dict[str, int] = {}
        self.pid = os.getpid()

    def collectors(self) -> list[Any]:
        return [self.requests, self.latency, self.key_jobs, self.pool]

    def labels(self, service: str, operation: str) -> tuple[str, str]:
        """The labels of a call: only names the tables hold."""
        ops = self._known.get(service)
        if ops is None:
            return OTHER, OTHER
        return service, (operation if operation in ops else OTHER)

    def observe(self, service: str, operation: str, outcome: str, seconds: float) -> None:
        """One answered call (event loop thread)."""
        ops = self._known.get(service)
        if ops is None:
            service = operation = OTHER
        elif operation not in ops:
            operation = OTHER
        key = (service, operation, outcome)
        counts = self._counts
        counts[key] = counts.get(key, 0) + 1
        latency = self._latencies.get((service, operation))
        if latency is None:
            latency = self._latencies[(service, operation)] = [0.0] * (len(self._bounds) + 1)
        latency[bisect.bisect_left(self._bounds, seconds)] += 1.0
        latency[-1] += seconds

    def job_done(self, job: str) -> None:
        """A key job finished (any thread: counted straight into the metric)."""
        self.key_jobs.labels(job).inc()

    def set_pool(self, pool: Mapping[str, int]) -> None:
        for state, value in pool.items():
            self.pool.labels(state).set(value)

    def flush(self) -> None:
        """Move what was observed since the last flush into the metrics."""
        counts, self._counts = self._counts, {}
        latencies, self._latencies = self._latencies, {}
        for (service, operation, outcome), count in counts.items():
            self.requests.labels(service, operation, outcome).inc(count)
        for (service, operation), sums in latencies.items():
            child = self.latency.labels(service, operation)
            # prometheus-client's Histogram keeps one (non-cumulative) value per bucket
            # and a sum; observe() adds 1 to the first bucket whose bound holds the value.
            buckets = child._buckets
            for index, hits in enumerate(sums[:-1]):
                if hits > 0:
                    buckets[index].inc(hits)
            child._sum.inc(sums[-1])
