"""The audit trail: every call recorded, durably, before its response leaves (ADR 11).

Read-only calls -- the hot path -- are written to this process's journal, their
parameters redacted (:meth:`AuditTrail.submit`, and :mod:`cofre.service.audit.journaling`
for the event loop's own path), and an ingester (:mod:`cofre.service.audit.ingest`)
builds their records and appends them to the hash chain in large batches. Mutating calls
append their records inside their own write transaction (:meth:`AuditTrail.append_in`),
as do the server's background key events.
``AuditTrail.record`` (tests, tools) commits straight to the chain through the
group-commit writer (:mod:`cofre.service.audit.group_commit`). Whatever fails to be recorded
fails its call (``AuditUnavailableError``: fail closed).

A background thread signs the chain head every ``digest_interval`` seconds when it moved
and prunes events older than the retention period (:mod:`cofre.service.audit.signing`).
Lookups are in :mod:`cofre.service.audit.lookup`, exports in
:mod:`cofre.service.audit.export`; records are built by
:mod:`cofre.service.audit.records`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import timedelta

from cofre.core.audit.chain import (
    ChainedEvent,
    ChainMac,
    chain_hash,
)
from cofre.core.audit.events import (
    SERVICE_EVENT,
    AuditCall,
    KeyUsage,
)
from cofre.core.audit.journal import JournalBatch, Prepared
from cofre.core.audit.redact import ModelSource
from cofre.core.audit.segment import chain_segment
from cofre.core.audit.template import JournalRecords
from cofre.core.crypto import Cipher, Random, derive_key
from cofre.core.kms.keys import Key
from cofre.errors import AuditUnavailableError
from cofre.service.audit.group_commit import Done, GroupCommit
from cofre.service.audit.ingest import JournalIngester
from cofre.service.audit.journaling import AuditJournaling
from cofre.service.audit.reads import TRACKING_START_META, AuditReads
from cofre.service.audit.records import RecordBuilder
from cofre.service.audit.signing import AuditSigning
from cofre.service.audit.signing_key import SigningKey
from cofre.service.authz.authorizer import Authorizer
from cofre.service.ports import AuditJournal, Clock, Storage, WriteTx

log = logging.getLogger(__name__)

_MAC_LABEL = b"audit-chain-mac"
PRELOADED = ("kms", "ssm", "iam", "sts", "cloudtrail")


@dataclass(frozen=True, slots=True)
class AuditReceipt:
    """Where a call's records went: one per receiving account."""

    event_ids: tuple[str, ...]
    seqs: tuple[int, ...]


