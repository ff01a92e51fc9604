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
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson

from cofre.api.errors import query_error, wire_error
from cofre.api.handlers import cloudtrail, ssm
from cofre.api.handlers.iam import IAM_OPERATIONS, STS_OPERATIONS
from cofre.api.handlers.kms import operations as kms
from cofre.api.handlers.operation import Operation, Params
from cofre.api.http.exchange import (
    JSON_TYPE,
    MAX_BODY,
    XML_TYPE,
    Incoming,
    Later,
    Outgoing,
    Pending,
    error_response,
    header,
    internal_error,
)
from cofre.api.model.service import encode_output
from cofre.api.pipeline.audited import Attempt, Bursts, Completions
from cofre.api.pipeline.authenticate import Authenticator
from cofre.api.pipeline.targets import CustomTarget, JsonService, custom_target, request_id
from cofre.api.query.protocol import QueryOperation, QueryService
from cofre.config import Settings
from cofre.container import Services
from cofre.core.audit.events import AuditCall
from cofre.core.iam.principals import Caller
from cofre.errors import (
    AuditUnavailableError,
    CofreError,
    InternalError,
    InvalidSignatureError,
    UnknownOperationError,
    UnsupportedOperationError,
    ValidationError,
)
from cofre.service.audit.group_commit import Done
from cofre.service.audit.scope import collecting
from cofre.service.audit.trail import AuditReceipt

log = logging.getLogger("cofre.api")

QUERY_SERVICES = {"iam": IAM_OPERATIONS, "sts": STS_OPERATIONS}
_HEALTH = orjson.dumps({"status": "ok"})
_Journaled = tuple[list[Any], Done[AuditReceipt]]  # a journal entry, and what completes its call


