"""The audit trail: every call recorded, durably, before its response leaves.

``AuditTrail.record(call)`` builds the CloudTrail record(s) of a call on the caller's
thread (redaction, canonical JSON) and queues them for the group-commit writer
(:mod:`cofre.service.audit_writer`), which appends each batch to the hash chain in one
write transaction: lock the chain head, number and hash the rows, insert them, move the
head. The returned future completes once that transaction committed; if it failed, every
future of the batch fails with ``AuditUnavailableError`` and the caller must answer with
an error (fail closed).

A background thread signs the chain head every ``digest_interval`` seconds when it moved
(Ed25519; the private key is stored wrapped under the root key, the public key in the
clear) and prunes events older than the retention period, leaving a signed anchor so that
what is kept still verifies. Lookups (CloudTrail's LookupEvents) are in
:mod:`cofre.service.audit_lookup`, exports in :mod:`cofre.service.audit_export`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta

from cofre.core.audit import AuditCall, KeyUsage, build_event, key_usages, recipients
from cofre.core.audit_chain import (
    Anchor,
    ChainedEvent,
    DigestKind,
    EventIndex,
    SignedDigest,
    canonical_json,
    chain_hash,
    chain_mac,
    index_event,
    load_public_key,
    sign_digest,
)
from cofre.core.audit_redact import ModelRedactor, ModelSource
from cofre.core.audit_verify import Problem, ProblemKind, VerifyReport, verify_trail
from cofre.core.crypto import Cipher, Random, derive_key
from cofre.core.principals import Caller
from cofre.errors import AccessDeniedError, AuditUnavailableError
from cofre.service.audit_keys import PUBLIC_KEY_META, SigningKey
from cofre.service.audit_lookup import LookupPage, lookup_events
from cofre.service.audit_writer import GroupCommit
from cofre.service.authz import Authorizer
from cofre.service.ports import Clock, Storage, WriteTx

log = logging.getLogger(__name__)

TRACKING_START_META = "audit_tracking_start"  # when this database began recording
_MAC_LABEL = b"audit-chain-mac"
PRELOADED = ("kms", "ssm", "iam", "sts", "cloudtrail")
MAX_EVENT_BYTES = 256 * 1024  # CloudTrail's limit for one event
_READ_BATCH = 1000
_PRUNE_BATCH = 10_000


@dataclass(frozen=True, slots=True)
class AuditReceipt:
    """Where a call's records went: one per receiving account."""

    event_ids: tuple[str, ...]
    seqs: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class _Prepared:
    entries: tuple[tuple[bytes, EventIndex], ...]
    usages: tuple[KeyUsage, ...]


