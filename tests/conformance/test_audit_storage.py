"""The audit half of the storage conformance suite (``AuditReadTx`` / ``AuditWriteTx`` of
``cofre.service.ports``), run against SQLite and PostgreSQL alike with the ``db`` fixture."""

from __future__ import annotations

import threading
from datetime import timedelta

from cofre.core.audit.chain import (
    GENESIS_HASH,
    Anchor,
    ChainedEvent,
    SignedDigest,
    canonical_json,
    chain_hash,
    index_event,
)
from cofre.core.audit.events import AuditCall, KeyUsage, build_event
from cofre.core.audit.lookup import AuditQuery, LookupKey
from cofre.core.iam.principals import Caller
from cofre.service.ports import Storage
from tests.conformance.test_storage import ACCOUNT, OTHER_ACCOUNT, OTHER_REGION, REGION, Db
from tests.conformance.test_storage import T0 as _T0

SECOND = timedelta(seconds=1)
T0 = _T0.replace(microsecond=0)  # eventTime has whole seconds
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
KEY2 = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/22222222-12ab-34cd-56ef-1234567890ab"
ROOT = Caller(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", "AKIAROOT", REGION)
ALICE = Caller(
    ACCOUNT, f"arn:aws:iam::{ACCOUNT}:user/Alice", "AKIAALICE", REGION,
    user_name="Alice", principal_id="AIDAALICE",
)  # fmt: skip


def _entry(
    n: int, *, caller: Caller = ROOT, operation: str = "Encrypt", resources: tuple[str, ...] = (),
    region: str = REGION, offset: timedelta = SECOND,
) -> tuple[bytes, dict[str, object]]:  # fmt: skip
    call = AuditCall(
        T0 + n * offset, "kms", operation, region, caller, f"req-{n}",
        params={"Description": "caf\u00e9 \U0001f510"}, resources=resources,
    )  # fmt: skip
    event = build_event(call, f"00000000-0000-4000-8000-{n:012d}")
    return canonical_json(event), event


def _append(storage: Storage, entries: list[tuple[bytes, dict[str, object]]]) -> list[ChainedEvent]:
    with storage.write() as tx:
        state = tx.lock_audit_chain()
        seq, prev = state.head_seq, state.head_hash
        rows = []
        for body, event in entries:
            seq += 1
            prev = chain_hash(prev, seq, body)
            rows.append(ChainedEvent(seq, body, prev, bytes([seq % 256]) * 32, index_event(event)))
        tx.append_audit_events(rows, [])
    return rows


def _lookup(db: Db, **fields: object) -> list[int]:
    query = AuditQuery(**{"account_id": ACCOUNT, **fields})  # type: ignore[arg-type]
    with db.storage.read() as tx:
        return [event.seq for event in tx.lookup_audit_events(query)[0]]


def test_a_fresh_chain(db: Db) -> None:
    with db.storage.read() as tx:
        state = tx.audit_chain_state()
        assert (state.head_seq, state.head_hash, state.digest_seq) == (0, GENESIS_HASH, 0)
        assert state.anchor == Anchor()
        assert tx.audit_events_after(0, 10) == []
        assert tx.audit_seq_range(None, None) is None


def test_append_and_read_back_exactly(db: Db) -> None:
    rows = _append(db.storage, [_entry(1, resources=(KEY, KEY2)), _entry(2, caller=ALICE)])
    with db.storage.read() as tx:
        assert tx.audit_events_after(0, 10) == rows
        assert tx.audit_events_after(1, 10) == rows[1:]
        assert tx.audit_events_after(0, 1) == rows[:1]
        assert tx.audit_events_after(0, 10, until_seq=1) == rows[:1]
        state = tx.audit_chain_state()
    assert rows[0].index.resources == ((KEY, "AWS::KMS::Key"), (KEY2, "AWS::KMS::Key"))
    assert (state.head_seq, state.head_hash) == (2, rows[1].hash)
    more = _append(db.storage, [_entry(3)])
    assert more[0].seq == 3


def test_lookup_by_every_attribute(db: Db) -> None:
    _append(
        db.storage,
        [
            _entry(1, resources=(KEY,)),
            _entry(2, caller=ALICE, operation="CreateKey", resources=(KEY2,)),
            _entry(3, caller=ALICE),
        ],
    )
    assert _lookup(db) == [3, 2, 1]  # newest first
    assert _lookup(db, key=LookupKey.EVENT_NAME, value="CreateKey") == [2]
    assert _lookup(db, key=LookupKey.USERNAME, value="Alice") == [3, 2]
    assert _lookup(db, key=LookupKey.USERNAME, value="root") == [1]
    assert _lookup(db, key=LookupKey.ACCESS_KEY_ID, value="AKIAALICE") == [3, 2]
    assert _lookup(db, key=LookupKey.EVENT_SOURCE, value="kms.amazonaws.com") == [3, 2, 1]
    assert _lookup(db, key=LookupKey.READ_ONLY, value="false") == [2]
    assert _lookup(db, key=LookupKey.READ_ONLY, value="TRUE") == [3, 1]
    assert _lookup(db, key=LookupKey.EVENT_ID, value="00000000-0000-4000-8000-000000000002") == [2]
    assert _lookup(db, key=LookupKey.RESOURCE_NAME, value=KEY2) == [2]
    assert _lookup(db, key=LookupKey.RESOURCE_TYPE, value="AWS::KMS::Key") == [2, 1]
    assert _lookup(db, key=LookupKey.EVENT_NAME, value="Nothing") == []


def test_lookup_time_range_region_paging_and_accounts(db: Db) -> None:
    other = Caller(OTHER_ACCOUNT, f"arn:aws:iam::{OTHER_ACCOUNT}:root", "AKIAOTHER", REGION)
    _append(
        db.storage,
        [_entry(n) for n in range(1, 6)]
        + [_entry(6, caller=other), _entry(7, region=OTHER_REGION), _entry(8, offset=0 * SECOND)],
    )
    # newest first in the order recorded (seq), whatever the event times say
    assert _lookup(db) == [8, 7, 5, 4, 3, 2, 1]
    assert _lookup(db, region=REGION) == [8, 5, 4, 3, 2, 1]
    assert _lookup(db, start=T0 + 2 * SECOND, end=T0 + 4 * SECOND) == [4, 3, 2]
    assert _lookup(db, limit=2) == [8, 7]
    assert _lookup(db, before=5, limit=2) == [4, 3]
    assert _lookup(db, before=2) == [1]
    query = AuditQuery(account_id=OTHER_ACCOUNT)
    with db.storage.read() as tx:
        assert [e.seq for e in tx.lookup_audit_events(query)[0]] == [6]


def test_lookup_stops_at_its_scan_budget_and_says_where(db: Db) -> None:
    for n in range(1, 4):  # three segments
        _append(db.storage, [_entry(n)])
    query = AuditQuery(account_id=ACCOUNT, key=LookupKey.EVENT_NAME, value="None", budget=2)
    with db.storage.read() as tx:
        assert tx.lookup_audit_events(query) == ([], 2)  # scanned 3 and 2; go on below 2
        found, resume = tx.lookup_audit_events(AuditQuery(account_id=ACCOUNT, budget=2))
    assert ([e.seq for e in found], resume) == ([3, 2], 2)


def test_digests(db: Db) -> None:
    rows = _append(db.storage, [_entry(n) for n in range(1, 4)])
    digest = SignedDigest(1, 3, rows[-1].hash, T0, b"\x01" * 64)
    with db.storage.write() as tx:
        tx.lock_audit_chain()
        tx.insert_audit_digest(digest)
    with db.storage.read() as tx:
        assert tx.audit_digests_after(0, 10) == [digest]
        assert tx.audit_digests_after(3, 10) == []
        assert tx.audit_chain_state().digest_seq == 3


def test_key_usage_keeps_the_latest(db: Db) -> None:
    first = KeyUsage(KEY, "Encrypt", T0 + SECOND, "ev-1", "req-1")
    older = KeyUsage(KEY, "Decrypt", T0, "ev-0", "req-0")
    with db.storage.write() as tx:
        tx.append_audit_events([], [])
        tx.lock_audit_chain()
        rows = [ChainedEvent(1, *_row_parts(1))]
        tx.append_audit_events(rows, [first])
    with db.storage.write() as tx:
        tx.lock_audit_chain()
        tx.append_audit_events([ChainedEvent(2, *_row_parts(2))], [older])
    with db.storage.read() as tx:
        assert tx.key_last_usage(KEY) == first
        assert tx.key_last_usage(KEY2) is None
    newer = KeyUsage(KEY, "GenerateDataKey", T0 + 2 * SECOND, "ev-2", "req-2")
    with db.storage.write() as tx:
        tx.lock_audit_chain()
        tx.append_audit_events([ChainedEvent(3, *_row_parts(3))], [newer])
    with db.storage.read() as tx:
        assert tx.key_last_usage(KEY) == newer


def _row_parts(n: int) -> tuple[bytes, bytes, bytes, object]:
    body, event = _entry(n)
    return body, bytes(32), bytes(32), index_event(event)


def test_prune_keeps_an_anchor(db: Db) -> None:
    rows = _append(db.storage, [_entry(n, resources=(KEY,)) for n in range(1, 7)])
    with db.storage.write() as tx:
        tx.lock_audit_chain()
        tx.insert_audit_digest(SignedDigest(1, 2, rows[1].hash, T0, b"s" * 64))
        tx.insert_audit_digest(SignedDigest(3, 6, rows[5].hash, T0, b"s" * 64))
        assert tx.audit_prune_point(T0, 0, 100) is None  # nothing older than T0
        point = tx.audit_prune_point(T0 + 4 * SECOND, 0, 100)
        assert point == Anchor(3, rows[2].hash)
        assert tx.audit_prune_point(T0 + 4 * SECOND, 0, 2) == Anchor(2, rows[1].hash)
        anchor = Anchor(3, rows[2].hash, T0, b"a" * 64)
        assert tx.prune_audit(anchor) == 3
    with db.storage.read() as tx:
        assert [e.seq for e in tx.audit_events_after(-1, 10)] == [4, 5, 6]
        assert [d.last_seq for d in tx.audit_digests_after(-1, 10)] == [6]
        state = tx.audit_chain_state()
        assert state.anchor == anchor and state.head_seq == 6
        assert tx.audit_seq_range(None, None) == (4, 6)
    assert _lookup(db, key=LookupKey.RESOURCE_NAME, value=KEY) == [6, 5, 4]
    with db.storage.write() as tx:
        tx.lock_audit_chain()
        assert tx.audit_prune_point(T0 + 4 * SECOND, 3, 100) is None
        assert tx.audit_prune_point(T0 + 60 * SECOND, 3, 100) == Anchor(6, rows[5].hash)


def test_seq_range_for_exports(db: Db) -> None:
    _append(db.storage, [_entry(n) for n in range(1, 6)])
    with db.storage.read() as tx:
        assert tx.audit_seq_range(T0 + 2 * SECOND, T0 + 4 * SECOND) == (2, 3)
        assert tx.audit_seq_range(T0 + 2 * SECOND, None) == (2, 5)
        assert tx.audit_seq_range(T0 + 9 * SECOND, None) is None


def test_concurrent_appenders_on_two_storages_keep_one_gapless_chain(db: Db) -> None:
    storages = [db.storage, db.another()]
    errors: list[BaseException] = []

    def work(storage: Storage, base: int) -> None:
        try:
            for i in range(10):
                _append(storage, [_entry(base + 3 * i + j) for j in range(3)])
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=work, args=(s, 1000 * (n + 1))) for n, s in enumerate(storages)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with db.storage.read() as tx:
        rows = tx.audit_events_after(0, 1000)
        state = tx.audit_chain_state()
    assert [r.seq for r in rows] == list(range(1, 61))
    prev = GENESIS_HASH
    for row in rows:  # each appender saw the other's head: one chain
        assert chain_hash(prev, row.seq, row.body) == row.hash
        prev = row.hash
    assert state.head_hash == prev
