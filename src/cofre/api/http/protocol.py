"""HTTP/1.1 over asyncio (uvloop) with the httptools parser: keep-alive, pipelining in
order, one write per response, idle and request timeouts, a body size limit.

Kept deliberately small: everything about the request's meaning is in ``pipeline.py``.
See docs/adr/0005-http-front-end.md for why this is not an ASGI server.
"""

from __future__ import annotations

import asyncio
import collections
import time
from email.utils import formatdate
from http import HTTPStatus
from typing import cast

import httptools

from cofre.api.http.exchange import MAX_BODY, Handler, Incoming, Outgoing, Response

KEEP_ALIVE_TIMEOUT = 75.0  # idle keep-alive connection (AWS SDKs reuse for ~60 s)
REQUEST_TIMEOUT = 60.0  # from the first byte of a request to its last
HIGH_WATER = 256 * 1024

_REASONS = {s.value: s.phrase.encode() for s in HTTPStatus}
_BAD_REQUEST_BODY = (
    b'{"__type":"SerializationException","message":"The request is not valid HTTP/1.1: it'
    b' cannot be parsed, so the connection is closed."}'
)
_BAD_REQUEST = (
    b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\n"
    b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
) % (len(_BAD_REQUEST_BODY), _BAD_REQUEST_BODY)


class _DateCache:
    __slots__ = ("_second", "_value")

    def __init__(self) -> None:
        self._second = -1
        self._value = b""

    def get(self) -> bytes:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._value = formatdate(now, usegmt=True).encode()
        return self._value


_DATE = _DateCache()


def render(response: Outgoing, keep_alive: bool) -> bytes:
    head = b"HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %d\r\nDate: %s\r\n" % (
        response.status,
        _REASONS.get(response.status, b"Unknown"),
        response.content_type,
        len(response.body),
        _DATE.get(),
    )
    if response.request_id:
        head += b"x-amzn-RequestId: " + response.request_id.encode() + b"\r\n"
    for name, value in response.headers:
        head += name + b": " + value + b"\r\n"
    if not keep_alive:
        head += b"Connection: close\r\n"
    return head + b"\r\n" + response.body


class HttpProtocol(asyncio.Protocol):
    def __init__(self, pipeline: Handler, secure: bool) -> None:
        self._pipeline = pipeline
        self._secure = secure
        self._loop = asyncio.get_running_loop()
        self._transport: asyncio.Transport | None = None
        self._parser = httptools.HttpRequestParser(self)
        self._client_ip = ""
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body: list[bytes] = []
        self._size = 0
        self._pending: collections.deque[tuple[Response, bool]] = collections.deque()
        self._timer: asyncio.TimerHandle | None = None
        self._deadline = 0.0
        self._closing = False
        self._paused = False

    # connection ------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        self._transport = transport
        peer = transport.get_extra_info("peername")
        self._client_ip = str(peer[0]) if peer else ""
        transport.set_write_buffer_limits(high=HIGH_WATER)
        self._arm(KEEP_ALIVE_TIMEOUT)

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        if self._timer is not None:
            self._timer.cancel()
        for item, _ in self._pending:
            if not isinstance(item, Outgoing):
                item.cancel()
        self._pending.clear()

    def data_received(self, data: bytes) -> None:
        if self._closing:
            return
        try:
            self._parser.feed_data(data)
        except (httptools.HttpParserError, httptools.HttpParserUpgrade):
            self._abort_bad_request()

    def pause_writing(self) -> None:
        if self._transport is not None and not self._paused:
            self._paused = True
            self._transport.pause_reading()

    def resume_writing(self) -> None:
        if self._transport is not None and self._paused:
            self._paused = False
            self._transport.resume_reading()

    def _arm(self, seconds: float) -> None:
        """Move the connection's deadline; the timer is re-armed only when it fires."""
        self._deadline = self._loop.time() + seconds
        if self._timer is None:
            self._timer = self._loop.call_at(self._deadline, self._timeout)

    def _timeout(self) -> None:
        self._timer = None
        if self._closing or self._transport is None:
            return
        if self._pending or self._loop.time() < self._deadline:
            self._timer = self._loop.call_at(
                max(self._deadline, self._loop.time() + 1.0), self._timeout
            )
            return
        self._closing = True
        self._transport.close()

    def _abort_bad_request(self) -> None:
        self._closing = True
        if self._transport is not None:
            self._transport.write(_BAD_REQUEST)
            self._transport.close()

    # parser callbacks ------------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._body = []
        self._size = 0
        self._arm(REQUEST_TIMEOUT)

    def on_url(self, url: bytes) -> None:
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        for name, value in self._headers:
            if name == b"expect" and value.lower() == b"100-continue":
                assert self._transport is not None
                self._transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self._size += len(body)
        if self._size <= MAX_BODY:
            self._body.append(body)

    def on_message_complete(self) -> None:
        parsed = httptools.parse_url(self._url)
        request = Incoming(
            method=self._parser.get_method().decode("latin-1"),
            path=parsed.path or b"/",
            query=parsed.query or b"",
            headers=self._headers,
            body=None if self._size > MAX_BODY else b"".join(self._body),
            client_ip=self._client_ip,
            secure=self._secure,
        )
        keep_alive = bool(self._parser.should_keep_alive())
        result = self._pipeline.handle(request)
        self._pending.append((result, keep_alive))
        if not isinstance(result, Outgoing):
            result.add_done_callback(self._on_done)
        self._flush()

    # responses -------------------------------------------------------------------------
    def _on_done(self, _: object) -> None:
        self._flush()

    def _flush(self) -> None:
        """Write every finished response at the head of the queue, in request order."""
        transport = self._transport
        while self._pending and not self._closing and transport is not None:
            item, keep_alive = self._pending[0]
            if not isinstance(item, Outgoing):
                if not item.done():
                    return
                response = item.result()
            else:
                response = item
            self._pending.popleft()
            transport.write(render(response, keep_alive))
            if not keep_alive:
                self._closing = True
                transport.close()
                return
        if not self._pending and not self._closing:
            self._arm(KEEP_ALIVE_TIMEOUT)
