"""Writing the journal: the entries of read-only and failed calls (their parameters
redacted), before the calls are answered (ADR 11, "The journal"); the calls answered on
the event loop in one turn, in one write at its end (:mod:`cofre.service.audit.turns`).

A write is a copy into a memory-mapped file (:mod:`cofre.storage.audit_journal`): it
never waits for the database, so it may run on the event loop. While the chain is too
far behind the journals (:attr:`JournalIngester.behind`, watched on the ingester's
thread), calls fail closed.
"""

from __future__ import annotations

import asyncio
import logging

from cofre.core.audit.contexts import JournalEntry
from cofre.core.audit.journal import encode_calls
from cofre.errors import AuditUnavailableError
from cofre.service.audit.ingest import JournalIngester
from cofre.service.audit.turns import Turns
from cofre.service.ports import AuditJournal, Then

log = logging.getLogger(__name__)


class JournalWriter:
    def __init__(
        self, journal: AuditJournal, ingester: JournalIngester, *, check_every: int
    ) -> None:
        """``check_every``: bytes written between the ingester's looks at the backlog,
        besides its own every second."""
        self._journal = journal
        self._ingester = ingester
        self._check_every = check_every
        self._checked = 0  # journal.written when a look was last asked for
        self._turns: Turns[tuple[JournalEntry, Then]] | None = None

    def write(self, entry: JournalEntry) -> None:
        """Journal one call now; ``AuditUnavailableError`` if it could not be written, or
        if the chain is too far behind."""
        try:
            frame = encode_calls([entry])
        except (TypeError, ValueError) as exc:  # a value JSON cannot carry
            log.exception("cannot write an audit journal entry")
            raise AuditUnavailableError() from exc
        self._append(frame)

    def write_soon(self, entry: JournalEntry, then: Then) -> None:
        """Journal one call answered on the event loop (its thread only): at once under
        light load (``then`` is told before this returns), or with the other calls of
        this turn of the loop, in one write at its end."""
        turns = self._turns
        if turns is None:
            turns = self._turns = Turns(asyncio.get_running_loop(), self._write_turn)
        if turns.batching():
            turns.add((entry, then))
            return
        try:
            self.write(entry)
        except AuditUnavailableError as error:
            then(error)
            return
        then(None)

    def _write_turn(self, items: list[tuple[JournalEntry, Then]]) -> None:
        """Write a turn's entries in one frame, and tell each caller."""
        entries = [entry for entry, _ in items]
        try:
            frame = encode_calls(entries)
        except (TypeError, ValueError):  # a value JSON cannot carry: fail just its call
            items = self._encodable(items)
            frame = encode_calls([entry for entry, _ in items]) if items else b""
        try:
            if frame:
                self._append(frame)
        except AuditUnavailableError as error:
            for _, then in items:
                then(error)
            return
        for _, then in items:
            then(None)

    @staticmethod
    def _encodable(items: list[tuple[JournalEntry, Then]]) -> list[tuple[JournalEntry, Then]]:
        """The items whose entries can be written; the others' callers are told."""
        kept = []
        for entry, then in items:
            try:
                encode_calls([entry])
            except (TypeError, ValueError):
                log.exception("cannot write an audit journal entry")
                then(AuditUnavailableError())
                continue
            kept.append((entry, then))
        return kept

    def _append(self, frame: bytes) -> None:
        if self._ingester.behind:
            raise AuditUnavailableError("The audit trail is behind its journal.")
        journal = self._journal
        journal.append(frame)
        written = journal.written
        if written - self._checked >= self._check_every:
            self._checked = written
            self._ingester.wake(watch=True)
        else:
            self._ingester.wake()

    def close(self) -> None:
        """Stop writing: the file is left for the last catch-up, which deletes it."""
        self._journal.close()
