"""What the pipeline takes in and gives back, and the error responses both protocols use."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import orjson

from cofre.api.errors import error_body, query_error
from cofre.api.query.protocol import encode_error as query_error_body
from cofre.errors import CofreError, InternalError

log = logging.getLogger("cofre.api")

MAX_BODY = 1024 * 1024
JSON_TYPE = b"application/x-amz-json-1.1"
XML_TYPE = b"text/xml"


@dataclass(slots=True)
class Incoming:
    method: str
    path: bytes  # raw, as on the wire
    query: bytes
    headers: list[tuple[bytes, bytes]]  # lower-case names
    body: bytes | None  # None: larger than MAX_BODY
    client_ip: str
    secure: bool
    header_map: dict[bytes, bytes] | None = None  # by name, repeats joined (header_map())


def header_map(headers: list[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """The headers by (lower-case) name, a repeated header's trimmed values joined with
    "," as SigV4 canonicalises them."""
    out: dict[bytes, bytes] = {}
    for name, value in headers:
        known = out.get(name)
        out[name] = (
            value if known is None else b" ".join(known.split()) + b"," + b" ".join(value.split())
        )
    return out


@dataclass(slots=True)
class Outgoing:
    status: int
    body: bytes
    content_type: bytes = JSON_TYPE
    request_id: str = ""
    error_code: str = ""  # an error's AWS code (for metrics and logs); "" for a success
    headers: tuple[tuple[bytes, bytes], ...] = ()  # more headers (the console's)


class Later:
    """A response the event loop's own thread gives later in the same turn (once its
    call is in the audit journal, with the others of the turn): an asyncio future's
    ``done``, ``result``, ``cancel`` and ``add_done_callback``, but calling back at once
    when it completes, where a future schedules each callback for a later turn of the
    loop -- one turn, one poll and one scheduled callback per response saved."""

    __slots__ = ("_callbacks", "_cancelled", "_response")

    def __init__(self) -> None:
        self._response: Outgoing | None = None
        self._callbacks: list[Callable[[Later], object]] = []
        self._cancelled = False

    def done(self) -> bool:
        return self._response is not None or self._cancelled

    def result(self) -> Outgoing:
        if self._cancelled:
            raise asyncio.CancelledError()
        if self._response is None:
            raise asyncio.InvalidStateError("the response is not ready")
        return self._response

    def cancel(self) -> bool:
        """Nobody waits any more (the connection is gone): drop the callbacks."""
        if self.done():
            return False
        self._cancelled = True
        self._callbacks.clear()
        return True

    def set_result(self, response: Outgoing) -> None:
        if self.done():
            raise asyncio.InvalidStateError("the response was given already")
        self._response = response
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            try:
                callback(self)
            except Exception:  # one connection's failure is not the burst's
                log.exception("a response callback failed")

    def add_done_callback(self, callback: Callable[[Later], object]) -> None:
        if self.done():
            callback(self)
        else:
            self._callbacks.append(callback)


Pending = asyncio.Future[Outgoing] | Later  # a response to come
Response = Outgoing | Pending  # what the pipeline gives the HTTP layer


class Handler(Protocol):
    """What answers a listener's requests (the pipeline, or the metrics listener's)."""

    def handle(self, request: Incoming) -> Response: ...


def error_response(
    error: CofreError, request_id: str, query: bool = False, service: str = "kms"
) -> Outgoing:
    if query:
        code, status = query_error(error)
        body = query_error_body(code, error.message, request_id, sender=status < 500)
        return Outgoing(status, body, XML_TYPE, request_id, code)
    members, status = error_body(error, service)
    return Outgoing(status, orjson.dumps(members), JSON_TYPE, request_id, members["__type"])


def internal_error(request_id: str, query: bool, service: str = "kms") -> Outgoing:
    """A fault of ours: logged with its traceback, answered with no detail."""
    log.exception("internal error in request %s", request_id)
    return error_response(InternalError(), request_id, query, service)


def header(request: Incoming, name: bytes) -> str:
    """The value of header ``name`` (lower-case), "" if absent."""
    if request.header_map is None:
        request.header_map = header_map(request.headers)
    value = request.header_map.get(name)
    return "" if value is None else value.decode("latin-1")


def raw_header(request: Incoming, name: bytes) -> bytes:
    for header, value in request.headers:
        if header == name:
            return value
    return b""
