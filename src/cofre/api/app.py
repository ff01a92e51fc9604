"""The ASGI application: AWS JSON 1.1 on ``POST /``, ``GET /health``, nothing else.

Pipeline of a request: read body -> find the operation (X-Amz-Target) -> authenticate
(SigV4) -> decode and validate the input (botocore model) -> handler (service) -> encode.
Every CofreError is mapped once (``errors.py``); anything else is logged and answered as
an internal error with no detail.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import orjson

from cofre.api import kms
from cofre.api.errors import wire_error
from cofre.api.model import ServiceModel, encode_output
from cofre.api.sigv4 import HttpRequest, SigV4Verifier
from cofre.config import Settings
from cofre.core.ids import is_region
from cofre.core.principals import Caller
from cofre.errors import (
    CofreError,
    InvalidSignatureError,
    UnknownOperationError,
    UnrecognizedClientError,
    ValidationError,
)
from cofre.service.container import Services

log = logging.getLogger("cofre.api")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

MAX_BODY = 1024 * 1024
JSON_TYPE = b"application/x-amz-json-1.1"
_HEALTH = orjson.dumps({"status": "ok"})


class _Secrets:
    def __init__(self, services: Services) -> None:
        self._services = services

    def secret_for(self, access_key_id: str) -> str | None:
        entry = self._services.cache.credential(access_key_id)
        return None if entry is None else entry.secret


class CofreApp:
    def __init__(self, settings: Settings, services: Services | None = None) -> None:
        self.settings = settings
        self.services = services
        self._kms_model = ServiceModel.load("kms")
        self._kms_prefix = self._kms_model.target_prefix + "."
        self._regions = frozenset(settings.regions)
        self._executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="cofre-op")
        self._verifier: SigV4Verifier | None = None

    # lifespan --------------------------------------------------------------------------
    def _startup(self) -> None:
        if self.services is None:
            self.services = Services.build(self.settings)
            self.services.start_background()
        self._verifier = SigV4Verifier(_Secrets(self.services))

    def _shutdown(self) -> None:
        if self.services is not None:
            self.services.close()
        self._executor.shutdown(wait=False)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await asyncio.get_running_loop().run_in_executor(None, self._startup)
                except Exception as exc:
                    log.exception("startup failed")
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self._shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # http ------------------------------------------------------------------------------
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if scope["method"] == "GET" and scope["path"] == "/health":
            await _respond(send, 200, _HEALTH, b"application/json", b"")
            return
        request_id = _request_id()
        body = await _read_body(receive)
        try:
            if body is None:
                raise ValidationError(f"The request body is larger than {MAX_BODY} bytes.")
            if scope["method"] != "POST":
                raise UnknownOperationError("Only POST / with X-Amz-Target is served.")
            status, payload = await self._dispatch(scope, body)
        except CofreError as error:
            status, payload = _error_body(error)
        except Exception:
            log.exception("internal error in request %s", request_id)
            status, payload = (
                500,
                orjson.dumps(
                    {"__type": "KMSInternalException", "message": "An internal error occurred."}
                ),
            )
        await _respond(send, status, payload, JSON_TYPE, request_id.encode())

    async def _dispatch(self, scope: Scope, body: bytes) -> tuple[int, bytes]:
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        target = ""
        for header, value in headers:
            if header == b"x-amz-target":
                target = value.decode("latin-1")
                break
        caller = self._authenticate(scope, headers, body)
        operation = None
        if target.startswith(self._kms_prefix):
            op_name = target[len(self._kms_prefix) :]
            operation = kms.OPERATIONS.get(op_name)
        if operation is None:
            raise UnknownOperationError(f"Unknown operation {target[:100]!r}")
        params = self._kms_model.operation(op_name).parse_input(body)
        services = self.services
        assert services is not None
        if operation.inline:
            result = operation.handler(services, caller, params)
        else:
            loop = asyncio.get_running_loop()
            result = await loop.run_in_executor(
                self._executor, operation.handler, services, caller, params
            )
        return 200, encode_output(result)

    def _authenticate(
        self, scope: Scope, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> Caller:
        assert self._verifier is not None and self.services is not None
        request = HttpRequest(
            method=scope["method"],
            path=scope.get("raw_path", b"/").decode("utf-8", "surrogateescape") or "/",
            query_string=scope.get("query_string", b""),
            headers=headers,
            body=body,
        )
        signed = self._verifier.verify(request, datetime.now(UTC))
        if signed.service != "kms":
            raise InvalidSignatureError("Credential should be scoped to correct service: 'kms'. ")
        if not is_region(signed.region) or (self._regions and signed.region not in self._regions):
            raise UnrecognizedClientError(
                f"The region '{signed.region[:40]}' is not served by this endpoint."
            )
        entry = self.services.cache.credential(signed.access_key_id)
        if entry is None:
            raise UnrecognizedClientError()
        client = scope.get("client") or ("", 0)
        user_agent = ""
        for header, value in headers:
            if header == b"user-agent":
                user_agent = value.decode("latin-1")
        return Caller(
            account_id=entry.credential.account_id,
            principal_arn=entry.credential.principal_arn,
            access_key_id=signed.access_key_id,
            region=signed.region,
            source_ip=client[0] or "",
            user_agent=user_agent,
            secure_transport=scope.get("scheme") == "https",
        )


def _request_id() -> str:
    raw = os.urandom(16).hex()
    return f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-a{raw[17:20]}-{raw[20:]}"


def _error_body(error: CofreError) -> tuple[int, bytes]:
    type_name, status = wire_error(error)
    return status, orjson.dumps({"__type": type_name, "message": error.message})


async def _read_body(receive: Receive) -> bytes | None:
    message = await receive()
    body: bytes = message.get("body", b"")
    if not message.get("more_body", False):
        return body
    chunks = [body]
    size = len(body)
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _respond(
    send: Send, status: int, payload: bytes, content_type: bytes, request_id: bytes
) -> None:
    headers = [
        (b"content-type", content_type),
        (b"content-length", str(len(payload)).encode()),
    ]
    if request_id:
        headers.append((b"x-amzn-requestid", request_id))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def create_app() -> CofreApp:
    """The factory uvicorn workers call; settings come from the serving process."""
    return CofreApp(Settings.from_worker_env())