class AuditTrail(AuditJournaling, AuditReads, AuditSigning):
    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        random: Random,
        root: Cipher,
        models: ModelSource,
        *,
        digest_interval: float = 60.0,
        retention: timedelta | None = None,
        max_batch: int = 256,
        max_wait: float = 0.0,
        authorizer: Authorizer | None = None,
        flush: bool = False,
        journal: AuditJournal | None = None,
        max_backlog: int = 256 * 1024 * 1024,
        backlog_check: int = 8 * 1024 * 1024,
    ) -> None:
        """``journal``: where the records of read-only calls go first (ADR 11, "The
        journal"); without it they are committed to the chain before their calls are
        answered."""
        self._storage = storage
        self._authorizer = authorizer
        self._clock = clock
        self._records = RecordBuilder(models, random)
        self._mac_key = derive_key(root, _MAC_LABEL)
        self._chain_mac = ChainMac(self._mac_key)
        self.flush = flush  # group commits wait for the disk (else: for the OS; ADR 11)
        self.digest_interval = digest_interval
        self.retention = retention
        self.writer: GroupCommit[Prepared, AuditReceipt] = GroupCommit(
            self._write, max_batch=max_batch, max_wait=max_wait, name="cofre-audit"
        )
        self._journal = journal
        self.ingester: JournalIngester | None = None
        self._max_backlog = max_backlog
        self._backlog_check = backlog_check  # bytes journaled between looks at the backlog
        self._backlog_checked = 0  # journal.written when the backlog was looked at
        self._behind = False
        self._behind_since = 0.0
        if journal is not None:
            self.ingester = JournalIngester(journal, storage, self._append_journaled, flush=flush)
        self._signer = SigningKey(root, random)
        self._tracking_known = False
        self._wrote = False  # whether this instance appended anything (close() signs then)
        self._stop = threading.Event()
        self._jobs: threading.Thread | None = None

    # recording ---------------------------------------------------------------------------
    def record(self, call: AuditCall) -> Future[AuditReceipt]:
        """Queue the records of ``call``; the future completes when they are committed, or
        fails with ``AuditUnavailableError``."""
        try:
            prepared = self.prepared(call)
        except AuditUnavailableError as error:
            failed: Future[AuditReceipt] = Future()
            failed.set_exception(error)
            return failed
        return self.writer.submit(prepared)

    def prepared(self, call: AuditCall) -> Prepared:
        """The records of ``call`` (``AuditUnavailableError`` if they cannot be built)."""
        return self._records.prepared(call)

    def submit(self, items: Sequence[tuple[AuditCall, Done[AuditReceipt]]]) -> None:
        """Record a burst of calls; each ``done(receipt, error)`` is called once its
        records are durable, or with the error: at once, on this thread, when they go to
        the journal (no receipt then: seqs are assigned later); from the writer thread
        when they are committed to the chain directly."""
        if self._journal is None:
            direct = []
            for call, done in items:
                try:
                    direct.append((self.prepared(call), done))
                except AuditUnavailableError as error:
                    done(None, error)
            self.writer.submit_many(direct)
            return
        entries = []
        for call, done in items:
            try:
                entries.append((self._records.journal_entry(call), done))
            except AuditUnavailableError as error:
                done(None, error)
        self.journal_many(entries)

    def record_then(self, call: AuditCall, done: Done[AuditReceipt]) -> None:
        """Record one call (see :meth:`submit`)."""
        self.submit([(call, done)])

    def record_sync(self, call: AuditCall, timeout: float = 60.0) -> AuditReceipt:
        """Record and wait (background jobs); raises ``AuditUnavailableError``."""
        try:
            return self.record(call).result(timeout)
        except TimeoutError as exc:
            raise AuditUnavailableError("The audit trail did not answer in time.") from exc

    def start_ingesting(self, *, every_journal: bool = False) -> None:
        """Empty every journal into the chain now, then keep at it in the background:
        this process's journal, or with ``every_journal`` all of them (a supervisor,
        for its workers)."""
        if self.ingester is not None:
            self.settle()
            self.ingester.start(every_journal=every_journal)

    def settle(self) -> None:
        """Bring whatever the journals hold into the chain (readers that must see every
        answered call do this first); the chain as it is if that fails."""
        if self.ingester is None:
            return
        try:
            self.ingester.catch_up()
        except Exception:
            log.warning("cannot append the audit journal to the chain", exc_info=True)

    def append_in(self, tx: WriteTx, call: AuditCall) -> AuditReceipt:
        """Append the records of ``call`` inside the caller's write transaction: they commit
        with the call's own effect or not at all. For mutating operations, so that an audit
        failure leaves no unaudited effect (the pipeline wraps the handler in an outer write
        transaction, which the use case's own transaction joins). Takes the chain lock, so
        it belongs at the end of the transaction."""
        prepared = self.prepared(call)
        try:
            return self._append(tx, [prepared], note_start=True)[0]
        except Exception as exc:
            log.warning("cannot append the audit record of %s.%s", call.service, call.operation)
            raise AuditUnavailableError() from exc

    def key_event(self, tx: WriteTx, name: str, key: Key) -> None:
        """A background event on ``key`` (rotation, deletion, expiry of imported material),
        recorded inside the transaction that does it (``KeyEvents``)."""
        call = AuditCall(
            time=self._clock.now(),
            service="kms",
            operation=name,
            region=key.region,
            caller=None,
            resources=(key.arn,),
            event_type=SERVICE_EVENT,
            account_id=key.account_id,
            extra={"keyId": key.key_id},
        )
        self.append_in(tx, call)

    def _append_journaled(self, tx: WriteTx, batch: JournalBatch) -> None:
        """Append what the journal held (the ingester's transaction), building the
        records of its calls first."""
        if batch.calls:
            records = JournalRecords()
            self._records.render_journaled(records, batch.calls)
            batch.add_records(records)
        if not batch.bodies:
            return
        state = tx.lock_audit_chain()
        segment, head = chain_segment(
            state.head_hash,
            state.head_seq + 1,
            batch.bodies,
            batch.times,
            batch.accounts,
            self._chain_mac,
        )
        tx.append_audit_segment(segment, head, list(batch.usages.values()))
        self._note_tracking_start(tx)  # batches are large: one more read is nothing
        self._wrote = True

    def _write(self, batch: list[Prepared]) -> list[AuditReceipt]:
        with self._storage.write(flush=self.flush) as tx:
            receipts = self._append(tx, batch, note_start=not self._tracking_known)
        self._tracking_known = True  # committed
        return receipts

    def _append(
        self, tx: WriteTx, batch: list[Prepared], *, note_start: bool
    ) -> list[AuditReceipt]:
        receipts: list[AuditReceipt] = []
        rows: list[ChainedEvent] = []
        usages: list[KeyUsage] = []
        state = tx.lock_audit_chain()
        seq, prev = state.head_seq, state.head_hash
        for prepared in batch:
            seqs = []
            for body, index in prepared.entries:
                seq += 1
                prev = chain_hash(prev, seq, body)
                mac = self._chain_mac(seq, prev)
                rows.append(ChainedEvent(seq, body, prev, mac, index))
                seqs.append(seq)
            usages.extend(prepared.usages)
            event_ids = tuple(index.event_id for _, index in prepared.entries)
            receipts.append(AuditReceipt(event_ids, tuple(seqs)))
        latest: dict[str, KeyUsage] = {}  # one upsert per key and batch
        for usage in usages:
            if usage.key_arn not in latest or usage.time >= latest[usage.key_arn].time:
                latest[usage.key_arn] = usage
        tx.append_audit_events(rows, list(latest.values()))
        if note_start:
            self._note_tracking_start(tx)
        self._wrote = True
        return receipts

    def _note_tracking_start(self, tx: WriteTx) -> None:
        if tx.get_meta(TRACKING_START_META) is None:
            tx.set_meta(TRACKING_START_META, self._clock.now().isoformat())

    # background ------------------------------------------------------------------------------
    def start(self, *, ingest: bool = True) -> None:
        """Sign digests (and prune) in the background; with ``ingest``, first empty the
        journals left by earlier processes into the chain (before any call is answered),
        then keep emptying this process's."""
        if ingest:
            self.start_ingesting()
        if self._jobs is None:
            self._jobs = threading.Thread(
                target=self._run_jobs, name="cofre-audit-jobs", daemon=True
            )
            self._jobs.start()

    def run_jobs(self) -> None:
        self.sign_head()
        if self.retention is not None:
            self.prune(self._clock.now() - self.retention)

    def _run_jobs(self) -> None:
        for service in PRELOADED:  # so that no request pays for loading a model
            try:
                self._records.redactor.load(service)
            except Exception:
                log.exception("cannot load the %s model for audit records", service)
        while not self._stop.wait(self.digest_interval):
            try:
                self.run_jobs()
            except Exception:
                log.exception("audit digest or pruning failed; retrying at the next interval")

    def close(self) -> None:
        """Write what is queued, stop the background thread, and sign the head if this
        instance appended to the chain (a reader, such as ``cofre audit verify``, signs
        nothing)."""
        self._stop.set()
        self.writer.close()
        if self._journal is not None and self.ingester is not None:
            self._journal.close()  # its file is abandoned now: the last catch-up deletes it
            self.ingester.stop()
            self.settle()
        if self._jobs is not None:
            self._jobs.join(timeout=10)
        if not self._wrote:
            return
        try:
            self.sign_head()
        except Exception:
            log.warning("could not sign the audit chain head at shutdown", exc_info=True)
