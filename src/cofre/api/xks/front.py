"""The XKS Proxy API's front: one request's path, from the wire to its audit record.

path -> (GET: 405) -> SigV4 for ``kms-xks-proxy`` with the store's credential -> the
path's store must be the credential's -> body and ``requestMetadata`` -> the operation
(``service/xks/proxy.py``) -> the audit record -> the answer. As in the main pipeline,
a call runs on the event loop when everything it needs is cached, and again on a thread
of the pool when it needs storage (``WouldBlock``); its record is durable before its
answer leaves (fail closed).

Every call, failed or not, is recorded with service ``kms-xks-proxy``, the operation's
name in the specification, the store's account and Region, the key's ARN, and the
``requestMetadata`` AWS KMS sent (principal, operation, request id) as its parameters.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from cofre.api.http.exchange import Handler, Incoming, Later, Outgoing, Response, raw_header
from cofre.api.pipeline.attempt import Attempt, claimed_scope
from cofre.api.sigv4.verify import HttpRequest, SigV4Verifier
from cofre.api.xks import wire
from cofre.api.xks.wire import is_xks_path
from cofre.container import Services
from cofre.core.audit.events import AuditCall
from cofre.core.xks.audit import SERVICE
from cofre.errors import (
    AuditUnavailableError,
    CofreError,
    InvalidSignatureError,
    SealedError,
    StorageError,
    UnknownOperationError,
    UnsupportedOperationError,
    ValidationError,
)
from cofre.service.blocking import NONBLOCKING, WouldBlock
from cofre.service.xks.proxy import MODEL, VENDOR, ServedStore, XksDirectory

log = logging.getLogger("cofre.api.xks")

MAX_SKEW = timedelta(minutes=5)  # Appendix A: "more than 5 minutes ... SHOULD fail"


class _Secrets:
    def __init__(self, directory: XksDirectory) -> None:
        self._directory = directory

    def secret_for(self, access_key_id: str) -> str | None:
        served = self._directory.by_access_key(access_key_id)
        return None if served is None else served.secrets.get(access_key_id)


class _MethodNotAllowedError(ValidationError):
    """A GET (or any method but POST) at an XKS API path: 405."""


class XksFront:
    def __init__(self, services: Services, executor: ThreadPoolExecutor) -> None:
        self._services = services
        self._proxy = services.xks
        self._executor = executor
        self._verifier = SigV4Verifier(_Secrets(services.xks.directory), max_skew=MAX_SKEW)

    def handle(self, request: Incoming, attempt: Attempt) -> Response:
        """The response, or one to come: either way it leaves after its record."""
        try:
            with NONBLOCKING:
                outgoing, call = self._answer(request, attempt)
        except WouldBlock:  # start again where waiting is allowed
            return self._submit(request, attempt)
        answer = _Answer(outgoing)
        self._services.audit.record(call, then=answer)
        return answer.given()

    def _submit(self, request: Incoming, attempt: Attempt) -> asyncio.Future[Outgoing]:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        fresh = Attempt.begin(
            attempt.request_id, attempt.time, attempt.source_ip, attempt.user_agent
        )
        self._executor.submit(self._in_thread, request, fresh, loop, done)
        return done

    def _in_thread(
        self,
        request: Incoming,
        attempt: Attempt,
        loop: asyncio.AbstractEventLoop,
        done: asyncio.Future[Outgoing],
    ) -> None:
        try:
            response, call = self._answer(request, attempt)
            try:
                self._services.audit.record(call)
            except (AuditUnavailableError, StorageError):
                response = _failure(attempt.request_id, "InternalException", 500, "")
        except Exception:
            log.exception("internal error in XKS request %s", attempt.request_id)
            response = _failure(attempt.request_id, "InternalException", 500, "")
        try:
            loop.call_soon_threadsafe(_resolve, done, response)
        except RuntimeError:  # the loop is closed: nobody waits any more
            pass

    # one call -------------------------------------------------------------------------------
    def _answer(self, request: Incoming, attempt: Attempt) -> tuple[Outgoing, AuditCall]:
        attempt.service, attempt.read_only = SERVICE, True
        resources: list[str] = []
        try:
            output = self._run(request, attempt, resources)
        except WouldBlock:
            raise
        except CofreError as error:
            name, status = wire.error_of(error)
            if isinstance(error, _MethodNotAllowedError):
                status = 405
            call = attempt.finish(error_code=name, error_message=error.message, resources=resources)
            return _failure(attempt.request_id, name, status, error.message), call
        except Exception:
            log.exception("internal error in XKS request %s", attempt.request_id)
            call = attempt.finish(error_code="InternalException", resources=resources)
            return _failure(attempt.request_id, "InternalException", 500, ""), call
        body = orjson.dumps(output)
        return Outgoing(200, body, wire.JSON, attempt.request_id), attempt.finish(
            resources=resources
        )

    def _run(self, request: Incoming, attempt: Attempt, resources: list[str]) -> dict[str, Any]:
        path = wire.parse_path(request.path)
        attempt.operation = path.operation
        if request.method != "POST":
            raise _MethodNotAllowedError("The XKS API takes POST requests only.")
        if self._services.keyring.sealed:
            raise SealedError()
        if request.body is None:
            raise UnsupportedOperationError("The request body is larger than Cofre accepts.")
        served = self._authenticate(request, attempt, path.store_id)
        parsed = wire.parse_body(path.operation, request.body)
        logged: dict[str, Any] = {"requestMetadata": parsed.metadata}
        if path.external_key_id:
            logged["externalKeyId"] = path.external_key_id
        attempt.params = logged
        if path.operation == "GetHealthStatus":
            return self._health()
        if path.operation == "GetKeyMetadata":
            metadata, arn = self._proxy.metadata(served, path.external_key_id)
            resources.append(arn)
            return {
                "keySpec": metadata.key_spec,
                "keyUsage": list(metadata.key_usage),
                "keyStatus": metadata.key_status,
            }
        logged["encryptionAlgorithm"] = wire.text(parsed, "encryptionAlgorithm", ("AES_GCM",))
        aad = wire.blob(parsed, "additionalAuthenticatedData", required=False)
        if path.operation == "Encrypt":
            return self._encrypt(served, path.external_key_id, parsed, aad, attempt, resources)
        plaintext, arn = self._proxy.decrypt(
            served,
            path.external_key_id,
            wire.blob(parsed, "ciphertext", required=True),
            wire.blob(parsed, "ciphertextMetadata", required=False),
            aad,
            wire.blob(parsed, "initializationVector", required=True),
            wire.blob(parsed, "authenticationTag", required=True),
        )
        resources.append(arn)
        return {"plaintext": wire.b64(plaintext)}

    def _encrypt(
        self,
        served: ServedStore,
        external_key_id: str,
        parsed: wire.XksRequest,
        aad: bytes,
        attempt: Attempt,
        resources: list[str],
    ) -> dict[str, Any]:
        cdiv = wire.optional_text(parsed, "ciphertextDataIntegrityValueAlgorithm", ("SHA_256",))
        if cdiv is not None:
            attempt.params = {
                **(attempt.params or {}),
                "ciphertextDataIntegrityValueAlgorithm": cdiv,
            }
        plaintext = wire.blob(parsed, "plaintext", required=True)
        sealed = self._proxy.encrypt(served, external_key_id, plaintext, aad, cdiv is not None)
        resources.append(sealed.key_arn)
        out = {
            "ciphertext": wire.b64(sealed.ciphertext),
            "ciphertextMetadata": wire.b64(sealed.metadata),
            "initializationVector": wire.b64(sealed.iv),
            "authenticationTag": wire.b64(sealed.tag),
        }
        if sealed.integrity is not None:
            out["ciphertextDataIntegrityValue"] = wire.b64(sealed.integrity)
        return out

    def _health(self) -> dict[str, Any]:
        status = self._proxy.health()
        return {
            "xksProxyFleetSize": 1,
            "xksProxyVendor": VENDOR,
            "xksProxyModel": MODEL,
            "ekmVendor": VENDOR,
            "ekmFleetDetails": [{"id": "cofre", "model": MODEL, "healthStatus": status}],
        }

    def _authenticate(self, request: Incoming, attempt: Attempt, store_id: str) -> ServedStore:
        """The store whose credential signed the request, which must be the path's."""
        assert request.body is not None
        try:
            signed = self._verifier.verify(
                HttpRequest(
                    method=request.method,
                    path=request.path.decode("utf-8", "surrogateescape"),
                    query_string=request.query,
                    headers=request.headers,
                    body=request.body,
                    header_map=request.header_map,
                ),
                datetime.now(UTC),
            )
            if signed.service != SERVICE:
                raise InvalidSignatureError(
                    f"Credential should be scoped to correct service: '{SERVICE}'."
                )
        except CofreError:
            claimed = claimed_scope(raw_header(request, b"authorization"))
            attempt.access_key_id, attempt.region = claimed.access_key_id, claimed.region
            self._attribute(attempt, store_id)
            raise
        attempt.access_key_id = signed.access_key_id
        served = self._proxy.directory.by_access_key(signed.access_key_id)
        if served is None:  # deleted between the two looks
            raise InvalidSignatureError("The access key is not a key store's.")
        store = served.store
        attempt.account_id, attempt.region = store.account_id, store.region
        if store.store_id != store_id:
            raise UnknownOperationError("The URI path is not this key store's.")
        return served

    def _attribute(self, attempt: Attempt, store_id: str) -> None:
        """A failed authentication is recorded for the account of the path's store."""
        try:
            served = self._proxy.served(store_id)
        except CofreError:
            return
        attempt.account_id, attempt.region = served.store.account_id, served.store.region


