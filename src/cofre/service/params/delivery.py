"""Sends the Parameter Store notification outbox to its webhooks (ADR 0013).

A background thread in every process: each round claims due deliveries under a lease
(``WriteTx.claim_param_deliveries``: no other process or node sends them meanwhile; a
lease that runs out, because the process died mid-delivery, makes them due again), POSTs
each to its webhook, signed (docs/formats/webhook-signature.md), and then deletes the row
on a 2xx answer or schedules the next attempt: exponential backoff with jitter, up to a
maximum age after which the delivery is dropped with a warning. At least once: a
delivery is only forgotten after a 2xx (or its maximum age).
"""

from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from cofre.core.crypto import Aead, Random, unwrap
from cofre.core.params.events import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    WEBHOOK_ID_HEADER,
    ClaimedDelivery,
    retry_delay,
    signature,
    webhook_secret_aad,
)
from cofre.errors import CofreError
from cofre.service.background import report_failure
from cofre.service.ports import Clock, Storage

log = logging.getLogger(__name__)

USER_AGENT = "Cofre-Webhooks/1"


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    poll_interval: float = 0.5  # seconds between rounds
    batch: int = 32  # deliveries claimed per round
    lease: float = 60.0  # seconds a claim lasts; longer than ``timeout``
    timeout: float = 10.0  # per HTTP request
    retry_base: float = 1.0  # first retry after about this many seconds, doubling
    retry_cap: float = 300.0  # at most this many seconds between attempts
    max_age: float = 86_400.0  # a delivery still failing after this long is dropped
    senders: int = 4  # concurrent HTTP requests per process


class Sender(Protocol):
    def __call__(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
        """POST; the HTTP status. OSError when no answer came."""
        ...


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a 3xx answer is a failed delivery, not a new destination


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())


def http_post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")  # noqa: S310
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            response.read(65536)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code)


class DeliveryWorker:
    def __init__(
        self,
        storage: Storage,
        root: Aead,
        clock: Clock,
        random: Random,
        settings: DeliverySettings,
        send: Sender = http_post,
    ) -> None:
        self._storage = storage
        self._root = root
        self._clock = clock
        self._random = random
        self._settings = settings
        self._send = send
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None

    def start(self) -> None:
        self._pool = ThreadPoolExecutor(self._settings.senders, thread_name_prefix="cofre-hook")
        self._thread = threading.Thread(target=self._run, name="cofre-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._settings.timeout + 5)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        while not self._stop.wait(self._settings.poll_interval):
            try:
                while self.run_once() >= self._settings.batch and not self._stop.is_set():
                    pass  # a full batch: more may be due
            except Exception as exc:
                report_failure(log, "webhook delivery round failed; retrying later", exc)

    def run_once(self) -> int:
        """One round: claim due deliveries and send them; how many were claimed."""
        now = self._clock.now()
        lease_until = now + timedelta(seconds=self._settings.lease)
        with self._storage.read() as rtx:
            if not rtx.param_delivery_due(now):
                return 0
        with self._storage.write() as tx:
            claimed = tx.claim_param_deliveries(now, lease_until, self._settings.batch)
        if self._pool is None or len(claimed) <= 1:
            for item in claimed:
                self._deliver(item)
        else:
            for future in [self._pool.submit(self._deliver, item) for item in claimed]:
                future.result()
        return len(claimed)

    def _deliver(self, item: ClaimedDelivery) -> None:
        delivery = item.delivery
        error = ""
        try:
            secret = unwrap(
                self._root, item.secret_wrapped, webhook_secret_aad(delivery.webhook_id)
            )
            timestamp = int(self._clock.now().timestamp())
            headers = {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                EVENT_ID_HEADER: delivery.event_id,
                WEBHOOK_ID_HEADER: delivery.webhook_id,
                TIMESTAMP_HEADER: str(timestamp),
                SIGNATURE_HEADER: signature(secret, timestamp, delivery.body),
            }
            status = self._send(item.url, delivery.body, headers, self._settings.timeout)
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except CofreError:
            error = "the webhook secret cannot be unwrapped"
        except (OSError, ValueError) as exc:  # refused, timed out, reset, bad URL
            error = type(exc).__name__
        self._settle(item, error)

    def _settle(self, item: ClaimedDelivery, error: str) -> None:
        delivery = item.delivery
        now = self._clock.now()
        with self._storage.write() as tx:
            if not error:
                tx.finish_param_delivery(delivery.delivery_id)
                return
            attempts = delivery.attempts + 1
            if now - delivery.created_at > timedelta(seconds=self._settings.max_age):
                log.warning(
                    "dropping event %s for webhook %s after %d attempts: %s",
                    delivery.event_id,
                    delivery.webhook_id,
                    attempts,
                    error,
                )
                tx.finish_param_delivery(delivery.delivery_id)
                return
            jitter = int.from_bytes(self._random(2), "big") / 65536
            delay = retry_delay(
                attempts, self._settings.retry_base, self._settings.retry_cap, jitter
            )
            tx.retry_param_delivery(
                delivery.delivery_id, attempts, now + timedelta(seconds=delay), error
            )
