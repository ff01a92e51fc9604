"""The audit trail: every call recorded, durably, before its response leaves (ADR 11).

One way in, :meth:`AuditTrail.record`, for every call and every background event:

- inside a write transaction (``within``: a mutating call's own, a background job's),
  the records are appended to the hash chain in it, so they commit with the call's
  effect or neither does (:mod:`cofre.service.audit.chain`);
- otherwise a call whose record logs no response -- read-only and failed calls, the hot
  path -- goes to this process's journal, its parameters redacted
  (:mod:`cofre.service.audit.journal`), and the ingester appends it to the chain in
  large batches soon after (:mod:`cofre.service.audit.ingest`);
- anything else (every call, without a journal) is appended in a write transaction of
  its own.

Whatever cannot be recorded fails its call with ``AuditUnavailableError``: fail closed.
Reading the trail (:attr:`AuditTrail.reads`) and signing digests and pruning
(:attr:`AuditTrail.signing`) are parts of their own; a background thread signs the head
every ``digest_interval`` seconds when it moved, and prunes past the retention period.
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from cofre.core.audit.contexts import journalable
from cofre.core.audit.events import AuditCall, AuditReceipt
from cofre.core.audit.redact import ModelSource
from cofre.core.crypto import Random
from cofre.errors import AuditUnavailableError, StorageError
from cofre.service.audit.chain import ChainAppender, MacKeySource
from cofre.service.audit.ingest import JournalIngester
from cofre.service.audit.journal import JournalWriter
from cofre.service.audit.reads import AuditReader
from cofre.service.audit.records import RecordBuilder
from cofre.service.audit.signing import DigestSigner
from cofre.service.audit.signing_key import SigningKey
from cofre.service.authz.authorizer import Authorizer
from cofre.service.background import report_failure
from cofre.service.ports import AuditJournal, Clock, Storage, Then, WriteTx
from cofre.service.seal.keyring import Keyring

log = logging.getLogger(__name__)

PRELOADED = ("kms", "ssm", "iam", "sts", "cloudtrail")


class AuditTrail:
    def __init__(
        self,
        storage: Storage,
        clock: Clock,
        random: Random,
        keyring: Keyring,
        models: ModelSource,
        *,
        digest_interval: float = 60.0,
        retention: timedelta | None = None,
        authorizer: Authorizer | None = None,
        flush: bool = False,
        journal: AuditJournal | None = None,
        max_backlog: int = 256 * 1024 * 1024,
        backlog_check: int = 8 * 1024 * 1024,
    ) -> None:
        """``journal``: where the records of read-only and failed calls go first (ADR 11,
        "The journal"); without it every call commits its records before it is answered.
        ``flush``: commits (and journal writes) wait for the disk, not only for the OS.
        ``max_backlog``: journaled bytes the chain may lag behind before calls fail
        closed, looked at every ``backlog_check`` bytes journaled and every second."""
        macs = MacKeySource(keyring, storage)
        self._keyring = keyring
        self._storage = storage
        self._clock = clock
        self._records = RecordBuilder(models, random)
        self._chain = ChainAppender(macs, self._records, clock)
        self.flush = flush
        self.digest_interval = digest_interval
        self.retention = retention
        self.ingester: JournalIngester | None = None
        self._writer: JournalWriter | None = None
        if journal is not None:
            self.ingester = JournalIngester(
                journal, storage, self._chain.append_journaled, flush=flush,
                max_backlog=max_backlog, paused=lambda: keyring.sealed,
            )  # fmt: skip
            self._writer = JournalWriter(journal, self.ingester, check_every=backlog_check)
        self.reads = AuditReader(storage, macs.keys, authorizer, self.settle)
        signing_key = SigningKey(keyring, random)
        keyring.on_drop(signing_key.forget)
        self.signing = DigestSigner(storage, clock, signing_key)
        self._closed = False
        self._stop = threading.Event()
        self._jobs: threading.Thread | None = None

    def record(
        self, call: AuditCall, *, within: WriteTx | None = None, then: Then | None = None
    ) -> AuditReceipt | None:
        """Record ``call``: in ``within`` (committed with it), in the journal (no receipt:
        its place in the chain comes later), or in a transaction of its own.

        Without ``then``, durably before returning, or ``AuditUnavailableError`` (or the
        database's own ``StorageError``, when it is what failed). With
        ``then`` (calls answered on the event loop, its thread only), this never raises:
        ``then(None)`` once the record is durable or ``then(error)``, either before this
        returns or at the end of this turn of the loop, when the journal writes the
        turn's calls together."""
        writer = self._writer
        if then is not None:
            if writer is not None and within is None and not self._closed and journalable(call):
                try:  # the event loop's calls: the hot path
                    entry = self._records.journal_entry(call)
                except AuditUnavailableError as error:
                    then(error)
                    return None
                writer.write_soon(entry, then)
            else:
                self._record_and_tell(call, within, then)
            return None
        if self._closed:
            raise AuditUnavailableError("The audit trail is shut down.")
        if within is not None:
            return self._append(within, call)
        if writer is not None and journalable(call):
            writer.write(self._records.journal_entry(call))
            return None
        try:
            with self._storage.write(flush=self.flush) as tx:
                return self._append(tx, call)
        except (AuditUnavailableError, StorageError):
            raise
        except Exception as exc:
            log.warning("cannot commit the audit record of %s.%s: %s",
                        call.service, call.operation, exc)  # fmt: skip
            raise AuditUnavailableError() from exc

    def _record_and_tell(self, call: AuditCall, within: WriteTx | None, then: Then) -> None:
        try:
            self.record(call, within=within)
        except (AuditUnavailableError, StorageError) as error:
            then(error)
            return
        then(None)

    def _append(self, tx: WriteTx, call: AuditCall) -> AuditReceipt:
        prepared = self._records.prepared(call)
        try:
            return self._chain.append(tx, [prepared])[0]
        except StorageError:
            raise  # the database's own failure, as it is (a passing one is retryable)
        except Exception as exc:
            log.warning("cannot append the audit record of %s.%s: %s",
                        call.service, call.operation, exc)  # fmt: skip
            raise AuditUnavailableError() from exc

    def settle(self) -> None:
        """Bring whatever the journals hold into the chain (readers that must see every
        answered call do this first), and look at the backlog again; the chain as it is
        if that fails."""
        if self.ingester is None:
            return
        try:
            self.ingester.catch_up()
        except Exception as exc:
            report_failure(log, "cannot append the audit journal to the chain", exc)
        try:
            self.ingester.watch()
        except Exception as exc:
            report_failure(log, "cannot look at the audit journal's backlog", exc)

    def backlog(self) -> int:
        """Journaled bytes not yet in the chain (0 without a journal); blocks."""
        return 0 if self.ingester is None else self.ingester.backlog()

    def problem(self) -> str | None:
        """Why the trail cannot take records now, for the health check; None if it can."""
        if self._closed:
            return "the audit trail is shut down"
        ingester = self.ingester
        if ingester is None:
            return None
        if ingester.behind:
            return "the audit trail's chain is too far behind its journal: calls fail closed"
        if ingester.failing is not None:
            return f"the audit journal cannot be appended to the chain: {ingester.failing}"
        return None

    # background ------------------------------------------------------------------------------
    def start(self, *, ingest: bool = True, every_journal: bool = False, jobs: bool = True) -> None:
        """Work in the background. With ``ingest``, first empty the journals left by
        earlier processes into the chain (before any call is answered), then keep
        emptying this process's -- or, with ``every_journal`` (``cofre serve``'s
        supervisor, for its workers), all of them; without, only watch the backlog.
        With ``jobs``, sign digests and prune."""
        if self.ingester is not None:
            if ingest or every_journal:
                self.settle()
            self.ingester.start(ingest=ingest, every_journal=every_journal)
        if jobs and self._jobs is None:
            self._jobs = threading.Thread(
                target=self._run_jobs, name="cofre-audit-jobs", daemon=True
            )
            self._jobs.start()

    def run_jobs(self) -> None:
        self.signing.sign_head()
        if self.retention is not None:
            self.signing.prune(self._clock.now() - self.retention)

    def _run_jobs(self) -> None:
        for service in PRELOADED:  # so that no request pays for loading a model
            try:
                self._records.redactor.load(service)
            except Exception:
                log.exception("cannot load the %s model for audit records", service)
        while not self._stop.wait(self.digest_interval):
            try:
                self.run_jobs()
            except Exception as exc:
                report_failure(log, "audit digest or pruning failed; retrying later", exc)

    def close(self) -> None:
        """Stop recording and the background work, bring the journal in, and sign the
        head if this process appended to the chain (a reader, such as ``cofre audit
        verify``, signs nothing)."""
        self._closed = True
        self._stop.set()
        if self._writer is not None and self.ingester is not None:
            self._writer.close()  # its file is abandoned now: the last catch-up deletes it
            self.ingester.stop()
            self.settle()
        if self._jobs is not None:
            self._jobs.join(timeout=10)
        if not self._chain.wrote:
            return
        try:
            self.signing.sign_head()
        except Exception:
            log.warning("could not sign the audit chain head at shutdown", exc_info=True)
