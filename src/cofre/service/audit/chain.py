"""Appending records to the hash chain, inside a write transaction that holds the chain
lock: records built one call at a time (mutating calls, background events, calls made
without a journal), and the journal's batches (:mod:`cofre.service.audit.ingest`), which
are stored as one segment each (:mod:`cofre.core.audit.segment`)."""

from __future__ import annotations

from collections.abc import Sequence

from cofre.core.audit.chain import ChainedEvent, ChainMac, chain_hash
from cofre.core.audit.events import AuditReceipt, KeyUsage
from cofre.core.audit.journal import JournalBatch, JournalRecords, Prepared
from cofre.core.audit.segment import chain_segment
from cofre.service.audit.records import RecordBuilder
from cofre.service.ports import Clock, WriteTx

TRACKING_START_META = "audit_tracking_start"  # when this database began recording


class ChainAppender:
    def __init__(self, mac_key: bytes, records: RecordBuilder, clock: Clock) -> None:
        self._chain_mac = ChainMac(mac_key)
        self._records = records
        self._clock = clock
        self.wrote = False  # whether this process appended anything (closing signs then)

    def append(self, tx: WriteTx, prepared: Sequence[Prepared]) -> list[AuditReceipt]:
        """Append built records in ``tx`` (which commits them, or nothing); a receipt per
        item of ``prepared``."""
        receipts: list[AuditReceipt] = []
        rows: list[ChainedEvent] = []
        usages: list[KeyUsage] = []
        state = tx.lock_audit_chain()
        seq, prev = state.head_seq, state.head_hash
        for item in prepared:
            seqs = []
            for body, index in item.entries:
                seq += 1
                prev = chain_hash(prev, seq, body)
                rows.append(ChainedEvent(seq, body, prev, self._chain_mac(seq, prev), index))
                seqs.append(seq)
            usages.extend(item.usages)
            event_ids = tuple(index.event_id for _, index in item.entries)
            receipts.append(AuditReceipt(event_ids, tuple(seqs)))
        latest: dict[str, KeyUsage] = {}  # one upsert per key and batch
        for usage in usages:
            if usage.key_arn not in latest or usage.time >= latest[usage.key_arn].time:
                latest[usage.key_arn] = usage
        tx.append_audit_events(rows, list(latest.values()))
        self._note_tracking_start(tx)
        self.wrote = True
        return receipts

    def append_journaled(self, tx: WriteTx, batch: JournalBatch) -> None:
        """Append what the journal held (the ingester's transaction) as one segment,
        building the records of its calls first."""
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
        self._note_tracking_start(tx)
        self.wrote = True

    def _note_tracking_start(self, tx: WriteTx) -> None:
        if tx.get_meta(TRACKING_START_META) is None:
            tx.set_meta(TRACKING_START_META, self._clock.now().isoformat())
