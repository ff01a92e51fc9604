"""Writing the journal: the entries of read-only calls (their parameters redacted), one
frame per write, before the calls are answered; failing closed when the chain is too far
behind (ADR 11, "The journal"). A base of :class:`cofre.service.audit.trail.AuditTrail`."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from cofre.core.audit.contexts import Succeeded
from cofre.core.audit.events import AuditCall
from cofre.core.audit.journal import encode_calls
from cofre.errors import AuditUnavailableError
from cofre.service.audit.group_commit import Done
from cofre.service.audit.ingest import JournalIngester
from cofre.service.audit.records import RecordBuilder
from cofre.service.ports import AuditJournal

log = logging.getLogger(__name__)


class AuditJournaling:
    _records: RecordBuilder
    _journal: AuditJournal | None
    ingester: JournalIngester | None
    _max_backlog: int
    _backlog_check: int  # bytes journaled between looks at the backlog
    _backlog_checked: int  # journal.written when the backlog was looked at
    _behind: bool
    _behind_since: float

    def journal_entry(self, call: AuditCall) -> list[Any]:
        """What the journal keeps of ``call``; ``AuditUnavailableError`` if it cannot be
        built."""
        return self._records.journal_entry(call)

    def success_entry(self, call: Succeeded, resources: tuple[str, ...]) -> list[Any]:
        """:meth:`journal_entry` of the call ``call`` makes if it succeeded, touching
        ``resources``, without building that call (the event loop's path)."""
        return self._records.success_entry(call, resources)

    @property
    def journaled(self) -> bool:
        """Whether records are journaled (``AuditTrail.submit`` then completes before it
        returns)."""
        return self._journal is not None

    def journal_many(self, items: Sequence[tuple[list[Any], Done[Any]]]) -> None:
        """Write journal entries (:meth:`journal_entry`) in one frame; each ``done`` is
        called at once, on this thread, with the error if its entry could not be written."""
        entries = [entry for entry, _ in items]
        dones = [done for _, done in items]
        try:
            frame = encode_calls(entries) if entries else b""
        except (TypeError, ValueError):  # a value orjson cannot write: fail just its call
            frame, dones = self._encodable(entries, dones)
        try:
            self._write_journal(frame)
        except AuditUnavailableError as error:
            for done in dones:
                done(None, error)
            return
        for done in dones:
            done(None, None)

    def journal_now(self, entry: list[Any]) -> None:
        """Write one journal entry now (the event loop's path under light load);
        ``AuditUnavailableError`` if it could not be written."""
        try:
            frame = encode_calls([entry])
        except (TypeError, ValueError) as exc:
            log.exception("cannot write an audit journal entry")
            raise AuditUnavailableError() from exc
        self._write_journal(frame)

    @staticmethod
    def _encodable(
        entries: list[list[Any]], dones: list[Done[Any]]
    ) -> tuple[bytes, list[Done[Any]]]:
        """The frame of those ``entries`` that can be written, and their callbacks; the
        others' calls fail."""
        kept: list[list[Any]] = []
        kept_dones: list[Done[Any]] = []
        for entry, done in zip(entries, dones, strict=True):
            try:
                encode_calls([entry])
            except (TypeError, ValueError):
                log.exception("cannot write an audit journal entry")
                done(None, AuditUnavailableError())
                continue
            kept.append(entry)
            kept_dones.append(done)
        return (encode_calls(kept) if kept else b""), kept_dones

    def _write_journal(self, frame: bytes) -> None:
        """Write ``frame`` to the journal (one write); ``AuditUnavailableError`` if it
        cannot, or if the chain is too far behind it."""
        writer, ingester = self._journal, self.ingester
        assert writer is not None and ingester is not None
        if writer.written - self._backlog_checked >= self._backlog_check or self._behind:
            self._check_backlog()
        if frame:
            writer.append(frame)
            ingester.wake()

    def _check_backlog(self) -> None:
        """Fail closed while the journals hold more than ``max_backlog`` bytes that the
        chain does not (appending has stopped: the database refuses, say); looked at
        every few MiB written, and at most every 100 ms while behind."""
        writer, ingester = self._journal, self.ingester
        assert writer is not None and ingester is not None
        now = time.monotonic()
        if self._behind and now - self._behind_since < 0.1:
            raise AuditUnavailableError("The audit trail is behind its journal.")
        self._backlog_checked = writer.written
        self._behind = ingester.backlog() > self._max_backlog
        self._behind_since = now
        if self._behind:
            ingester.wake()
            raise AuditUnavailableError("The audit trail is behind its journal.")
