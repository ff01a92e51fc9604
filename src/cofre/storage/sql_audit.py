"""The audit trail's SQL: append to the chain, read it back, look events up, prune.

A mixin of ``SqlTx`` (``cofre.storage.sql``). Writers lock the one ``audit_chain`` row
(``FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` already serialises writers),
so seqs are assigned gaplessly by whichever process or node holds it. Rows are inserted
many at a time (one statement per ``_CHUNK`` rows), since a batch is a group commit.
Event times are stored in microseconds; the body is stored as text, the exact bytes the
chain hashes.
"""

# Statements are built only from constant column lists and placeholder counts; every value
# is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cofre.core.audit import KeyUsage
from cofre.core.audit_chain import (
    Anchor,
    ChainedEvent,
    ChainState,
    EventIndex,
    SignedDigest,
)
from cofre.core.audit_lookup import AuditQuery, LookupKey
from cofre.storage.sql_common import Row, SqlHelpers, dt, from_micros, to_micros

EVENT_COLUMNS = (
    "seq, event_id, account_id, region, event_time, event_source, event_name, read_only,"
    " username, access_key_id, body, hash, mac"
)
_EVENT_MARKS = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_RESOURCE_MARKS = "(?, ?, ?, ?, ?, ?)"
_CHUNK = 64
_CHAIN_COLUMNS = (
    "head_seq, head_hash, anchor_seq, anchor_hash, anchor_time, anchor_signature, digest_seq"
)
# The column each lookup attribute compares, for those kept on audit_events.
_EVENT_ATTRIBUTES = {
    LookupKey.EVENT_ID: "event_id",
    LookupKey.EVENT_NAME: "event_name",
    LookupKey.USERNAME: "username",
    LookupKey.EVENT_SOURCE: "event_source",
    LookupKey.ACCESS_KEY_ID: "access_key_id",
    LookupKey.READ_ONLY: "read_only",
}


def _event_row(event: ChainedEvent) -> tuple[Any, ...]:
    index = event.index
    return (
        event.seq,
        index.event_id,
        index.account_id,
        index.region,
        to_micros(index.event_time),
        index.event_source,
        index.event_name,
        int(index.read_only),
        index.username,
        index.access_key_id,
        event.body.decode("utf-8"),
        event.hash,
        event.mac,
    )


def _event_from_row(row: Row, resources: tuple[tuple[str, str], ...]) -> ChainedEvent:
    index = EventIndex(
        event_id=row[1],
        account_id=row[2],
        region=row[3],
        event_time=dt(row[4]),
        event_source=row[5],
        event_name=row[6],
        read_only=bool(row[7]),
        username=row[8],
        access_key_id=row[9],
        resources=resources,
    )
    return ChainedEvent(row[0], str(row[10]).encode("utf-8"), bytes(row[11]), bytes(row[12]), index)


