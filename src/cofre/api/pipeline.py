"""What happens to one request, whatever carries it over the network.

read body -> authenticate (SigV4) -> find the operation -> decode and validate the input
(botocore model) -> handler (service) -> encode. Two protocols share the endpoint: AWS
JSON 1.1 (an ``X-Amz-Target`` header: KMS, and Cofre's admin API) and the AWS Query
protocol (a form body, answered in XML: IAM and STS, told apart by the service in the
signature's credential scope). Every CofreError is mapped once (``errors.py``); anything
else is logged and answered as an internal error with no detail. Cryptographic operations
(cache only) complete synchronously; the others run in a thread pool and complete through
a future.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import logging
import os
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson

from cofre.api import admin, cloudtrail, kms, ssm
from cofre.api.errors import query_error, wire_error
from cofre.api.iam import IAM_OPERATIONS, STS_OPERATIONS
from cofre.api.model import ServiceModel, encode_output
from cofre.api.operation import Operation, Params
from cofre.api.query import QueryOperation, QueryService
from cofre.api.query import encode_error as query_error_body
from cofre.api.sigv4 import HttpRequest, SigV4Caller, SigV4Verifier
from cofre.config import Settings
from cofre.core.ids import is_region
from cofre.core.principals import Caller
from cofre.errors import (
    CofreError,
    ExpiredTokenError,
    InternalError,
    InvalidSignatureError,
    UnknownOperationError,
    UnrecognizedClientError,
    UnsupportedOperationError,
    ValidationError,
)
from cofre.service.container import Services
from cofre.service.iam_roles import session_token_hash
from cofre.service.keycache import CachedCredential

log = logging.getLogger("cofre.api")

MAX_BODY = 1024 * 1024
JSON_TYPE = b"application/x-amz-json-1.1"
XML_TYPE = b"text/xml"
QUERY_SERVICES = {"iam": IAM_OPERATIONS, "sts": STS_OPERATIONS}
_SIGNING_SERVICES = frozenset({"kms", "ssm", "iam", "sts", "cofre", "cloudtrail"})
_HEALTH = orjson.dumps({"status": "ok"})
_INTERNAL = orjson.dumps(
    {"__type": "KMSInternalException", "message": "An internal error occurred."}
)


@dataclass(slots=True)
class Incoming:
    method: str
    path: bytes  # raw, as on the wire
    query: bytes
    headers: list[tuple[bytes, bytes]]  # lower-case names
    body: bytes | None  # None: larger than MAX_BODY
    client_ip: str
    secure: bool


@dataclass(slots=True)
class Outgoing:
    status: int
    body: bytes
    content_type: bytes = JSON_TYPE
    request_id: str = ""


class _Secrets:
    """Secret lookup for the verifier; remembers the entry so the caller is built from it.

    Authentication runs on the event loop thread only, so ``last`` is not shared.
    """

    def __init__(self, services: Services) -> None:
        self._services = services
        self.last: CachedCredential | None = None

    def secret_for(self, access_key_id: str) -> str | None:
        self.last = entry = self._services.cache.credential(access_key_id)
        return None if entry is None else entry.secret


class _RequestIds:
    """UUID-shaped request ids: a random per-process prefix and a counter (no syscall)."""

    def __init__(self) -> None:
        raw = os.urandom(10).hex()
        self._prefix = f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-a{raw[17:20]}-"
        self._counter = itertools.count(int.from_bytes(os.urandom(4), "big"))

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._counter) & 0xFFFFFFFFFFFF:012x}"


_request_id = _RequestIds()


def error_response(error: CofreError, request_id: str, query: bool = False) -> Outgoing:
    if query:
        code, status = query_error(error)
        body = query_error_body(code, error.message, request_id, sender=status < 500)
        return Outgoing(status, body, XML_TYPE, request_id)
    type_name, status = wire_error(error)
    body = orjson.dumps({"__type": type_name, "message": error.message})
    return Outgoing(status, body, JSON_TYPE, request_id)


def internal_error(request_id: str, query: bool) -> Outgoing:
    """A fault of ours: logged with its traceback, answered with no detail."""
    log.exception("internal error in request %s", request_id)
    if query:
        return error_response(InternalError(), request_id, query=True)
    return Outgoing(500, _INTERNAL, JSON_TYPE, request_id)


def _header(request: Incoming, name: bytes) -> str:
    for header, value in request.headers:
        if header == name:
            return value.decode("latin-1")
    return ""


@dataclass(frozen=True, slots=True)
class JsonService:
    """An AWS JSON 1.1 service: its model, its handlers, the SigV4 service it signs for."""

    signing_name: str
    model: ServiceModel
    operations: dict[str, Operation]

    @classmethod
    def load(cls, name: str, operations: dict[str, Operation]) -> JsonService:
        return cls(name, ServiceModel.load(name), operations)


class Pipeline:
    def __init__(self, settings: Settings, services: Services, threads: int = 8) -> None:
        self.settings = settings
        self.services = services
        self._json: dict[str, JsonService] = {
            service.model.target_prefix: service
            for service in (
                JsonService.load("kms", kms.OPERATIONS),
                JsonService.load("ssm", ssm.OPERATIONS),
                JsonService.load("cloudtrail", cloudtrail.OPERATIONS),
            )
        }
        self._regions = frozenset(settings.regions)
        self._executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="cofre-op")
        self._secrets = _Secrets(services)
        self._verifier = SigV4Verifier(self._secrets)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=False)

    def handle(self, request: Incoming) -> Outgoing | asyncio.Future[Outgoing]:
        """The response, or a future of it for operations that run in the thread pool."""
        if request.method == "GET" and request.path == b"/health":
            return Outgoing(200, _HEALTH, b"application/json")
        request_id = _request_id()
        target = _header(request, b"x-amz-target")
        try:
            return self._dispatch(request, target, request_id)
        except CofreError as error:
            return error_response(error, request_id, query=not target)
        except Exception:
            return internal_error(request_id, query=not target)

    def _dispatch(
        self, request: Incoming, target: str, request_id: str
    ) -> Outgoing | asyncio.Future[Outgoing]:
        if request.body is None:
            raise ValidationError(f"The request body is larger than {MAX_BODY} bytes.")
        if request.method != "POST":
            raise UnknownOperationError("Only POST / is served.")
        caller, signed = self._authenticate(request)
        if not target:
            return self._dispatch_query(request.body, caller, signed.service, request_id)
        if target.startswith(admin.TARGET_PREFIX):
            self._require_service(signed, "cofre")
            operation = admin.OPERATIONS.get(target[len(admin.TARGET_PREFIX) :])
            if operation is None:
                raise UnknownOperationError(f"Unknown operation {target[:100]!r}")
            return self._submit(operation, caller, admin.parse_input(request.body), request_id)
        prefix, _, op_name = target.rpartition(".")  # CloudTrail's prefix has dots
        service = self._json.get(prefix)
        if service is None:
            raise UnknownOperationError(f"Unknown operation {target[:100]!r}")
        self._require_service(signed, service.signing_name)
        operation = service.operations.get(op_name)
        if operation is None:
            if op_name in service.model.operation_names():
                raise UnsupportedOperationError(f"{op_name} is not supported by Cofre yet.")
            raise UnknownOperationError(f"Unknown operation {target[:100]!r}")
        params = service.model.operation(op_name).parse_input(request.body)
        if operation.inline:
            return Outgoing(200, encode_output(operation.handler(self.services, caller, params)),
                            JSON_TYPE, request_id)  # fmt: skip
        return self._submit(operation, caller, params, request_id)

    def _dispatch_query(
        self, body: bytes, caller: Caller, service: str, request_id: str
    ) -> asyncio.Future[Outgoing]:
        operations = QUERY_SERVICES.get(service)
        if operations is None:
            raise UnknownOperationError(
                "A request without X-Amz-Target must be an IAM or STS Query request."
            )
        query = QueryService.load(service)
        wire_op, params = query.decode_request(body)
        operation = operations.get(wire_op.name)
        if operation is None:
            raise UnsupportedOperationError(f"{wire_op.name} is not supported by Cofre yet.")
        return self._submit(operation, caller, params, request_id, wire_op)

    @staticmethod
    def _require_service(signed: SigV4Caller, service: str) -> None:
        if signed.service != service:
            raise InvalidSignatureError(
                f"Credential should be scoped to correct service: '{service}'."
            )

    def _submit(
        self,
        operation: Operation,
        caller: Caller,
        params: Params,
        request_id: str,
        wire_op: QueryOperation | None = None,
    ) -> asyncio.Future[Outgoing]:
        pending: Future[Outgoing] = self._executor.submit(
            self._run, operation, caller, params, request_id, wire_op
        )
        return asyncio.wrap_future(pending)

    def _run(
        self,
        operation: Operation,
        caller: Caller,
        params: Params,
        request_id: str,
        wire_op: QueryOperation | None,
    ) -> Outgoing:
        """Run a handler in the thread pool; ``wire_op`` is set for Query (XML) operations."""
        query = wire_op is not None
        try:
            result = operation.handler(self.services, caller, params)
            if wire_op is None:
                return Outgoing(200, encode_output(result), JSON_TYPE, request_id)
            return Outgoing(200, wire_op.encode_response(result, request_id), XML_TYPE, request_id)
        except CofreError as error:
            return error_response(error, request_id, query=query)
        except Exception:
            return internal_error(request_id, query=query)

    def _authenticate(self, request: Incoming) -> tuple[Caller, SigV4Caller]:
        assert request.body is not None
        now = datetime.now(UTC)
        signed = self._verifier.verify(
            HttpRequest(
                method=request.method,
                path=request.path.decode("utf-8", "surrogateescape") or "/",
                query_string=request.query,
                headers=request.headers,
                body=request.body,
            ),
            now,
        )
        if signed.service not in _SIGNING_SERVICES:
            raise InvalidSignatureError(
                f"Credential should be scoped to a service Cofre serves, not"
                f" '{signed.service[:40]}'."
            )
        regional = signed.service in ("kms", "ssm")
        if not is_region(signed.region) or (
            regional and self._regions and signed.region not in self._regions
        ):
            raise UnrecognizedClientError(
                f"The region '{signed.region[:40]}' is not served by this endpoint."
            )
        entry = self._secrets.last
        if entry is None or entry.credential.access_key_id != signed.access_key_id:
            entry = self.services.cache.credential(signed.access_key_id)
        if entry is None:
            raise UnrecognizedClientError()
        credential = entry.credential
        if credential.session_token_hash is not None:
            token = signed.session_token
            if token is None or not hmac.compare_digest(
                session_token_hash(token), credential.session_token_hash
            ):
                raise UnrecognizedClientError()
            if (
                credential.expires_at is not None
                and credential.expires_at <= self.services.clock.now()
            ):
                raise ExpiredTokenError()
        elif signed.session_token is not None:
            raise UnrecognizedClientError()
        return Caller(
            account_id=credential.account_id,
            principal_arn=credential.principal_arn,
            access_key_id=signed.access_key_id,
            region=signed.region,
            source_ip=request.client_ip,
            user_agent=_header(request, b"user-agent"),
            secure_transport=request.secure,
            user_name=credential.user_name,
            principal_id=credential.principal_id,
            role_arn=credential.role_arn,
        ), signed
