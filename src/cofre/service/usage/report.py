"""``cofre usage report``: the audit trail metered and priced (:mod:`cofre.core.usage`).

The trail is the record the bill is drawn from, so every figure can be traced to its
records: keys' lives and requests come from it alone. The keys table is read only for
keys the trail names without showing their creation -- AWS managed keys, which are made on
first use, and keys older than a pruned trail -- to learn their spec, manager and origin
and when they were made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import orjson

from cofre.core.usage.bill import UsageReport, bill
from cofre.core.usage.meter import Meter
from cofre.core.usage.prices import PriceTable
from cofre.service.ports import Storage

_BATCH = 1000


@dataclass
class UsageResult:
    report: UsageReport
    notes: list[str] = field(default_factory=list)
    events: int = 0  # records read


def usage_report(
    storage: Storage,
    start: datetime,
    end: datetime,
    prices: PriceTable,
    now: datetime,
    *,
    account_id: str | None = None,
) -> UsageResult:
    """Meter the whole stored trail (a key's life may begin long before ``start``) and
    price ``[start, end)``."""
    meter = Meter(start, end)
    with storage.read() as tx:
        state = tx.audit_chain_state()
    after, read = -(2**62), 0
    while True:
        with storage.read() as tx:
            rows = tx.audit_events_after(after, _BATCH, state.head_seq)
        for row in rows:
            index = row.index
            if meter.wants(index.event_source, index.event_name, index.event_time):
                meter.see(orjson.loads(row.body))
        read += len(rows)
        if len(rows) < _BATCH:
            break
        after = rows[-1].seq
    with storage.read() as tx:
        for key_id in meter.unknown_keys():
            key = tx.get_key(key_id)
            if key is not None:
                meter.know(
                    key_id,
                    account_id=key.account_id,
                    created=key.created_at,
                    key_manager=key.key_manager.value,
                    origin=key.origin.value,
                    key_spec=key.key_spec,
                )
    result = UsageResult(bill(meter, prices, now, account_id), events=read)
    anchor = state.anchor
    if anchor.seq > 0:
        since = f" (signed {anchor.signed_at.isoformat()})" if anchor.signed_at else ""
        result.notes.append(
            f"the trail was pruned through seq {anchor.seq}{since}: keys made before then and"
            " not named by any record kept are not in this report"
        )
    return result
