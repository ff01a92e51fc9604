"""The bare-app floor: the cheapest ASGI app uvicorn can serve, run the way Cofre runs.

It reads the whole request body and answers every request with the same JSON body, about
the size of an Encrypt response, as ``application/x-amz-json-1.1``. Whatever Cofre does on
top of this (routing, SigV4, JSON, crypto, storage) is what the ratio ``Cofre / bare``
measures; the HTTP parsing, the event loop and the worker processes are the same.

Run it alone::

    .venv/bin/python bench/bare_app.py --port 8100 --workers 2

It is served with the same settings Cofre uses::

    uvicorn.run(..., workers=N, http="httptools", loop="uvloop",
                access_log=False, log_level="warning")
"""

from __future__ import annotations

import argparse
import base64
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def _fixed_body() -> bytes:
    # Shaped like a real Encrypt response of a 64-byte plaintext: KeyId ARN, a base64
    # CiphertextBlob and the algorithm: 349 bytes (Cofre's own Encrypt of 64 bytes: 337).
    blob = base64.b64encode(bytes(range(150))).decode("ascii")
    return (
        '{"CiphertextBlob":"'
        + blob
        + '","EncryptionAlgorithm":"SYMMETRIC_DEFAULT","KeyId":"arn:aws:kms:us-east-1:'
        '111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}'
    ).encode("ascii")


BODY: bytes = _fixed_body()
_START: Message = {
    "type": "http.response.start",
    "status": 200,
    "headers": [
        (b"content-type", b"application/x-amz-json-1.1"),
        (b"content-length", str(len(BODY)).encode("ascii")),
    ],
}
_BODY: Message = {"type": "http.response.body", "body": BODY, "more_body": False}


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """Raw ASGI app: drain the body, send the fixed response. No framework."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":  # http.disconnect
            return
        more = message.get("more_body", False)
    await send(_START)
    await send(_BODY)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    if not args.host.startswith("127."):
        parser.error("the bench binds to loopback only")
    uvicorn.run(
        "bare_app:app",
        app_dir=str(Path(__file__).resolve().parent),
        host=args.host,
        port=args.port,
        workers=args.workers,
        http="httptools",
        loop="uvloop",
        access_log=False,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
