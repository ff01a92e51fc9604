"""The health report is cached a second, but never hides a change of the seal: a node
unsealed a moment after a probe answers ready at once (and sealed at once)."""

from __future__ import annotations

from cofre.service.clock import SystemClock
from cofre.service.health import Health
from cofre.storage.sqlite import SqliteStorage


def test_unsealing_is_told_at_once_though_the_report_is_cached(storage: SqliteStorage) -> None:
    sealed = [True]
    health = Health(storage, SystemClock(), lambda: None, lambda: sealed[0], ttl=3600.0)
    assert health.check().sealed and not health.check().ready
    sealed[0] = False
    report = health.check()
    assert not report.sealed and report.ready
    assert health.check() is report  # otherwise the cache holds
    sealed[0] = True
    assert health.check().sealed
