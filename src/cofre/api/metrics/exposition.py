"""A scrape's answer: every worker's request metrics (prometheus-client's multi-process
collector over the node's metrics directory, or this process's own when the directory is
not set) and the node's state, read from the store at scrape time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cofre.api.metrics.requests import RequestMetrics, multiprocess_mode
from cofre.service.ops.stats import NodeState

CONTENT_TYPE = b"text/plain; version=0.0.4; charset=utf-8"


class _NodeCollector:
    """The node's state as metric families (nothing secret: counts and names of states
    and key specs from the key table)."""

    def __init__(self, state: NodeState | None) -> None:
        self._state = state

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        state = self._state
        up = GaugeMetricFamily(
            "cofre_node_state_readable", "Whether the scrape could read the node's state."
        )
        up.add_metric([], 0 if state is None else 1)
        yield up
        if state is None:
            return
        keys = GaugeMetricFamily(
            "cofre_keys", "KMS keys in the store, by key state and key spec.",
            labels=["state", "spec"],
        )  # fmt: skip
        for key_state, spec, count in state.keys:
            keys.add_metric([key_state, spec], count)
        yield keys
        rotations = CounterMetricFamily(
            "cofre_key_rotations",
            "Backing key versions made by rotations (automatic and on demand) still held.",
        )
        rotations.add_metric([], state.rotations)
        yield rotations
        outbox = GaugeMetricFamily(
            "cofre_webhook_outbox_depth", "Parameter Store webhook deliveries waiting."
        )
        outbox.add_metric([], state.outbox)
        yield outbox
        backlog = GaugeMetricFamily(
            "cofre_audit_journal_backlog_bytes",
            "Bytes of the audit journals not yet appended to the hash chain.",
        )
        backlog.add_metric([], state.audit_backlog)
        yield backlog
        sealed = GaugeMetricFamily("cofre_sealed", "1 while the node is sealed, else 0.")
        sealed.add_metric([], 1 if state.sealed else 0)
        yield sealed


def scrape(metrics: RequestMetrics, state: NodeState | None) -> bytes:
    """The text exposition (blocks: reads the metrics directory)."""
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_mode():
        from prometheus_client.multiprocess import MultiProcessCollector

        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        for collector in metrics.collectors():
            registry.register(collector)
    registry.register(_NodeCollector(state))
    return generate_latest(registry)
