"""Requests that reach the server several per turn of its event loop -- pipelined on one
connection -- are journaled as a burst, one write, and each response leaves only after
that write: in request order, each with its own record (ADR 11, "The journal")."""

from __future__ import annotations

import base64
import json
import socket
from typing import Any

from tests.support import audit_db
from tests.support.server import CofreServer
from tests.support.signing import signed_json

Response = tuple[int, dict[str, str], bytes]


def _signed(server: CofreServer, target: str, params: dict[str, Any]) -> bytes:
    """One HTTP/1.1 request, SigV4-signed by botocore, as bytes on the wire."""
    body, headers = signed_json(server, target, params, service="kms")
    lines = ["POST / HTTP/1.1", f"Host: 127.0.0.1:{server.port}", f"Content-Length: {len(body)}"]
    for name, value in headers.items():
        if name.lower() not in ("host", "content-length"):
            lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def _pipelined(server: CofreServer, requests: list[bytes]) -> list[Response]:
    """Send ``requests`` in one write on one connection; their responses, as they came."""
    responses: list[Response] = []
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
        sock.sendall(b"".join(requests))
        buffer = b""
        while len(responses) < len(requests):
            while b"\r\n\r\n" not in buffer:
                buffer += _received(sock)
            head, _, buffer = buffer.partition(b"\r\n\r\n")
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            pairs = (line.split(": ", 1) for line in header_lines)
            headers = {name.lower(): value for name, value in pairs}
            length = int(headers["content-length"])
            while len(buffer) < length:
                buffer += _received(sock)
            responses.append((int(status_line.split()[1]), headers, buffer[:length]))
            buffer = buffer[length:]
    return responses


def _received(sock: socket.socket) -> bytes:
    chunk = sock.recv(65536)
    assert chunk, "the server closed the connection early"
    return chunk


def test_pipelined_calls_are_answered_in_order_each_with_its_record(
    server: CofreServer,
) -> None:
    kms = server.client("kms")
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    plaintexts = [f"burst secret {n:03}".encode() for n in range(40)]
    requests = [
        _signed(
            server,
            "TrentService.Encrypt",
            {"KeyId": arn, "Plaintext": base64.b64encode(text).decode()},
        )
        for text in plaintexts
    ]
    # two rounds: the second comes while the server batches (its last turn had several)
    responses = _pipelined(server, requests[:20]) + _pipelined(server, requests[20:])

    request_ids = []
    for (status, headers, body), plaintext in zip(responses, plaintexts, strict=True):
        assert status == 200, body
        blob = base64.b64decode(json.loads(body)["CiphertextBlob"])
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == plaintext  # in request order
        request_ids.append(headers["x-amzn-requestid"])
    assert len(set(request_ids)) == len(request_ids)

    server.client("cloudtrail").lookup_events(MaxResults=1)  # the journal into the chain
    encrypts: dict[str, list[dict[str, Any]]] = {}
    for event in audit_db.stored_events(server.data_dir, server.database):
        if event["eventName"] == "Encrypt":
            encrypts.setdefault(event["requestID"], []).append(event)
    for request_id in request_ids:
        [event] = encrypts[request_id]
        assert event["resources"][0]["ARN"] == arn
        assert event["requestParameters"]["keyId"] == arn
        assert "plaintext" not in event["requestParameters"]
