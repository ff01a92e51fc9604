"""The notification half of the storage conformance suite (``WebhooksReadTx`` /
``WebhooksWriteTx``: webhooks, the delivery outbox with its leases, the policy schedule),
run against SQLite and PostgreSQL with the ``db`` fixture of ``test_storage``.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from cofre.core.params.events import Delivery, Webhook
from cofre.service.ports import Storage
from tests.conformance.test_params_storage import create, pid
from tests.conformance.test_storage import ACCOUNT, OTHER_ACCOUNT, REGION, T0, Db

SECOND = timedelta(seconds=1)


def webhook(storage: Storage, ident: str, account: str = ACCOUNT, prefix: str = "/") -> Webhook:
    hook = Webhook(ident, account, REGION, f"http://127.0.0.1/{ident}", prefix, b"w" * 40, T0)
    with storage.write() as tx:
        tx.insert_param_webhook(hook)
    return hook


def enqueue(storage: Storage, hook: str, n: int) -> None:
    rows = [Delivery(0, hook, f"e{i}", b'{"i":%d}' % i, T0) for i in range(n)]
    with storage.write() as tx:
        tx.insert_param_deliveries(rows)


def test_webhooks_per_account(db: Db) -> None:
    a = webhook(db.storage, "wh-a", prefix="/app/")
    webhook(db.storage, "wh-b", account=OTHER_ACCOUNT)
    with db.storage.read() as tx:
        assert tx.list_param_webhooks(ACCOUNT, REGION) == [a]
        assert tx.list_param_webhooks(ACCOUNT, "eu-west-1") == []
    with db.storage.write() as tx:
        assert not tx.delete_param_webhook(ACCOUNT, REGION, "wh-b")  # another account's
        assert tx.delete_param_webhook(OTHER_ACCOUNT, REGION, "wh-b")
        assert not tx.delete_param_webhook(OTHER_ACCOUNT, REGION, "wh-b")


def test_claim_lease_retry_finish(db: Db) -> None:
    webhook(db.storage, "wh-a")
    enqueue(db.storage, "wh-a", 3)
    with db.storage.read() as rtx:
        assert not rtx.param_delivery_due(T0 - SECOND) and rtx.param_delivery_due(T0)
    with db.storage.write() as tx:
        claimed = tx.claim_param_deliveries(T0, T0 + 60 * SECOND, 2)
    assert [c.delivery.event_id for c in claimed] == ["e0", "e1"]
    assert claimed[0].url == "http://127.0.0.1/wh-a" and claimed[0].secret_wrapped == b"w" * 40
    assert claimed[0].delivery.body == b'{"i":0}'
    with db.storage.write() as tx:  # leased rows are not claimed again before the lease ends
        again = tx.claim_param_deliveries(T0 + SECOND, T0 + 61 * SECOND, 10)
    assert [c.delivery.event_id for c in again] == ["e2"]
    with db.storage.write() as tx:
        tx.finish_param_delivery(claimed[0].delivery.delivery_id)
        tx.retry_param_delivery(claimed[1].delivery.delivery_id, 1, T0 + 5 * SECOND, "HTTP 500")
        assert tx.count_param_deliveries("wh-a") == 2
    with db.storage.write() as tx:  # e1 due again at +5 s; e2's lease runs until +61 s
        assert tx.claim_param_deliveries(T0 + 4 * SECOND, T0 + 70 * SECOND, 10) == []
        retried = tx.claim_param_deliveries(T0 + 5 * SECOND, T0 + 70 * SECOND, 10)
    assert [(c.delivery.event_id, c.delivery.attempts) for c in retried] == [("e1", 1)]
    with db.storage.write() as tx:  # an expired lease (a killed node): due again
        expired = tx.claim_param_deliveries(T0 + 71 * SECOND, T0 + 90 * SECOND, 10)
    assert sorted(c.delivery.event_id for c in expired) == ["e1", "e2"]


def test_deleting_a_webhook_drops_its_deliveries(db: Db) -> None:
    webhook(db.storage, "wh-a")
    enqueue(db.storage, "wh-a", 2)
    with db.storage.write() as tx:
        tx.delete_param_webhook(ACCOUNT, REGION, "wh-a")
        assert tx.count_param_deliveries("wh-a") == 0
        assert tx.claim_param_deliveries(T0, T0 + SECOND, 10) == []


def test_concurrent_claimers_never_share_a_delivery(db: Db) -> None:
    webhook(db.storage, "wh-a")
    enqueue(db.storage, "wh-a", 60)
    stores = [db.storage, db.another()]
    seen: list[str] = []
    lock = threading.Lock()

    def claim(i: int) -> None:
        with stores[i % 2].write() as tx:
            got = tx.claim_param_deliveries(T0, T0 + 60 * SECOND, 7)
        with lock:
            seen.extend(c.delivery.event_id for c in got)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(claim, range(16)))
    assert len(seen) == len(set(seen)) == 60


def test_policy_schedule(db: Db) -> None:
    p, q = pid("/s/a"), pid("/s/b")
    create(db.storage, p.name)
    create(db.storage, q.name)
    with db.storage.write() as tx:
        tx.set_param_policy_schedule(p, [("Expiration", T0 + 10 * SECOND), ("Other", T0)])
        tx.set_param_policy_schedule(p, [("Expiration", T0 + 10 * SECOND)])  # replaced
        tx.put_param_policy_due(q, "NoChangeNotification", T0 + 5 * SECOND)
        tx.put_param_policy_due(q, "NoChangeNotification", T0 + 3 * SECOND)  # moved
    with db.storage.read() as tx:
        assert tx.param_policies_due(T0 + 2 * SECOND, 10) == []
        assert tx.param_policies_due(T0 + 20 * SECOND, 10) == [
            (q, "NoChangeNotification"),
            (p, "Expiration"),
        ]
        assert tx.param_policies_due(T0 + 20 * SECOND, 1) == [(q, "NoChangeNotification")]
        assert tx.param_policy_due_at(p, "Expiration") == T0 + 10 * SECOND
        assert tx.param_policy_due_at(p, "Other") is None
    with db.storage.write() as tx:
        tx.delete_param_policy_due(q, "NoChangeNotification")
        tx.delete_param(p)  # the schedule goes with the parameter
    with db.storage.read() as tx:
        assert tx.param_policies_due(T0 + 20 * SECOND, 10) == []
