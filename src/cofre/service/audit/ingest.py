"""Emptying the audit journal into the chain (ADR 11, "The journal").

Read-only calls -- the hot path: Encrypt, Decrypt, GenerateDataKey, Sign... -- answer once
they are in the journal (:class:`~cofre.service.ports.AuditJournal`). An ingester builds
their records and appends them to the hash chain soon after, in large batches: one write
transaction takes whatever whole frames a journal holds past the offset recorded in the
database, appends their records as one segment and moves that offset, all under the
chain lock -- so every frame is appended exactly once, whichever process or node gets to
it first, and a crash between the two leaves nothing half done.

Any process may empty any journal of its data directory (lookups do, to see the calls
just answered by a sibling worker); only one whose writer is gone (its lock is free) is
deleted, once it is all in. Readers that must see every answered call -- LookupEvents,
GetKeyLastUsage, ``cofre audit verify`` and ``export`` -- catch up first.

The same thread watches the backlog -- the bytes of the journals that the chain does not
hold yet -- in every serving process, appending or not: while it is over the limit
(appending has stopped: the database refuses, say), :attr:`JournalIngester.behind` is
set and the journal's writer fails calls closed. Reading the offsets takes the database,
so it is done here, never on a thread that answers requests.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from cofre.core.audit.contexts import Contexts
from cofre.core.audit.journal import JournalBatch, Stop, decode_frames, frame_length
from cofre.service.background import report_failure
from cofre.service.ports import AuditJournal, Storage, WriteTx

log = logging.getLogger(__name__)

OFFSET_META = "audit-journal:"  # + file name: how far the chain holds that journal
_READ_BYTES = 4 * 1024 * 1024  # per transaction
_LINGER = 0.01  # seconds an ingester waits after a wake-up, so that batches are large
_POLL = 0.1  # seconds between looks at every journal (an ingester for other processes)
_SWEEP = 1.0  # seconds between looks for other processes' leftovers
_RETRY = 0.5  # seconds after a failed append
_NICENESS = 5  # an ingester for other processes yields the CPU to them (it has no deadline)
_WATCH = 1.0  # seconds between looks at the backlog
_WATCH_BEHIND = 0.1  # ... while it is over the limit

Append = Callable[[WriteTx, JournalBatch], object]


class JournalIngester:
    def __init__(
        self,
        journal: AuditJournal,
        storage: Storage,
        append: Append,
        *,
        flush: bool,
        max_backlog: int = 256 * 1024 * 1024,
        paused: Callable[[], bool] = lambda: False,
    ) -> None:
        """``paused``: while it says so (a sealed node: no MAC key), nothing is appended;
        the journal keeps the calls, and they are appended once it no longer does."""
        self._journal = journal
        self._storage = storage
        self._append = append
        self._flush = flush
        self._max_backlog = max_backlog
        self._paused = paused
        self._lock = threading.Lock()  # one catch-up at a time in this process
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._ingesting = False
        self._every = False
        self._watch_due = False
        self._offsets: dict[str, int] = {}  # name -> offset known to be in the chain
        self._stored: dict[str, int] = {}  # name -> offset the database last said
        self._corrupt: set[str] = set()  # reported once, left for the operator
        self._contexts = Contexts()  # of the journaled calls, parsed once each
        self.behind = False  # the backlog is over the limit: journaling fails closed
        self.failing: str | None = None  # why the last append to the chain failed, if it did

    def backlog(self) -> int:
        """Bytes of the journals not yet in the chain (all of them, whoever writes or
        appends them), as the database says -- or, when it cannot be read, as it said
        last (so a backlog that grows while the database is away is seen growing)."""
        names = self._journal.names()
        try:
            with self._storage.read() as tx:
                done = [int(tx.get_meta(OFFSET_META + name) or 0) for name in names]
            self._stored = dict(zip(names, done, strict=True))
        except Exception:
            log.warning("cannot read the audit journal offsets; using the last known")
            done = [self._stored.get(name, 0) for name in names]
        total = 0
        for name, offset in zip(names, done, strict=True):
            start, end = self._journal.extent(name) or (0, 0)
            total += max(0, end - max(offset, start))
        return total

    def watch(self) -> bool:
        """Look at the backlog now (a thread that may block); whether it is over the
        limit, which :attr:`behind` then says until the next look."""
        self._watch_due = False
        self.behind = self.backlog() > self._max_backlog
        return self.behind

    def wake(self, *, watch: bool = False) -> None:
        """Something was journaled: append it soon; with ``watch``, look at the backlog
        too (the writer asks every few MiB)."""
        if watch:
            self._watch_due = True
        if self._thread is not None and (watch or self._ingesting) and not self._wake.is_set():
            self._wake.set()

    def start(self, *, ingest: bool = True, every_journal: bool = False) -> None:
        """Work in the background: watch the backlog, and with ``ingest`` append this
        process's journal, woken by its appends -- or with ``every_journal`` (``cofre
        serve``'s supervisor, for its workers) every journal of the directory, looked at
        every few milliseconds."""
        self._ingesting = ingest or every_journal
        self._every = every_journal
        if self._thread is None:
            thread = threading.Thread(target=self._run, name="cofre-audit-ingest", daemon=True)
            self._thread = thread
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            self._thread = None

    def _run(self) -> None:
        """Empty this process's journal shortly after each append (responses do not wait
        for this, so it lingers to batch), or every journal every few milliseconds; sweep
        up other processes' leftovers now and then; watch the backlog."""
        if self._every:
            try:  # this thread only (Linux: a thread id is a process id to setpriority)
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _NICENESS)
            except (OSError, AttributeError):
                log.info("cannot lower the audit ingester's priority; it runs at normal priority")
        swept = watched = 0.0
        while not self._stop.is_set():
            wait = _POLL if self._every else _SWEEP
            if self.behind:
                wait = min(wait, _WATCH_BEHIND)
            if self._wake.wait(wait) and self._ingesting:
                self._stop.wait(_LINGER)
            self._wake.clear()
            now = time.monotonic()
            failed = False
            if self._ingesting and not self._paused():
                try:
                    if now - swept >= _SWEEP:
                        self.catch_up()
                        swept = now
                    else:
                        self._ingest_current()
                except Exception as exc:
                    report_failure(log, "cannot append the audit journal to the chain", exc)
                    self.failing = getattr(exc, "message", None) or type(exc).__name__
                    failed = True
                else:
                    self.failing = None
            if (
                self._watch_due
                or failed
                or now - watched >= (_WATCH_BEHIND if self.behind else _WATCH)
            ):
                watched = now
                try:
                    self.watch()
                except Exception as exc:
                    report_failure(log, "cannot look at the audit journal's backlog", exc)
            if failed:
                self._stop.wait(_RETRY)

    def _ingest_current(self) -> None:
        """Append what this process's journal holds (or every journal's, for a
        supervisor)."""
        with self._lock:
            names = self._journal.names() if self._every else [self._journal.current]
            for name in names:
                if name:
                    self._ingest(name)

    def catch_up(self) -> int:
        """Append every whole frame of every journal to the chain; delete the journals
        whose writer is gone once they are all in. How many records were appended."""
        total = 0
        if self._paused():
            return total
        with self._lock:
            for name in self._journal.names():
                total += self._ingest(name)
                with self._journal.abandoned(name) as free:
                    if free:
                        total += self._ingest(name, writer_gone=True)
                        self._remove_if_done(name)
        return total

    def _ingest(self, name: str, *, writer_gone: bool = False) -> int:
        """Append what journal ``name`` holds now (not what is written meanwhile: under
        load that would be a transaction per few records, where waiting makes batches
        large). ``writer_gone``: the caller holds the file's lock."""
        extent = self._journal.extent(name)
        if extent is None or name in self._corrupt:
            return 0
        total = 0
        while self._offsets.get(name, -1) < extent[1]:
            stop, appended = self._ingest_once(name, extent)
            total += appended
            if stop is Stop.CORRUPT:
                self._damaged(name, writer_gone)
                return total
            if appended == 0:
                return total
        return total

    def _damaged(self, name: str, writer_gone: bool) -> None:
        """A frame of ``name`` does not read whole. While its writer is there, that may
        be a frame whose end was seen before its bytes (the writer copies into a memory
        map: another CPU may see the stores out of order): look again later. Without a
        writer, it is damage: report it once and leave the file to the operator."""
        if not writer_gone:
            with self._journal.abandoned(name) as free:  # (a second lock would fail)
                if not free:
                    return
        self._corrupt.add(name)
        log.error(
            "audit journal %s holds a damaged frame at offset %d; it is left in place",
            name, self._offsets.get(name, 0),
        )  # fmt: skip

    def _ingest_once(self, name: str, extent: tuple[int, int]) -> tuple[Stop, int]:
        """One transaction: the whole frames past the recorded offset, up to a few MiB
        (and not past ``extent``'s end: what follows is not written yet)."""
        journal = self._journal
        start, end = extent
        with self._storage.write(flush=self._flush) as tx:
            tx.lock_audit_chain()
            offset = max(start, int(tx.get_meta(OFFSET_META + name) or 0))
            data = journal.read(name, offset, max(0, min(_READ_BYTES, end - offset)))
            batch, used, stop = decode_frames(data, self._contexts)
            if not used and stop is Stop.PARTIAL:
                needed = frame_length(data)
                if needed is not None and len(data) < needed <= end - offset:  # one big frame
                    data = journal.read(name, offset, needed)
                    batch, used, stop = decode_frames(data, self._contexts)
            if used:
                self._append(tx, batch)
                tx.set_meta(OFFSET_META + name, str(offset + used))
        self._offsets[name] = offset + used
        return stop, len(batch)

    def _remove_if_done(self, name: str) -> None:
        """Delete an abandoned journal that the chain holds all of (the caller holds its
        lock). A torn last frame -- a crash mid-write -- was never acknowledged."""
        extent = self._journal.extent(name)
        if extent is None or name in self._corrupt:
            return
        start, end = extent
        done = max(start, self._offsets.get(name, 0))
        if done < end:
            tail = self._journal.read(name, done, end - done)
            if decode_frames(tail)[2] is not Stop.PARTIAL:
                return
            log.warning("audit journal %s ends in a torn frame (%d bytes)", name, end - done)
        self._journal.remove(name)
