"""For the notification tests: a webhook receiver on loopback, and signed calls to the
``CofreParams.`` operations."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from tests.support.server import ACCESS_KEY_ID, SECRET_ACCESS_KEY, CofreServer
from tests.support.signing import signed_json


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    status: int  # what the receiver answered

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed


class Receiver:
    """A threaded HTTP server recording every POST. ``status`` is what it answers;
    ``hold`` (when set) makes it keep each request open until released."""

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self.status = 200
        self.hold = False
        self.released = threading.Event()
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver.status
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver._lock:
                    receiver.received.append(Received(self.path, headers, body, status))
                if receiver.hold:
                    receiver.released.wait(30)
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def delivered(self, path: str | None = None) -> list[Received]:
        """Requests answered 2xx (to ``path`` if given)."""
        with self._lock:
            return [
                r
                for r in self.received
                if 200 <= r.status < 300 and (path is None or r.path == path)
            ]

    def wait(self, probe: Callable[[], bool], timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not probe():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; received: {self.received}")
            time.sleep(0.05)

    def wait_count(self, path: str, n: int, timeout: float = 15.0) -> list[Received]:
        self.wait(lambda: len(self.delivered(path)) >= n, timeout)
        return self.delivered(path)


def verify(received: Received, secret: str) -> bool:
    """The signature scheme of docs/formats/webhook-signature.md."""
    timestamp = received.headers["x-cofre-timestamp"]
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + received.body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(received.headers["x-cofre-signature"], "sha256=" + expected)


def signed_call(
    server: CofreServer,
    target: str,
    payload: dict[str, Any],
    *,
    key: tuple[str, str] = (ACCESS_KEY_ID, SECRET_ACCESS_KEY),
    service: str = "ssm",
) -> tuple[int, dict[str, Any]]:
    """A SigV4-signed AWS JSON 1.1 call to one of Cofre's own targets: (status, body)."""
    body, headers = signed_json(server, target, payload, key=key, service=service)
    answer = httpx.post(server.url + "/", content=body, headers=headers, timeout=30)
    return answer.status_code, answer.json()


def hooks_call(
    server: CofreServer,
    operation: str,
    payload: dict[str, Any],
    *,
    key: tuple[str, str] = (ACCESS_KEY_ID, SECRET_ACCESS_KEY),
    service: str = "ssm",
) -> tuple[int, dict[str, Any]]:
    """A signed ``CofreParams.<operation>`` call: (HTTP status, decoded body)."""
    return signed_call(server, f"CofreParams.{operation}", payload, key=key, service=service)


def create_hook(server: CofreServer, url: str, **members: str) -> str:
    status, body = hooks_call(server, "CreateWebhook", {"Url": url, **members})
    assert status == 200, body
    return str(body["WebhookId"])
