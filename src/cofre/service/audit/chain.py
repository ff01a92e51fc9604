"""Appending records to the hash chain, inside a write transaction that holds the chain
lock: records built one call at a time (mutating calls, background events, calls made
without a journal), and the journal's batches (:mod:`cofre.service.audit.ingest`), which
are stored as one segment each (:mod:`cofre.core.audit.segment`)."""

from __future__ import annotations

from collections.abc import Sequence

from cofre.core.audit.chain import ChainedEvent, ChainMac, MacKeys, chain_hash
from cofre.core.audit.events import AuditReceipt, KeyUsage
from cofre.core.audit.journal import JournalBatch, JournalRecords, Prepared
from cofre.core.audit.segment import chain_segment
from cofre.service.audit.records import RecordBuilder
from cofre.service.ports import Clock, Storage, WriteTx
from cofre.service.seal.keyring import Keyring

TRACKING_START_META = "audit_tracking_start"  # when this database began recording
AUDIT_MAC_SINCE_META = "audit_mac_since"  # the first seq MACed with the HKDF-derived key
AUDIT_MAC_LABEL = b"audit-chain-mac"  # the chain MAC key is derived from the keyring key


class MacKeySource:
    """The chain's MAC keys, derived from the keyring key when first needed (it may be
    sealed until then) and forgotten when it is dropped."""

    def __init__(self, keyring: Keyring, storage: Storage) -> None:
        self._keyring = keyring
        self._storage = storage
        self._keys: MacKeys | None = None
        self._mac: ChainMac | None = None
        keyring.on_drop(self.forget)

    def keys(self) -> MacKeys:
        keys = self._keys
        if keys is None:
            with self._storage.read() as tx:
                since = int(tx.get_meta(AUDIT_MAC_SINCE_META) or 0)
            earlier = self._keyring.derive(AUDIT_MAC_LABEL, legacy=True) if since else None
            keys = MacKeys(self._keyring.derive(AUDIT_MAC_LABEL), since, earlier)
            self._keys = keys
        return keys

    def mac(self) -> ChainMac:
        """The MAC of new records (seqs past the store's switch to HKDF, if it had one)."""
        mac = self._mac
        if mac is None:
            mac = self._mac = ChainMac(self.keys().current)
        return mac

    def forget(self) -> None:
        self._keys, self._mac = None, None


class ChainAppender:
    def __init__(self, macs: MacKeySource, records: RecordBuilder, clock: Clock) -> None:
        self._macs = macs
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
        chain_mac = self._macs.mac()
        for item in prepared:
            seqs = []
            for body, index in item.entries:
                seq += 1
                prev = chain_hash(prev, seq, body)
                rows.append(ChainedEvent(seq, body, prev, chain_mac(seq, prev), index))
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
            self._macs.mac(),
        )
        tx.append_audit_segment(segment, head, list(batch.usages.values()))
        self._note_tracking_start(tx)
        self.wrote = True

    def _note_tracking_start(self, tx: WriteTx) -> None:
        if tx.get_meta(TRACKING_START_META) is None:
            tx.set_meta(TRACKING_START_META, self._clock.now().isoformat())