class XksOnly:
    """A listener of the XKS API alone (``cofre serve --xks-listen``): XKS paths and
    ``GET /health`` go to the pipeline; anything else is InvalidUriPathException."""

    def __init__(self, handler: Handler) -> None:
        self._handler = handler

    def handle(self, request: Incoming) -> Response:
        if is_xks_path(request.path) or (
            request.method == "GET" and request.path.startswith(b"/health")
        ):
            return self._handler.handle(request)
        message = "This listener serves the XKS API only."
        return _failure("", "InvalidUriPathException", 404, message)


def _failure(request_id: str, name: str, status: int, message: str) -> Outgoing:
    return Outgoing(status, wire.error_body(name, message), wire.JSON, request_id)


class _Answer:
    """A call's response, given once its record is durable (or an error if the record
    could not be written): now, or later in this turn of the loop."""

    __slots__ = ("_later", "_response", "_told")

    def __init__(self, response: Outgoing) -> None:
        self._response = response
        self._later: Later | None = None
        self._told = False

    def __call__(self, failure: BaseException | None) -> None:
        response = self._response
        if failure is not None:
            response = _failure(response.request_id, "InternalException", 500, "")
        if self._later is not None:
            self._later.set_result(response)
            return
        self._response, self._told = response, True

    def given(self) -> Outgoing | Later:
        if self._told:
            return self._response
        self._later = Later()
        return self._later


def _resolve(done: asyncio.Future[Outgoing], response: Outgoing) -> None:
    if not done.done():
        done.set_result(response)
