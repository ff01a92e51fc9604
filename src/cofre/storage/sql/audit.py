"""The audit trail's SQL: append to the chain, read it back, look events up, prune.

A mixin of ``SqlTx`` (``cofre.storage.sql.transaction``). Writers lock the one ``audit_chain`` row
(``FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises writers),
so seqs are assigned gaplessly by whichever process or node holds it. Each append -- a
group commit's batch -- is one *segment* row (``cofre.core.audit.segment``: the records
framed and compressed), plus one ``audit_segment_accounts`` row per account and Region
in it, which is all LookupEvents needs to find an account's segments; the records are
filtered after decoding. Event times are stored in microseconds.
"""

# Statements are built only from constant column lists and placeholder counts; every value
# is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cofre.core.audit.chain import (
    HASH_LEN,
    Anchor,
    ChainedEvent,
    ChainState,
    SignedDigest,
)
from cofre.core.audit.chain import to_micros as micros
from cofre.core.audit.events import KeyUsage
from cofre.core.audit.lookup import AuditQuery, matches
from cofre.core.audit.segment import (
    Segment,
    SegmentError,
    decode_segment,
    encode_segment,
    select,
    unreadable_index,
)
from cofre.storage.sql.common import Row, SqlHelpers, dt, from_micros, to_micros

_CHAIN_COLUMNS = (
    "head_seq, head_hash, anchor_seq, anchor_hash, anchor_time, anchor_signature, digest_seq"
)
_SEGMENT_COLUMNS = "first_seq, last_seq, data"
_READ_SEGMENTS = 16  # segments fetched per query while reading or scanning


def event_micros(event: ChainedEvent) -> int:
    return micros(event.index.event_time)


def _digest_from_row(row: Row) -> SignedDigest:
    return SignedDigest(row[1], row[0], bytes(row[2]), dt(row[3]), bytes(row[4]))


def _events(row: Row) -> list[ChainedEvent]:
    """The records of a segment row; placeholders (which verification reports) for every
    seq the row claims when it does not decode."""
    try:
        return decode_segment(bytes(row[2]))
    except SegmentError:
        blank = b"\x00" * HASH_LEN
        index = unreadable_index()
        return [ChainedEvent(seq, b"", blank, blank, index) for seq in range(row[0], row[1] + 1)]


