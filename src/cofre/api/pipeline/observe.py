"""What the node tells its operators about each answered call: the request metrics
(``cofre.api.metrics``) and, with ``--log-format json``, one access log line. Both are
fed on the event loop's thread, once a response is known; neither ever holds a secret
(names from tables, an error code, a duration, ids)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import Executor

from cofre.api.http.exchange import Outgoing, Response
from cofre.api.metrics.exposition import CONTENT_TYPE, scrape
from cofre.api.metrics.requests import OK, RequestMetrics
from cofre.api.pipeline.targets import CustomTarget, JsonService
from cofre.core.audit.events import AuditCall
from cofre.service.ops.stats import NodeStats

access_log = logging.getLogger("cofre.access")

FLUSH_INTERVAL = 1.0  # seconds between moves of the counts into the shared files


class Observer:
    def __init__(
        self,
        known: Mapping[str, Iterable[str]],
        stats: NodeStats,
        *,
        count: bool = True,
        access: bool = False,
    ) -> None:
        """``known``: operations by service (label values); ``count``: keep the request
        metrics (``--metrics off``: not); ``access``: log each call."""
        self.metrics = RequestMetrics(known)
        self._stats = stats
        self._count = count
        self._access = access
        self._timer: asyncio.TimerHandle | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Flush about once a second on ``loop`` (the thread that observes)."""
        self._timer = loop.call_later(FLUSH_INTERVAL, self._tick, loop)

    def _tick(self, loop: asyncio.AbstractEventLoop) -> None:
        self.flush()
        self._timer = loop.call_later(FLUSH_INTERVAL, self._tick, loop)

    def flush(self) -> None:
        self.metrics.flush()
        pool = self._stats.pool()
        if pool:
            self.metrics.set_pool(pool)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.flush()

    def answered(self, call: AuditCall, response: Outgoing, started: float) -> None:
        """``response`` to ``call`` is ready (event loop thread)."""
        seconds = time.perf_counter() - started
        outcome = response.error_code or (OK if response.status < 400 else str(response.status))
        if self._count:
            self.metrics.observe(call.service, call.operation, outcome, seconds)
        if self._access:
            service, operation = self.metrics.labels(call.service, call.operation)
            caller = call.caller
            access_log.info(
                "%s.%s %s",
                service,
                operation,
                outcome,
                extra={
                    "request_id": call.request_id,
                    "account": caller.account_id if caller is not None else None,
                    "region": call.region or None,
                    "service": service,
                    "operation": operation,
                    "outcome": outcome,
                    "status": response.status,
                    "latency_ms": round(seconds * 1000, 3),
                },
            )

    def scrape_response(self, executor: Executor) -> Response:
        """``GET /metrics``: this worker's counts flushed now, then the node's state read
        and the exposition rendered on a thread of the pool."""
        self.flush()
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Outgoing] = loop.create_future()

        def render() -> None:
            try:
                state = self._stats.read()
            except Exception:
                logging.getLogger("cofre.api").warning("metrics: cannot read the node's state")
                state = None
            try:
                answer = Outgoing(200, scrape(self.metrics, state), CONTENT_TYPE)
            except Exception:
                logging.getLogger("cofre.api").exception("metrics: the scrape failed")
                answer = Outgoing(500, b"metrics unavailable\n", b"text/plain")
            loop.call_soon_threadsafe(_give, done, answer)

        executor.submit(render)
        return done


def known_operations(
    json_services: Iterable[JsonService],
    custom_targets: Iterable[CustomTarget],
    query_services: Mapping[str, Iterable[str]],
) -> dict[str, set[str]]:
    """Every operation name of every service served: the metrics' label values."""
    known: dict[str, set[str]] = {}
    for service in json_services:
        known.setdefault(service.signing_name, set()).update(service.model.operation_names())
    for custom in custom_targets:
        known.setdefault(custom.service, set()).update(custom.operations)
    for name, operations in query_services.items():
        known.setdefault(name, set()).update(operations)
    return known


def _give(done: asyncio.Future[Outgoing], answer: Outgoing) -> None:
    if not done.done():
        done.set_result(answer)