@dataclass(slots=True)
class _Outcome:
    """How a handler ended: the response, and what its audit record needs."""

    response: Outgoing
    output: Params | None = None
    error: CofreError | None = None


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
        self._completions: Completions | None = None
        self._bursts: Bursts[_Journaled] | None = None
        signing_names = frozenset(s.signing_name for s in self._json.values())
        self._authenticator = Authenticator(services, self._regions, signing_names)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=False)

    def handle(self, request: Incoming) -> Outgoing | Pending:
        """A future of the response: every response waits for its audit record."""
        if request.method == "GET" and request.path == b"/health":
            return Outgoing(200, _HEALTH, b"application/json")
        target = header(request, b"x-amz-target")
        agent = header(request, b"user-agent")
        attempt = Attempt(request_id(), self.services.clock.now(), request.client_ip, agent)
        try:
            return self._dispatch(request, target, attempt)
        except CofreError as error:
            outcome = _Outcome(self._error(error, attempt, query=not target), error=error)
        except Exception:
            outcome = _Outcome(
                internal_error(attempt.request_id, not target, attempt.service),
                error=InternalError(),
            )
        return self._audited_here(attempt, outcome, ())

    # dispatch -----------------------------------------------------------------------------
    def _dispatch(self, request: Incoming, target: str, attempt: Attempt) -> Outgoing | Pending:
        custom = self._name_service(target, attempt)
        if request.body is None:
            raise ValidationError(f"The request body is larger than {MAX_BODY} bytes.")
        if request.method != "POST":
            raise UnknownOperationError("Only POST / is served.")
        caller = self._authenticator.authenticate(request, attempt)
        if not target:
            return self._dispatch_query(request.body, caller, attempt)
        if custom is not None:  # Cofre's own APIs: no botocore model
            self._require_service(attempt, custom.service)
            operation = custom.operations.get(attempt.operation)
            if operation is None:
                raise UnknownOperationError(f"Unknown operation {target[:100]!r}")
            attempt.params = custom.parse(attempt.operation, request.body)
            return self._submit(operation, caller, attempt)
        service = self._json.get(target.rpartition(".")[0])
        if service is None:
            raise UnknownOperationError(f"Unknown operation {target[:100]!r}")
        self._require_service(attempt, service.signing_name)
        op_name = attempt.operation
        operation = service.operations.get(op_name)
        if operation is None:
            if op_name in service.model.operation_names():
                raise UnsupportedOperationError(f"{op_name} is not supported by Cofre yet.")
            raise UnknownOperationError(f"Unknown operation {target[:100]!r}")
        attempt.params = service.model.operation(op_name).parse_input(request.body)
        if operation.inline and not attempt.mutating:
            with collecting() as resources:
                outcome = self._execute(operation, caller, attempt, None)
            return self._audited_here(attempt, outcome, resources)
        return self._submit(operation, caller, attempt)

    def _name_service(self, target: str, attempt: Attempt) -> CustomTarget | None:
        """Service and operation as the target names them (before anything can fail);
        the API of Cofre's own the target belongs to, if it does."""
        if not target:
            return None
        custom = custom_target(target)
        if custom is not None:
            attempt.service, attempt.operation = custom.service, target[len(custom.prefix) :]
        else:
            prefix, _, op_name = target.rpartition(".")  # CloudTrail's prefix has dots
            service = self._json.get(prefix)
            attempt.service = service.signing_name if service is not None else ""
            attempt.operation = op_name
        attempt.operation = attempt.operation[:64]
        return custom

    def _dispatch_query(
        self, body: bytes, caller: Caller, attempt: Attempt
    ) -> asyncio.Future[Outgoing]:
        operations = QUERY_SERVICES.get(attempt.service)
        if operations is None:
            raise UnknownOperationError(
                "A request without X-Amz-Target must be an IAM or STS Query request."
            )
        query = QueryService.load(attempt.service)
        wire_op, params = query.decode_request(body)
        attempt.operation, attempt.params = wire_op.name, params
        operation = operations.get(wire_op.name)
        if operation is None:
            raise UnsupportedOperationError(f"{wire_op.name} is not supported by Cofre yet.")
        return self._submit(operation, caller, attempt, wire_op)

    @staticmethod
    def _require_service(attempt: Attempt, service: str) -> None:
        if attempt.signed_service != service:
            raise InvalidSignatureError(
                f"Credential should be scoped to correct service: '{service}'."
            )

    # running and auditing -------------------------------------------------------------------
    def _loop_future(self) -> asyncio.Future[Outgoing]:
        return self._on_loop()[0].loop.create_future()

    def _on_loop(self) -> tuple[Completions, Bursts[_Journaled]]:
        """The helpers bound to the event loop (built on its thread, on first use)."""
        if self._completions is None or self._bursts is None:
            loop = asyncio.get_running_loop()
            self._completions = Completions(loop)
            self._bursts = Bursts(loop, self.services.audit.journal_many)
        return self._completions, self._bursts

    def _submit(
        self,
        operation: Operation,
        caller: Caller,
        attempt: Attempt,
        wire_op: QueryOperation | None = None,
    ) -> asyncio.Future[Outgoing]:
        done = self._loop_future()
        self._executor.submit(self._run, operation, caller, attempt, wire_op, done)
        return done

    def _run(
        self,
        operation: Operation,
        caller: Caller,
        attempt: Attempt,
        wire_op: QueryOperation | None,
        done: asyncio.Future[Outgoing],
    ) -> None:
        """Run a handler in the thread pool. A mutating operation runs inside one write
        transaction that ends with its audit record: both commit, or neither."""
        query = wire_op is not None
        try:
            with collecting() as resources:
                if not attempt.mutating:
                    outcome = self._execute(operation, caller, attempt, wire_op)
                else:
                    try:
                        with self.services.storage.write() as tx:
                            outcome = self._execute(
                                operation, caller, attempt, wire_op, strict=True
                            )
                            call = attempt.call(output=outcome.output, resources=resources)
                            self.services.audit.append_in(tx, call)
                    except _Failed as failed:  # the handler failed: nothing to undo
                        outcome = failed.outcome
                    else:
                        self._complete(done, outcome.response)
                        return
            self._audited(attempt, outcome, resources, done)
        except CofreError as error:  # the record or the commit failed: nothing happened
            self.services.cache.clear()  # it may hold what was rolled back
            log.warning("%s.%s failed closed: %s", attempt.service, attempt.operation, error)
            self._complete(done, self._error(error, attempt, query))
        except Exception:
            self.services.cache.clear()
            self._complete(done, internal_error(attempt.request_id, query, attempt.service))

    def _execute(
        self,
        operation: Operation,
        caller: Caller,
        attempt: Attempt,
        wire_op: QueryOperation | None,
        *,
        strict: bool = False,
    ) -> _Outcome:
        """Run the handler; its outcome. With ``strict`` a failure raises ``_Failed`` (so
        that an enclosing transaction rolls back)."""
        query = wire_op is not None
        try:
            assert attempt.params is not None
            result = operation.handler(self.services, caller, attempt.params)
            if wire_op is None:
                body = encode_output(result)
                return _Outcome(Outgoing(200, body, JSON_TYPE, attempt.request_id), result)
            body = wire_op.encode_response(result, attempt.request_id)
            return _Outcome(Outgoing(200, body, XML_TYPE, attempt.request_id), result)
        except CofreError as error:
            outcome = _Outcome(self._error(error, attempt, query), error=error)
        except Exception:
            response = internal_error(attempt.request_id, query, attempt.service)
            outcome = _Outcome(response, error=InternalError())
        if strict:
            raise _Failed(outcome)
        return outcome

    def _error(self, error: CofreError, attempt: Attempt, query: bool) -> Outgoing:
        return error_response(error, attempt.request_id, query, attempt.service)

    def _audited_here(
        self, attempt: Attempt, outcome: _Outcome, resources: Sequence[str]
    ) -> Outgoing | Pending:
        """Record a call answered on the event loop. Into the journal: with the others of
        this turn of the loop when requests come several per turn (the response then
        waits for the end of the turn), else at once -- the response goes straight back,
        with no future and no further turn. Without a journal, through the group-commit
        writer (ADR 11). A call that succeeded (most calls) has its journal entry made
        without an ``AuditCall``: ~9k instructions fewer per Encrypt."""
        audit = self.services.audit
        if not audit.journaled:
            return self._audited(attempt, outcome, resources, self._loop_future())
        query = outcome.response.content_type == XML_TYPE
        try:
            if outcome.error is None and attempt.caller is not None:
                touched = attempt.resources(outcome.output, resources)
                entry = audit.success_entry(attempt, touched)
            else:
                entry = audit.journal_entry(self._call_of(attempt, outcome, resources)[0])
        except AuditUnavailableError:
            return self._error(AuditUnavailableError(), attempt, query)
        bursts = self._bursts if self._bursts is not None else self._on_loop()[1]
        if bursts.batching():  # the response waits for the end of the turn
            later = Later()
            bursts.add((entry, self._answer_when_recorded(later, outcome.response, attempt, query)))
            return later
        try:
            audit.journal_now(entry)
        except AuditUnavailableError:
            return self._error(AuditUnavailableError(), attempt, query)
        return outcome.response

    def _call_of(
        self, attempt: Attempt, outcome: _Outcome, resources: Sequence[str]
    ) -> tuple[AuditCall, bool]:
        """The call's record, and whether it came by the Query protocol."""
        error = outcome.error
        code = None
        query = outcome.response.content_type == XML_TYPE
        if error is not None:
            code = query_error(error)[0] if query else wire_error(error, attempt.service)[0]
        call = attempt.call(
            output=outcome.output,
            error_code=code,
            error_message=None if error is None else error.message,
            resources=resources,
        )
        return call, query

    def _audited(
        self,
        attempt: Attempt,
        outcome: _Outcome,
        resources: Sequence[str],
        done: asyncio.Future[Outgoing],
    ) -> asyncio.Future[Outgoing]:
        """Record the call; ``done`` gets the response once the record is durable, or an
        internal error if it could not be (fail closed)."""
        call, query = self._call_of(attempt, outcome, resources)
        recorded = self._answer_when_recorded(done, outcome.response, attempt, query)
        self.services.audit.record_then(call, recorded)
        return done

    def _answer_when_recorded(
        self, done: Pending, response: Outgoing, attempt: Attempt, query: bool
    ) -> Done[AuditReceipt]:
        """What completes ``done`` once the record is durable: ``response``, or an
        internal error if the record could not be written (fail closed)."""

        def recorded(_receipt: object, failure: BaseException | None) -> None:
            if failure is None:
                self._complete(done, response)
            else:
                self._complete(done, self._error(AuditUnavailableError(), attempt, query))

        return recorded

    def _complete(self, done: Pending, response: Outgoing) -> None:
        assert self._completions is not None
        self._completions.complete(done, response)


class _Failed(Exception):  # noqa: N818 - carries an outcome out of a transaction
    def __init__(self, outcome: _Outcome) -> None:
        self.outcome = outcome
