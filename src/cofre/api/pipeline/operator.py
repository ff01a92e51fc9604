"""The operator endpoints that answer without credentials, as Vault's seal endpoints do:
a sealed node cannot check a signature (the secret access keys are wrapped under the
keyring key it does not hold), and an unseal key is its own proof.

* ``GET /cofre/operator/status``: ``{"type", "sealed", "threshold", "shares", "progress"}``;
* ``POST /cofre/operator/unseal`` with ``{"key": "<unseal key>"}``: the status after it.

Every unseal attempt -- taken, refused or the last one -- is recorded in the audit trail
(service ``cofre``, operation ``Unseal``), without the key.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from typing import Any

import orjson

from cofre.api.errors import wire_error
from cofre.api.http.exchange import Incoming, Outgoing, Response, error_response
from cofre.api.pipeline.attempt import Attempt
from cofre.container import Services
from cofre.errors import CofreError, SerializationError, ValidationError

log = logging.getLogger("cofre.api")

PREFIX = b"/cofre/operator/"
GLOBAL_REGION = "us-east-1"  # a node's events have no Region: CloudTrail's global ones
_TYPE = b"application/json"
_MAX_KEY = 200


def operator_response(
    request: Incoming, services: Services, executor: Executor, begin: Callable[[], Attempt]
) -> Response:
    """The answer to a request under ``/cofre/operator/``, from a worker thread (the
    keeper may read the database or talk to its supervisor)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Outgoing] = loop.create_future()

    def answer() -> None:
        try:
            response = _answer(request, services, begin)
        except Exception:
            log.exception("an operator request failed")
            response = Outgoing(500, orjson.dumps({"__type": "InternalFailure"}), _TYPE)
        loop.call_soon_threadsafe(_give, done, response)

    executor.submit(answer)
    return done


def _answer(request: Incoming, services: Services, begin: Callable[[], Attempt]) -> Outgoing:
    action = request.path[len(PREFIX) :]
    if action == b"status" and request.method == "GET":
        status = services.seal_control.status()
        return Outgoing(200, orjson.dumps(status.document()), _TYPE)
    if action == b"unseal" and request.method == "POST":
        return _unseal(request, services, begin())
    unknown = {"__type": "UnknownOperationException", "message": "No such operator endpoint."}
    return Outgoing(404, orjson.dumps(unknown), _TYPE)


def _unseal(request: Incoming, services: Services, attempt: Attempt) -> Outgoing:
    attempt.service, attempt.operation = "cofre", "Unseal"
    attempt.account_id = services.accounts.admin_account()  # its record goes to the admins
    attempt.region = GLOBAL_REGION
    try:
        status = services.seal_control.submit_share(_key(request.body))
    except CofreError as error:
        attempt.finish(error_code=wire_error(error, "cofre")[0], error_message=error.message)
        _record(services, attempt)
        return error_response(error, attempt.request_id, service="cofre")
    attempt.finish(output={"Sealed": status.sealed, "Progress": status.progress})
    _record(services, attempt)
    return Outgoing(200, orjson.dumps(status.document()), _TYPE, attempt.request_id)


def _key(body: bytes | None) -> str:
    try:
        document: Any = orjson.loads(body or b"")
    except orjson.JSONDecodeError as exc:
        raise SerializationError('The body must be JSON: {"key": "<unseal key>"}.') from exc
    key = document.get("key") if isinstance(document, dict) else None
    if not isinstance(key, str) or not 0 < len(key) <= _MAX_KEY:
        raise ValidationError('The body must be {"key": "<unseal key>"}.')
    return key


def _record(services: Services, attempt: Attempt) -> None:
    try:
        services.audit.record(attempt)
    except CofreError:
        log.warning("the audit record of an unseal attempt could not be written")


def _give(done: asyncio.Future[Outgoing], response: Outgoing) -> None:
    if not done.done():
        done.set_result(response)