def _digest_from_row(row: Row) -> SignedDigest:
    return SignedDigest(row[1], row[0], bytes(row[2]), dt(row[3]), bytes(row[4]))


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

    def _with_resources(self, rows: list[Any]) -> list[ChainedEvent]:
        if not rows:
            return []
        seqs = [row[0] for row in rows]
        found: dict[int, list[tuple[str, str]]] = {}
        for seq, name, kind in self._all(
            "SELECT seq, resource_name, resource_type FROM audit_resources"
            f" WHERE seq IN ({', '.join('?' * len(seqs))}) ORDER BY seq, position",
            seqs,
        ):
            found.setdefault(seq, []).append((name, kind))
        return [_event_from_row(row, tuple(found.get(row[0], ()))) for row in rows]

    def audit_events_after(
        self, seq: int, limit: int, until_seq: int | None = None
    ) -> list[ChainedEvent]:
        bound = " AND seq <= ?" if until_seq is not None else ""
        params: list[Any] = [seq] + ([until_seq] if until_seq is not None else []) + [limit]
        rows = self._all(
            f"SELECT {EVENT_COLUMNS} FROM audit_events WHERE seq > ?{bound} ORDER BY seq LIMIT ?",
            params,
        )
        return self._with_resources(rows)

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
        first = self._one(
            "SELECT seq FROM audit_events WHERE event_time >= ? ORDER BY seq LIMIT 1",
            (to_micros(since) if since is not None else -(2**62),),
        )
        last = self._one(
            "SELECT seq FROM audit_events WHERE event_time < ? ORDER BY seq DESC LIMIT 1",
            (to_micros(until) if until is not None else 2**62,),
        )
        if first is None or last is None or first[0] > last[0]:
            return None
        return int(first[0]), int(last[0])

    def lookup_audit_events(self, query: AuditQuery) -> list[ChainedEvent]:
        where = ["account_id = ?"]
        params: list[Any] = [query.account_id]
        if query.region is not None:
            where.append("region = ?")
            params.append(query.region)
        if query.start is not None:
            where.append("event_time >= ?")
            params.append(to_micros(query.start))
        if query.end is not None:
            where.append("event_time <= ?")
            params.append(to_micros(query.end))
        if query.before is not None:
            where.append("(event_time < ? OR (event_time = ? AND seq < ?))")
            params += [query.before[0], query.before[0], query.before[1]]
        if query.key in _EVENT_ATTRIBUTES:
            where.append(f"{_EVENT_ATTRIBUTES[query.key]} = ?")
            value: Any = query.value
            if query.key is LookupKey.READ_ONLY:
                value = int(query.value.lower() == "true")
            params.append(value)
        elif query.key is LookupKey.RESOURCE_NAME:  # indexed: drive from the resources
            where.append(
                "seq IN (SELECT seq FROM audit_resources"
                " WHERE account_id = ? AND resource_name = ?)"
            )
            params += [query.account_id, query.value]
        elif query.key is LookupKey.RESOURCE_TYPE:  # few types: test each event scanned
            where.append(
                "EXISTS (SELECT 1 FROM audit_resources r WHERE r.seq = audit_events.seq"
                " AND r.resource_type = ?)"
            )
            params.append(query.value)
        rows = self._all(
            f"SELECT {EVENT_COLUMNS} FROM audit_events WHERE {' AND '.join(where)}"
            " ORDER BY event_time DESC, seq DESC LIMIT ?",
            [*params, query.limit],
        )
        return self._with_resources(rows)

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
        """Insert ``events`` (consecutive seqs after the head) and move the head to the last;
        record the key usages. The caller holds the chain lock."""
        if not events:
            return
        resources: list[tuple[Any, ...]] = []
        for start in range(0, len(events), _CHUNK):
            chunk = events[start : start + _CHUNK]
            self._exec(
                f"INSERT INTO audit_events ({EVENT_COLUMNS}) VALUES"
                f" {', '.join([_EVENT_MARKS] * len(chunk))}",
                [value for event in chunk for value in _event_row(event)],
            )
        for event in events:
            for position, (name, kind) in enumerate(event.index.resources):
                resources.append(
                    (event.seq, position, event.index.account_id,
                     to_micros(event.index.event_time), name, kind)
                )  # fmt: skip
        for start in range(0, len(resources), _CHUNK):
            chunk_rows = resources[start : start + _CHUNK]
            self._exec(
                "INSERT INTO audit_resources (seq, position, account_id, event_time,"
                f" resource_name, resource_type) VALUES"
                f" {', '.join([_RESOURCE_MARKS] * len(chunk_rows))}",
                [value for row in chunk_rows for value in row],
            )
        last = events[-1]
        self._exec(
            "UPDATE audit_chain SET head_seq = ?, head_hash = ? WHERE id = 1",
            (last.seq, last.hash),
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
        row = self._one(
            "SELECT seq FROM audit_events WHERE seq > ? AND event_time >= ? ORDER BY seq LIMIT 1",
            (after_seq, to_micros(before)),
        )
        head = self._one("SELECT head_seq FROM audit_chain WHERE id = 1")
        last = (int(row[0]) - 1) if row is not None else int(head[0])
        last = min(last, after_seq + limit)
        if last <= after_seq:
            return None
        found = self._one("SELECT hash FROM audit_events WHERE seq = ?", (last,))
        return None if found is None else Anchor(last, bytes(found[0]))

    def prune_audit(self, anchor: Anchor) -> int:
        """Delete the events up to the anchor's seq (and the digests that end there or
        before) and record the anchor. Returns the number of events deleted."""
        self._exec("DELETE FROM audit_resources WHERE seq <= ?", (anchor.seq,))
        self._exec("DELETE FROM audit_events WHERE seq <= ?", (anchor.seq,))
        deleted = max(int(self._cur.rowcount), 0)
        self._exec("DELETE FROM audit_digests WHERE last_seq <= ?", (anchor.seq,))
        self._exec(
            "UPDATE audit_chain SET anchor_seq = ?, anchor_hash = ?, anchor_time = ?,"
            " anchor_signature = ? WHERE id = 1",
            (anchor.seq, anchor.hash, to_micros(anchor.signed_at), anchor.signature),
        )
        return deleted
