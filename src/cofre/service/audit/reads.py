"""Reading the audit trail: its records and digests in order, verification, LookupEvents,
GetKeyLastUsage. Readers that must see every answered call bring the journals in first
(``settle``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

from cofre.core.audit.chain import ChainedEvent, MacKeys, SignedDigest, load_public_key
from cofre.core.audit.events import KeyUsage
from cofre.core.audit.verify import Problem, ProblemKind, VerifyReport, verify_trail
from cofre.core.iam.principals import Caller
from cofre.errors import AccessDeniedError
from cofre.service.audit.chain import TRACKING_START_META
from cofre.service.audit.lookup import LookupPage, lookup_events
from cofre.service.audit.signing_key import PUBLIC_KEY_META
from cofre.service.authz.authorizer import Authorizer
from cofre.service.ports import Storage

_READ_BATCH = 1000


def _nothing_to_settle() -> None:
    return None


class AuditReader:
    def __init__(
        self,
        storage: Storage,
        mac_keys: Callable[[], MacKeys] | None,
        authorizer: Authorizer | None = None,
        settle: Callable[[], None] = _nothing_to_settle,
    ) -> None:
        """``mac_keys``: the chain's MAC keys (None: a reader without the keyring checks
        hashes and signed digests only). ``settle``: brings in what is journaled but not
        yet chained."""
        self._storage = storage
        self._mac_keys = mac_keys
        self._authorizer = authorizer
        self.settle = settle

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
        self.settle()
        with self._storage.read() as tx:
            state = tx.audit_chain_state()
            pem = tx.get_meta(PUBLIC_KEY_META)
        public = load_public_key(pem) if pem else None
        report = verify_trail(
            self.events(-(2**62), state.head_seq),
            self.digests(),
            state.anchor,
            public_key=public,
            mac_key=None if self._mac_keys is None else self._mac_keys(),
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
        self.settle()
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
        self.settle()
        with self._storage.read() as tx:
            return tx.key_last_usage(key_arn)

    def tracking_start(self) -> datetime | None:
        """When this database began recording (GetKeyLastUsage's TrackingStartDate is the
        later of this and the key's creation)."""
        with self._storage.read() as tx:
            stored = tx.get_meta(TRACKING_START_META)
        return None if stored is None else datetime.fromisoformat(stored)