class AuditTrail:
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
        max_wait: float = 0.002,
        authorizer: Authorizer | None = None,
    ) -> None:
        self._storage = storage
        self._authorizer = authorizer
        self._clock = clock
        self._random = random
        self._root = root
        self._redactor = ModelRedactor(models)
        self._mac_key = derive_key(root, _MAC_LABEL)
        self.digest_interval = digest_interval
        self.retention = retention
        self.writer: GroupCommit[_Prepared, AuditReceipt] = GroupCommit(
            self._write, max_batch=max_batch, max_wait=max_wait, name="cofre-audit"
        )
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
            prepared = self._prepare(call)
        except Exception as exc:
            log.exception("cannot build the audit record of %s.%s", call.service, call.operation)
            failed: Future[AuditReceipt] = Future()
            error = AuditUnavailableError()
            error.__cause__ = exc
            failed.set_exception(error)
            return failed
        return self.writer.submit(prepared)

    def record_sync(self, call: AuditCall, timeout: float = 60.0) -> AuditReceipt:
        """Record and wait (background jobs); raises ``AuditUnavailableError``."""
        try:
            return self.record(call).result(timeout)
        except TimeoutError as exc:
            raise AuditUnavailableError("The audit trail did not answer in time.") from exc

    def _new_id(self) -> str:
        """A random (version 4) UUID, formatted without the uuid module's overhead."""
        raw = bytearray(self._random(16))
        raw[6] = (raw[6] & 0x0F) | 0x40
        raw[8] = (raw[8] & 0x3F) | 0x80
        h = raw.hex()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"

    def _prepare(self, call: AuditCall) -> _Prepared:
        accounts = recipients(call)
        shared = self._new_id() if len(accounts) > 1 else None
        entries: list[tuple[bytes, EventIndex]] = []
        usages: list[KeyUsage] = []
        for account in accounts:
            event_id = self._new_id()
            event = build_event(
                call,
                event_id,
                redactor=self._redactor,
                recipient=account,
                shared_event_id=shared,
            )
            body = canonical_json(event)
            if len(body) > MAX_EVENT_BYTES:
                event["requestParameters"] = event["responseElements"] = None
                event["additionalEventData"] = {"parametersOmitted": "the event was too large"}
                body = canonical_json(event)
            entries.append((body, index_event(event, call.time)))
            usages.extend(key_usages(call, event_id, account))
        return _Prepared(tuple(entries), tuple(usages))

    def append_in(self, tx: WriteTx, call: AuditCall) -> AuditReceipt:
        """Append the records of ``call`` inside the caller's write transaction: they commit
        with the call's own effect or not at all. For mutating operations, so that an audit
        failure leaves no unaudited effect (the pipeline wraps the handler in an outer write
        transaction, which the use case's own transaction joins). Takes the chain lock, so
        it belongs at the end of the transaction."""
        try:
            prepared = self._prepare(call)
        except Exception as exc:
            raise AuditUnavailableError() from exc
        return self._append(tx, [prepared], note_start=True)[0]

    def _write(self, batch: list[_Prepared]) -> list[AuditReceipt]:
        with self._storage.write() as tx:
            receipts = self._append(tx, batch, note_start=not self._tracking_known)
        self._tracking_known = True  # committed
        return receipts

    def _append(
        self, tx: WriteTx, batch: list[_Prepared], *, note_start: bool
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
                mac = chain_mac(self._mac_key, seq, prev)
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

    # signing -------------------------------------------------------------------------------
    def public_key_pem(self) -> str | None:
        """The PEM of the digest signing key; None until the first digest was signed."""
        with self._storage.read() as tx:
            return tx.get_meta(PUBLIC_KEY_META)

    def sign_head(self) -> SignedDigest | None:
        """Sign the chain head if it moved since the last digest."""
        with self._storage.write() as tx:
            state = tx.lock_audit_chain()
            if state.head_seq <= state.digest_seq:
                return None
            private = self._signer.key(tx)
            now = self._clock.now()
            first = state.digest_seq + 1
            signature = sign_digest(private, first, state.head_seq, state.head_hash, now)
            digest = SignedDigest(first, state.head_seq, state.head_hash, now, signature)
            tx.insert_audit_digest(digest)
            return digest

    def prune(self, older_than: datetime) -> int:
        """Delete the events older than ``older_than`` (the longest such run from the start
        of the trail) and leave a signed anchor; returns how many were deleted."""
        total = 0
        while True:
            with self._storage.write() as tx:
                state = tx.lock_audit_chain()
                point = tx.audit_prune_point(older_than, state.anchor.seq, _PRUNE_BATCH)
                if point is None:
                    return total
                private = self._signer.key(tx)
                now = self._clock.now()
                signature = sign_digest(
                    private, point.seq, point.seq, point.hash, now, DigestKind.ANCHOR
                )
                total += tx.prune_audit(Anchor(point.seq, point.hash, now, signature))

    # background ------------------------------------------------------------------------------
    def start(self) -> None:
        """Sign digests (and prune) in the background."""
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
                self._redactor.load(service)
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
        if self._jobs is not None:
            self._jobs.join(timeout=10)
        if not self._wrote:
            return
        try:
            self.sign_head()
        except Exception:
            log.warning("could not sign the audit chain head at shutdown", exc_info=True)

    # reading -----------------------------------------------------------------------------------
    def events(self, after: int = -1, until_seq: int | None = None) -> Iterator[ChainedEvent]:
        """Stored rows in ascending seq, read in batches (one read transaction each)."""
        while True:
            with self._storage.read() as tx:
                rows = tx.audit_events_after(after, _READ_BATCH, until_seq)
            yield from rows
            if len(rows) < _READ_BATCH:
                return
            after = rows[-1].seq

    def digests(self, after: int = -1) -> Iterator[SignedDigest]:
        while True:
            with self._storage.read() as tx:
                rows = tx.audit_digests_after(after, _READ_BATCH)
            yield from rows
            if len(rows) < _READ_BATCH:
                return
            after = rows[-1].last_seq

    def verify(self, max_problems: int = 100) -> VerifyReport:
        """Check the whole stored trail (chain, MACs, lookup columns, digests, anchor)."""
        with self._storage.read() as tx:
            state = tx.audit_chain_state()
            pem = tx.get_meta(PUBLIC_KEY_META)
        public = load_public_key(pem) if pem else None
        report = verify_trail(
            self.events(-(2**62), state.head_seq),
            self.digests(),
            state.anchor,
            public_key=public,
            mac_key=self._mac_key,
            head=(state.head_seq, state.head_hash),
            max_problems=max_problems,
        )
        with self._storage.read() as tx:  # rows past the head as it is now were never chained
            head = tx.audit_chain_state().head_seq
            beyond = tx.audit_events_after(head, 1)
        if beyond:
            report.problem_count += 1
            report.problems.append(
                Problem(
                    ProblemKind.INSERTED,
                    beyond[0].seq,
                    beyond[0].index.event_id,
                    f"a row after the chain head (seq {head}): it was never chained",
                )
            )
        return report

    def lookup(
        self,
        caller: Caller,
        *,
        attributes: Sequence[tuple[str, str]] = (),
        start: datetime | None = None,
        end: datetime | None = None,
        max_results: int | None = None,
        next_token: str | None = None,
        insights: bool = False,
    ) -> LookupPage:
        """LookupEvents for the caller's account and Region (``cloudtrail:LookupEvents``)."""
        if self._authorizer is None:
            raise AccessDeniedError("Event lookup is not available here.")
        return lookup_events(
            self._storage,
            self._authorizer,
            caller,
            attributes=attributes,
            start=start,
            end=end,
            max_results=max_results,
            next_token=next_token,
            insights=insights,
        )

    def key_last_usage(self, key_arn: str) -> KeyUsage | None:
        """GetKeyLastUsage: the last successful cryptographic use of the key."""
        with self._storage.read() as tx:
            return tx.key_last_usage(key_arn)

    def tracking_start(self) -> datetime | None:
        """When this database began recording (GetKeyLastUsage's TrackingStartDate is the
        later of this and the key's creation)."""
        with self._storage.read() as tx:
            stored = tx.get_meta(TRACKING_START_META)
        return None if stored is None else datetime.fromisoformat(stored)
