"""HTTP-level garbage, sent over raw sockets to a real server: bad methods, bad or lying
Content-Length, truncated bodies, garbage headers and request lines, oversized parts.
Every answer is below 500 and AWS-shaped (JSON with an ``__type``, or the Query
protocol's XML error for a request without ``X-Amz-Target``); the server goes on
serving."""

from __future__ import annotations

import json
import socket
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from tests.support.server import CofreServer

TARGET = b"X-Amz-Target: TrentService.ListKeys\r\n"
JSON_TYPE = b"Content-Type: application/x-amz-json-1.1\r\n"

CASES: list[tuple[str, bytes]] = [
    ("GET /", b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"),
    ("PUT /", b"PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n{}"),
    ("DELETE /", b"DELETE / HTTP/1.1\r\nHost: h\r\n\r\n"),
    ("OPTIONS *", b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n"),
    ("GET /some/path?x=1", b"GET /some/path?x=1 HTTP/1.1\r\nHost: h\r\n\r\n"),
    ("POST without a signature", b"POST / HTTP/1.1\r\nHost: h\r\n" + TARGET + JSON_TYPE
     + b"Content-Length: 2\r\n\r\n{}"),
    ("a garbage Authorization", b"POST / HTTP/1.1\r\nHost: h\r\n" + TARGET + JSON_TYPE
     + b"Authorization: AWS4-HMAC-SHA256 Credential=\r\nContent-Length: 2\r\n\r\n{}"),
    ("an Authorization of another scheme", b"POST / HTTP/1.1\r\nHost: h\r\n" + TARGET
     + b"Authorization: Basic dXNlcjpwYXNz\r\nContent-Length: 0\r\n\r\n"),
    ("Content-Length not a number", b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\n"),
    ("Content-Length negative", b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -5\r\n\r\n"),
    ("Content-Length twice, different", b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n"
     b"Content-Length: 3\r\n\r\n{}"),
    ("Content-Length smaller than the body", b"POST / HTTP/1.1\r\nHost: h\r\n" + TARGET
     + b"Content-Length: 1\r\n\r\n{}garbage"),
    ("a garbage request line", b"HELLO THERE\r\n\r\n"),
    ("a header without a colon", b"POST / HTTP/1.1\r\nHost: h\r\nNoColonHere\r\n\r\n"),
    ("bytes that are not text", b"POST /\xff\xfe HTTP/1.1\r\nHost: \xc3\x28\r\n"
     b"X-Amz-Target: \xff\xff\r\nContent-Length: 0\r\n\r\n"),
    ("a 100 KB header", b"POST / HTTP/1.1\r\nHost: h\r\nX-Big: " + b"a" * 100_000
     + b"\r\nContent-Length: 0\r\n\r\n"),
    ("a body over the limit", b"POST / HTTP/1.1\r\nHost: h\r\n" + TARGET + JSON_TYPE
     + b"Content-Length: 1100000\r\n\r\n" + b"x" * 1_100_000),
    ("a malformed chunk", b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"zz\r\nabc\r\n0\r\n\r\n"),
    ("HTTP/1.0 without Host", b"POST / HTTP/1.0\r\nContent-Length: 0\r\n\r\n"),
    ("HTTP/2 preface", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
    ("a TLS hello on plain HTTP", bytes.fromhex("160301002a0100002603035a") + b"\x00" * 40),
]  # fmt: skip


def _exchange(server: CofreServer, raw: bytes, *, close_write: bool = False) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(raw)
        if close_write:
            sock.shutdown(socket.SHUT_WR)
        chunks: list[bytes] = []
        sock.settimeout(5)
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                if _complete(b"".join(chunks)):
                    break
        except TimeoutError:
            pass
    return b"".join(chunks)


def _complete(data: bytes) -> bool:
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return False


def _check(answer: bytes) -> str | None:
    """Why ``answer`` is not an AWS-shaped refusal below 500, or None."""
    if not answer:
        return "no answer"
    status_line, _, rest = answer.partition(b"\r\n")
    parts = status_line.split(b" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        return f"not HTTP: {answer[:80]!r}"
    status = int(parts[1])
    if status >= 500:
        return f"HTTP {status}: {answer[:300]!r}"
    head, _, body = rest.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):  # the first answer only (garbage may follow it)
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            body = body[: int(value.strip())]
    if body.startswith(b"<"):  # the Query protocol's errors (no X-Amz-Target): XML
        try:
            code = ET.fromstring(body).findtext(".//{*}Error/{*}Code")
        except ET.ParseError:
            return f"not XML: {body[:200]!r}"
        return None if code else f"no <Code>: {body[:200]!r}"
    try:
        document: Any = json.loads(body)
    except ValueError:
        return f"not JSON: {body[:200]!r}"
    if not isinstance(document, dict) or not document.get("__type"):
        return f"no __type: {body[:200]!r}"
    return None


@pytest.mark.parametrize(("what", "raw"), CASES, ids=[c[0] for c in CASES])
def test_garbage_gets_an_aws_shaped_refusal(server: CofreServer, what: str, raw: bytes) -> None:
    problem = _check(_exchange(server, raw))
    assert problem is None, f"{what}: {problem}"
    _still_serving(server)


def test_a_truncated_body_does_not_hurt_the_server(server: CofreServer) -> None:
    raw = b"POST / HTTP/1.1\r\nHost: h\r\n" + TARGET + b'Content-Length: 100\r\n\r\n{"Li'
    _exchange(server, raw, close_write=True)  # the client gives up mid-body
    for _ in range(20):  # and again, many times
        with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
            sock.sendall(raw)
    _still_serving(server)


def _still_serving(server: CofreServer) -> None:
    kms = server.client("kms")
    assert "Keys" in kms.list_keys()