class AuditSql(SqlHelpers):
    """Every ``AuditReadTx`` / ``AuditWriteTx`` method."""

    if TYPE_CHECKING:
        _lock_suffix: str  # defined by SqlTx: " FOR UPDATE" on PostgreSQL writes

    # reading the chain -------------------------------------------------------------------
    def _chain_state(self, suffix: str) -> ChainState:
        row = self._one(f"SELECT {_CHAIN_COLUMNS} FROM audit_chain WHERE id = 1{suffix}")
        anchor = Anchor(
            row[2],
            bytes(row[3]),
            from_micros(row[4]),
            None if row[5] is None else bytes(row[5]),
        )
        return ChainState(row[0], bytes(row[1]), anchor, row[6])

    def audit_chain_state(self) -> ChainState:
        return self._chain_state("")

    def audit_events_after(
        self, seq: int, limit: int, until_seq: int | None = None
    ) -> list[ChainedEvent]:
        out: list[ChainedEvent] = []
        after = seq
        while len(out) < limit:
            rows = self._all(  # from the segment holding after + 1, by the primary key
                f"SELECT {_SEGMENT_COLUMNS} FROM audit_segments WHERE first_seq >= COALESCE("
                "(SELECT MAX(first_seq) FROM audit_segments WHERE first_seq <= ?), 0)"
                " ORDER BY first_seq LIMIT ?",
                (after + 1, _READ_SEGMENTS),
            )
            for row in rows:
                out.extend(select(_events(row), seq, until_seq))
            if len(rows) < _READ_SEGMENTS or (until_seq is not None and rows[-1][1] >= until_seq):
                break
            after = max(after, rows[-1][1])
        out.sort(key=lambda event: event.seq)
        return out[:limit]

    def audit_digests_after(self, last_seq: int, limit: int) -> list[SignedDigest]:
        rows = self._all(
            "SELECT last_seq, first_seq, head_hash, signed_at, signature FROM audit_digests"
            " WHERE last_seq > ? ORDER BY last_seq LIMIT ?",
            (last_seq, limit),
        )
        return [_digest_from_row(r) for r in rows]

    def audit_seq_range(
        self, since: datetime | None, until: datetime | None
    ) -> tuple[int, int] | None:
        """The first seq at or after ``since`` and the last before ``until``: the contiguous
        stretch of the chain an export of that time range covers (None when empty)."""
        low = micros(since) if since is not None else -(2**62)
        high = micros(until) if until is not None else 2**62
        first = last = None
        for row in self._all(
            f"SELECT {_SEGMENT_COLUMNS} FROM audit_segments WHERE last_time >= ?"
            " ORDER BY first_seq LIMIT ?",
            (low, _READ_SEGMENTS),
        ):
            first = next((e.seq for e in _events(row) if event_micros(e) >= low), None)
            if first is not None:
                break
        for row in self._all(
            f"SELECT {_SEGMENT_COLUMNS} FROM audit_segments WHERE first_time < ?"
            " ORDER BY first_seq DESC LIMIT ?",
            (high, _READ_SEGMENTS),
        ):
            times = [(e.seq, event_micros(e)) for e in _events(row)]
            last = next((seq for seq, micros in reversed(times) if micros < high), None)
            if last is not None:
                break
        if first is None or last is None or first > last:
            return None
        return first, last

    def lookup_audit_events(self, query: AuditQuery) -> tuple[list[ChainedEvent], int | None]:
        """Up to ``query.limit`` matching records, newest (highest seq) first, and the seq
        to go on below when the scan budget ran out first (None: nothing more)."""
        where = ["account_id = ?"]
        params: list[Any] = [query.account_id]
        if query.region is not None:
            where.append("region = ?")
            params.append(query.region)
        if query.start is not None:
            where.append("last_time >= ?")
            params.append(to_micros(query.start))
        if query.end is not None:
            where.append("first_time <= ?")
            params.append(to_micros(query.end))
        below = query.before if query.before is not None else 2**62
        found: list[ChainedEvent] = []
        scanned = 0
        bound = below
        while True:
            rows = self._all(
                f"SELECT {_SEGMENT_COLUMNS} FROM audit_segments WHERE first_seq IN"
                " (SELECT DISTINCT first_seq FROM audit_segment_accounts"
                f" WHERE {' AND '.join(where)} AND first_seq < ?"
                " ORDER BY first_seq DESC LIMIT ?) ORDER BY first_seq DESC",
                [*params, bound, _READ_SEGMENTS],
            )
            for row in rows:
                events = _events(row)
                scanned += len(events)
                for event in reversed(events):
                    if event.seq < below and matches(query, event.index, event_micros(event)):
                        found.append(event)
                        if len(found) == query.limit:
                            return found, None
                bound = row[0]
                if scanned >= query.budget:
                    return found, bound
            if len(rows) < _READ_SEGMENTS:
                return found, None

    def key_last_usage(self, key_arn: str) -> KeyUsage | None:
        row = self._one(
            "SELECT key_arn, operation, used_at, event_id, request_id FROM audit_key_usage"
            " WHERE key_arn = ?",
            (key_arn,),
        )
        return None if row is None else KeyUsage(row[0], row[1], dt(row[2]), row[3], row[4])

    # writing ---------------------------------------------------------------------------------
    def lock_audit_chain(self) -> ChainState:
        return self._chain_state(self._lock_suffix)

    def append_audit_events(
        self, events: Sequence[ChainedEvent], usages: Sequence[KeyUsage]
    ) -> None:
        """Store ``events`` (consecutive seqs after the head) as one segment and move the
        head to the last; record the key usages. The caller holds the chain lock."""
        if not events:
            return
        last = events[-1]
        self.append_audit_segment(encode_segment(events), last.hash, usages)

    def append_audit_segment(
        self, segment: Segment, head_hash: bytes, usages: Sequence[KeyUsage]
    ) -> None:
        """Store ``segment`` (the seqs after the head), whose last record's hash is
        ``head_hash``, and move the head to it; record the key usages. The caller holds
        the chain lock."""
        self._insert_segment(segment)
        self._exec(
            "UPDATE audit_chain SET head_seq = ?, head_hash = ? WHERE id = 1",
            (segment.last_seq, head_hash),
        )
        for usage in usages:
            self._exec(
                "INSERT INTO audit_key_usage (key_arn, operation, used_at, event_id, request_id)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (key_arn) DO UPDATE SET"
                " operation = excluded.operation, used_at = excluded.used_at,"
                " event_id = excluded.event_id, request_id = excluded.request_id"
                " WHERE excluded.used_at >= audit_key_usage.used_at",
                (usage.key_arn, usage.operation, to_micros(usage.time), usage.event_id,
                 usage.request_id),
            )  # fmt: skip

    def _insert_segment(self, segment: Segment) -> None:
        self._exec(
            "INSERT INTO audit_segments (first_seq, last_seq, first_time, last_time, data)"
            " VALUES (?, ?, ?, ?, ?)",
            (segment.first_seq, segment.last_seq, segment.first_time, segment.last_time,
             segment.data),
        )  # fmt: skip
        for span in segment.accounts:
            self._exec(
                "INSERT INTO audit_segment_accounts (account_id, region, first_seq,"
                " first_time, last_time) VALUES (?, ?, ?, ?, ?)",
                (span.account_id, span.region, segment.first_seq, span.first_time,
                 span.last_time),
            )  # fmt: skip

    def insert_audit_digest(self, digest: SignedDigest) -> None:
        self._exec(
            "INSERT INTO audit_digests (last_seq, first_seq, head_hash, signed_at, signature)"
            " VALUES (?, ?, ?, ?, ?)",
            (digest.last_seq, digest.first_seq, digest.head_hash, to_micros(digest.signed_at),
             digest.signature),
        )  # fmt: skip
        self._exec("UPDATE audit_chain SET digest_seq = ? WHERE id = 1", (digest.last_seq,))

    def audit_prune_point(self, before: datetime, after_seq: int, limit: int) -> Anchor | None:
        """(seq, hash) of the last event of the longest run after ``after_seq`` (at most
        ``limit`` events) whose every event is older than ``before``; None if there is none.
        The caller holds the chain lock."""
        cutoff = micros(before)
        last: ChainedEvent | None = None
        for event in self.audit_events_after(after_seq, limit):
            if event_micros(event) >= cutoff or not event.body:
                break
            last = event
        return None if last is None else Anchor(last.seq, last.hash)

    def prune_audit(self, anchor: Anchor) -> int:
        """Delete the events up to the anchor's seq (and the digests that end there or
        before) and record the anchor. A segment the anchor cuts is stored again with what
        it keeps. Returns the number of events deleted."""
        deleted = 0
        kept: list[ChainedEvent] = []
        for row in self._all(
            f"SELECT {_SEGMENT_COLUMNS} FROM audit_segments WHERE first_seq <= ?", (anchor.seq,)
        ):
            events = _events(row)
            deleted += sum(1 for event in events if event.seq <= anchor.seq)
            kept += [event for event in events if event.seq > anchor.seq]
        self._exec("DELETE FROM audit_segment_accounts WHERE first_seq <= ?", (anchor.seq,))
        self._exec("DELETE FROM audit_segments WHERE first_seq <= ?", (anchor.seq,))
        if kept:  # the rest of the segment the anchor cuts
            self._insert_segment(encode_segment(kept))
        self._exec("DELETE FROM audit_digests WHERE last_seq <= ?", (anchor.seq,))
        self._exec(
            "UPDATE audit_chain SET anchor_seq = ?, anchor_hash = ?, anchor_time = ?,"
            " anchor_signature = ? WHERE id = 1",
            (anchor.seq, anchor.hash, to_micros(anchor.signed_at), anchor.signature),
        )
        return deleted
