"""The delivery worker in process, on SQLite with a manual clock and a recording sender:
signed requests, backoff after failures, the maximum age, at-least-once settling."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cofre.core.crypto import Cipher, wrap
from cofre.core.params.events import Delivery, Webhook, signature, webhook_secret_aad
from cofre.service.clock import ManualClock
from cofre.service.params.delivery import DeliverySettings, DeliveryWorker
from cofre.storage.sqlite import SqliteStorage

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ROOT = Cipher(bytes(range(32)))
SECRET = b"unit-test-secret-0123"


class Sender:
    def __init__(self) -> None:
        self.answers: list[int | OSError] = []
        self.sent: list[tuple[str, bytes, dict[str, str]]] = []

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        self.sent.append((url, body, dict(headers)))
        answer = self.answers.pop(0) if self.answers else 200
        if isinstance(answer, OSError):
            raise answer
        return answer


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[SqliteStorage, ManualClock, Sender, DeliveryWorker]]:
    clock = ManualClock(T0)
    storage = SqliteStorage(tmp_path / "d.db", clock.now)
    storage.migrate()
    random = os.urandom
    wrapped = wrap(ROOT, SECRET, webhook_secret_aad("wh-1"), random)
    with storage.write() as tx:
        tx.insert_param_webhook(
            Webhook("wh-1", "1" * 12, "us-east-1", "http://h/x", "/", wrapped, T0)
        )
        tx.insert_param_deliveries([Delivery(0, "wh-1", "ev-1", b'{"e":1}', T0)])
    sender = Sender()
    settings = DeliverySettings(retry_base=1.0, retry_cap=8.0, max_age=60.0)
    worker = DeliveryWorker(storage, ROOT, clock, random, settings, sender)
    yield storage, clock, sender, worker
    storage.close()


def pending(storage: SqliteStorage) -> int:
    with storage.read() as tx:
        return tx.count_param_deliveries("wh-1")


def test_signed_and_settled(
    setup: tuple[SqliteStorage, ManualClock, Sender, DeliveryWorker],
) -> None:
    storage, _clock, sender, worker = setup
    assert worker.run_once() == 1
    [(url, body, headers)] = sender.sent
    assert url == "http://h/x" and body == b'{"e":1}'
    assert headers["X-Cofre-Event-Id"] == "ev-1" and headers["X-Cofre-Webhook-Id"] == "wh-1"
    timestamp = int(headers["X-Cofre-Timestamp"])
    assert timestamp == int(T0.timestamp())
    assert headers["X-Cofre-Signature"] == signature(SECRET, timestamp, body)
    assert pending(storage) == 0 and worker.run_once() == 0


def test_failures_back_off_then_deliver(
    setup: tuple[SqliteStorage, ManualClock, Sender, DeliveryWorker],
) -> None:
    storage, clock, sender, worker = setup
    sender.answers = [500, ConnectionRefusedError(), 302, 200]
    delays = []
    assert worker.run_once() == 1  # the first attempt: 500
    for _ in range(3):  # refused, a redirect (not followed), then 200
        with storage.read() as tx:
            assert not tx.param_delivery_due(clock.now())
        waited = 0.0
        while worker.run_once() == 0:
            clock.advance(timedelta(milliseconds=100))
            waited += 0.1
        delays.append(waited)
    # after 1, 2, 3 failures: [0.5, 1), [1, 2), [2, 4) seconds (equal jitter)
    assert 0.5 <= delays[0] < 1.1 and 1.0 <= delays[1] < 2.1 and 2.0 <= delays[2] < 4.1
    assert pending(storage) == 0 and len(sender.sent) == 4


def test_dropped_after_the_maximum_age(
    setup: tuple[SqliteStorage, ManualClock, Sender, DeliveryWorker],
) -> None:
    storage, clock, sender, worker = setup
    sender.answers = [500] * 100
    clock.advance(timedelta(seconds=61))
    assert worker.run_once() == 1
    assert pending(storage) == 0
