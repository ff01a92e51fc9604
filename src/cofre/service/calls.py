"""Mutating calls: the call's effect and its audit record in one write transaction, so
both commit or neither does (ADR 11). The use cases' own transactions join it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from cofre.core.audit.events import AuditCall
from cofre.service.ports import AuditRecorder, Storage

T = TypeVar("T")


class MutatingCalls:
    def __init__(self, storage: Storage, audit: AuditRecorder) -> None:
        self._storage = storage
        self._audit = audit

    def run(self, work: Callable[[], T], describe: Callable[[T], AuditCall]) -> T:
        """Run ``work`` and record what ``describe`` makes of its result, in one write
        transaction. If ``work`` raises, nothing is recorded here and its transaction
        rolls back; if the record or the commit fails, ``AuditUnavailableError`` or the
        storage's error, and nothing happened."""
        with self._storage.write() as tx:
            result = work()
            self._audit.record(describe(result), within=tx)
        return result
