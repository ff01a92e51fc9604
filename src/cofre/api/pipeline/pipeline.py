"""What happens to one request, whatever carries it over the network.

read body -> authenticate (SigV4) -> find the operation -> decode and validate the input
(botocore model) -> handler (service) -> record the call (audit trail) -> encode. Two
protocols share the endpoint: AWS JSON 1.1 (an ``X-Amz-Target`` header: KMS, SSM,
CloudTrail and Cofre's own APIs) and the AWS Query protocol (a form body, answered in
XML: IAM and STS, told apart by the service in the signature's credential scope). Every
CofreError is mapped once (``errors.py``); anything else is logged and answered as an
internal error with no detail.

Where a request runs:

- on the event loop, answered at once, when its operation is a read-only one marked
  ``inline`` (the cryptographic operations) and everything it needs is in memory: any
  storage access there raises :class:`~cofre.service.blocking.WouldBlock`, and then
- on a thread of the pool, answered through a future: every other request, and every
  inline one that needed storage. A mutating operation runs in one write transaction
  with its audit record (:class:`~cofre.service.calls.MutatingCalls`).

The web console (``api/console/``, ADR 15) enters at :meth:`Pipeline.invoke`: its
session stands for the signature; the rest of the path is the same.

Every call's record is written before its response leaves (``services.audit.record``);
a call whose record cannot be written is answered with an error instead (fail closed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from time import perf_counter

from cofre.api.console.app import Console, is_console_path
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
    Response,
    error_response,
    header,
    internal_error,
)
from cofre.api.model.service import encode_output
from cofre.api.pipeline.answer import Answer, resolve
from cofre.api.pipeline.attempt import Attempt
from cofre.api.pipeline.authenticate import Authenticator
from cofre.api.pipeline.health import health_response
from cofre.api.pipeline.observe import Observer, known_operations
from cofre.api.pipeline.operator import PREFIX as OPERATOR_PREFIX
from cofre.api.pipeline.operator import operator_response
from cofre.api.pipeline.targets import (
    CUSTOM_TARGETS,
    CustomTarget,
    JsonService,
    custom_target,
    request_id,
)
from cofre.api.query.protocol import QueryOperation, QueryService
from cofre.api.xks.front import XksFront
from cofre.api.xks.wire import is_xks_path
from cofre.config import Settings
from cofre.container import Services
from cofre.core.audit.events import AuditCall
from cofre.core.iam.principals import Caller
from cofre.errors import (
    AuditUnavailableError,
    CofreError,
    InternalError,
    InvalidSignatureError,
    SealedError,
    StorageError,
    UnknownOperationError,
    UnsupportedOperationError,
    ValidationError,
)
from cofre.service.audit.scope import collecting
from cofre.service.blocking import NONBLOCKING, WouldBlock
from cofre.service.kms.external import REQUEST_ID

log = logging.getLogger("cofre.api")

QUERY_SERVICES = {"iam": IAM_OPERATIONS, "sts": STS_OPERATIONS}
METRICS_PATH = b"/metrics"


@dataclass(slots=True)
class _Route:
    """Where an authenticated, decoded request goes."""

    operation: Operation
    caller: Caller
    params: Params  # the decoded input
    wire_op: QueryOperation | None = None  # Query requests: how to encode the response


@dataclass(slots=True)
class Outcome:
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
        signing_names = frozenset(s.signing_name for s in self._json.values())
        self._authenticator = Authenticator(services, self._regions, signing_names)
        self.observer = Observer(
            known_operations(self._json.values(), CUSTOM_TARGETS, QUERY_SERVICES),
            services.stats,
            count=settings.metrics,
            access=settings.log_format == "json",
        )
        self._observing = settings.metrics or settings.log_format == "json"
        if settings.metrics:
            services.key_jobs.on_done = self.observer.metrics.job_done
        self._scrape_here = settings.metrics and settings.metrics_listen is None
        self._console = Console(self) if settings.console else None
        self._xks = XksFront(services, self._executor)

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=False)
        self.observer.close()

    def scrape(self) -> Response:
        """``GET /metrics`` (here, or on the ``--metrics-listen`` listener)."""
        return self.observer.scrape_response(self._executor)

    def handle(self, request: Incoming) -> Response:
        """The response, or one to come: either way it leaves after its record."""
        if request.method == "GET":
            if request.path.startswith(b"/health"):
                return health_response(request.path, self.services.health, self._executor)
            if request.path == METRICS_PATH and self._scrape_here:
                return self.scrape()
        started = perf_counter()
        target = header(request, b"x-amz-target")
        agent = header(request, b"user-agent")
        attempt = Attempt.begin(request_id(), self.services.clock.now(), request.client_ip, agent)
        if request.path.startswith(OPERATOR_PREFIX):
            return operator_response(request, self.services, self._executor, lambda: attempt)
        if self._console is not None and is_console_path(request.path):
            return self._pooled(self._console.answer, request)
        if is_xks_path(request.path):  # Cofre as an XKS proxy (ADR 22)
            return self._xks.handle(request, attempt)
        try:
            with NONBLOCKING:
                response = self._on_loop(request, target, attempt)
        except _ToThread as moved:
            return self._submit(request, target, attempt, moved.route, started)
        except WouldBlock:  # start again where waiting is allowed
            return self._submit(request, target, attempt, None, started)
        if not self._observing:
            return response
        if isinstance(response, Outgoing):
            self.observer.answered(attempt, response, started)
        else:
            response.add_done_callback(
                lambda later: self.observer.answered(attempt, later.result(), started)
            )
        return response

    # where a request runs -------------------------------------------------------------------
    def _pooled(
        self, answer: Callable[[Incoming], Outgoing], request: Incoming
    ) -> asyncio.Future[Outgoing]:
        """``answer(request)`` on a thread of the pool (the console's pages)."""
        loop = asyncio.get_running_loop()
        done = loop.create_future()

        def run() -> None:
            try:
                response = answer(request)
            except Exception:
                response = internal_error(request_id(), False)
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(resolve, done, response)

        self._executor.submit(run)
        return done

    def _on_loop(self, request: Incoming, target: str, attempt: Attempt) -> Outgoing | Later:
        """Answer on the event loop; ``_ToThread`` for what runs in the pool."""
        try:
            route = self._route(request, target, attempt)
            self._charge(route, attempt)
        except CofreError as error:
            outcome = self._failure(error, attempt, not target)
            return self._finish_on_loop(attempt, outcome, ())
        if not route.operation.inline or attempt.mutating:
            raise _ToThread(route)
        with collecting() as resources:
            outcome = self._execute(route, attempt)
        return self._finish_on_loop(attempt, outcome, resources)

    def _submit(
        self,
        request: Incoming,
        target: str,
        attempt: Attempt,
        route: _Route | None,
        started: float,
    ) -> asyncio.Future[Outgoing]:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        if route is None:  # whatever the loop learnt is learnt again
            charged = attempt.charged
            attempt = Attempt.begin(
                attempt.request_id, attempt.time, attempt.source_ip, attempt.user_agent
            )
            attempt.charged = charged
        self._executor.submit(self._in_thread, request, target, attempt, route, loop, done, started)
        return done

    def _in_thread(
        self,
        request: Incoming,
        target: str,
        attempt: Attempt,
        route: _Route | None,
        loop: asyncio.AbstractEventLoop,
        done: asyncio.Future[Outgoing],
        started: float,
    ) -> None:
        try:
            response = self._answer(request, target, attempt, route)
        except Exception:
            response = internal_error(attempt.request_id, not target, attempt.service)
        try:
            loop.call_soon_threadsafe(self._resolve, done, response, attempt, started)
        except RuntimeError:  # the loop is closed: nobody waits any more
            pass

    def _resolve(
        self, done: asyncio.Future[Outgoing], response: Outgoing, attempt: Attempt, started: float
    ) -> None:
        """On the loop: observe the call, and give its response."""
        if self._observing:
            self.observer.answered(attempt, response, started)
        if not done.done():
            done.set_result(response)

    def _answer(
        self, request: Incoming, target: str, attempt: Attempt, route: _Route | None
    ) -> Outgoing:
        """Answer on a thread of the pool, where storage may be waited for."""
        query = not target
        try:
            if route is None:
                route = self._route(request, target, attempt)
            self._charge(route, attempt)
            if attempt.mutating:
                return self._mutate(route, attempt)
        except CofreError as error:
            return self._finish(attempt, self._failure(error, attempt, query), ())
        with collecting() as resources:
            outcome = self._execute(route, attempt)
        return self._finish(attempt, outcome, resources)

    def _mutate(self, route: _Route, attempt: Attempt) -> Outgoing:
        return self._mutated(route, attempt).response

    def _mutated(self, route: _Route, attempt: Attempt) -> Outcome:
        """Run a mutating operation and record it in one write transaction: both commit,
        or neither. A handler that fails is recorded as any failed call is."""
        query = route.wire_op is not None
        with collecting() as resources:
            try:
                return self.services.mutating.run(
                    lambda: self._execute(route, attempt, strict=True),
                    lambda done: self._call_of(attempt, done, resources),
                )
            except _Failed as failed:  # the handler failed: nothing to undo
                return self._finished(attempt, failed.outcome, resources)
            except CofreError as error:  # the record or the commit failed: nothing happened
                self.services.cache.clear()  # it may hold what was rolled back
                log.warning("%s.%s failed closed: %s", attempt.service, attempt.operation, error)
                return self._failure(error, attempt, query)
            except Exception:
                self.services.cache.clear()
                response = internal_error(attempt.request_id, query, attempt.service)
                return Outcome(response, error=InternalError())

    def invoke(self, caller: Caller, target: str, body: bytes, attempt: Attempt) -> Outcome:
        """Run one operation for a caller authenticated by other means (a console
        session, ADR 15): the request a signed one would be, from its decoding on --
        validation, handler, authorization in the service layer, audit record -- in a
        thread of the pool. ``target`` "" is a Query request of ``attempt.service``."""
        attempt.caller, attempt.region = caller, caller.region
        query = not target
        try:
            custom = self._name_service(target, attempt)
            attempt.signed_service = attempt.service
            if self.services.keyring.sealed:
                raise SealedError()
            route = self._dispatch(body, target, custom, caller, attempt)
            if attempt.mutating:
                return self._mutated(route, attempt)
        except CofreError as error:
            return self._finished(attempt, self._failure(error, attempt, query), ())
        with collecting() as resources:
            outcome = self._execute(route, attempt)
        return self._finished(attempt, outcome, resources)

    # routing ----------------------------------------------------------------------------------
    def _route(self, request: Incoming, target: str, attempt: Attempt) -> _Route:
        """Authenticate the request, find its operation, decode its input."""
        custom = self._name_service(target, attempt)
        if self.services.keyring.sealed:  # nothing can be checked, decrypted or written
            raise SealedError()
        if request.body is None:
            raise ValidationError(f"The request body is larger than {MAX_BODY} bytes.")
        if request.method != "POST":
            raise UnknownOperationError("Only POST / is served.")
        caller = self._authenticator.authenticate(request, attempt)
        return self._dispatch(request.body, target, custom, caller, attempt)

    def _dispatch(
        self,
        body: bytes,
        target: str,
        custom: CustomTarget | None,
        caller: Caller,
        attempt: Attempt,
    ) -> _Route:
        """Find an authenticated request's operation and decode its input."""
        if not target:
            return self._route_query(body, caller, attempt)
        if custom is not None:  # Cofre's own APIs: no botocore model
            self._require_service(attempt, custom.service)
            operation = custom.operations.get(attempt.operation)
            if operation is None:
                raise UnknownOperationError(f"Unknown operation {target[:100]!r}")
            attempt.params = params = custom.parse(attempt.operation, body)
            return _Route(operation, caller, params)
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
        params = service.model.operation(op_name).parse_input(body)
        attempt.params = params
        return _Route(operation, caller, params)

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

    def _route_query(self, body: bytes, caller: Caller, attempt: Attempt) -> _Route:
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
        return _Route(operation, caller, params, wire_op)

    @staticmethod
    def _require_service(attempt: Attempt, service: str) -> None:
        if attempt.signed_service != service:
            raise InvalidSignatureError(
                f"Credential should be scoped to correct service: '{service}'."
            )

    def _charge(self, route: _Route, attempt: Attempt) -> None:
        """Count the call against its request quota, once (``ThrottlingError`` if over)."""
        if not attempt.charged:
            self.services.quotas.charge(
                route.caller, attempt.service, attempt.operation, route.params
            )
            attempt.charged = True

    # running and recording --------------------------------------------------------------------
    def _execute(self, route: _Route, attempt: Attempt, *, strict: bool = False) -> Outcome:
        """Run the handler; its outcome. With ``strict`` a failure raises ``_Failed`` (so
        that an enclosing transaction rolls back)."""
        wire_op = route.wire_op
        query = wire_op is not None
        try:
            REQUEST_ID.set(attempt.request_id)  # for an XKS proxy's requestMetadata
            result = route.operation.handler(self.services, route.caller, route.params)
            if wire_op is None:
                body = encode_output(result)
                return Outcome(Outgoing(200, body, JSON_TYPE, attempt.request_id), result)
            body = wire_op.encode_response(result, attempt.request_id)
            return Outcome(Outgoing(200, body, XML_TYPE, attempt.request_id), result)
        except WouldBlock:
            raise
        except CofreError as error:
            outcome = self._failure(error, attempt, query)
        except Exception:
            response = internal_error(attempt.request_id, query, attempt.service)
            outcome = Outcome(response, error=InternalError())
        if strict:
            raise _Failed(outcome)
        return outcome

    def _failure(self, error: CofreError, attempt: Attempt, query: bool) -> Outcome:
        return Outcome(self._error(error, attempt, query), error=error)

    def _error(self, error: CofreError, attempt: Attempt, query: bool) -> Outgoing:
        return error_response(error, attempt.request_id, query, attempt.service)

    def _finish(self, attempt: Attempt, outcome: Outcome, resources: Sequence[str]) -> Outgoing:
        return self._finished(attempt, outcome, resources).response

    def _finished(self, attempt: Attempt, outcome: Outcome, resources: Sequence[str]) -> Outcome:
        """Record the call; its outcome once the record is durable, or an error if it
        could not be (fail closed)."""
        try:
            self.services.audit.record(self._call_of(attempt, outcome, resources))
        except (AuditUnavailableError, StorageError) as failure:
            query = outcome.response.content_type == XML_TYPE
            return self._failure(failure, attempt, query)
        return outcome

    def _finish_on_loop(
        self, attempt: Attempt, outcome: Outcome, resources: Sequence[str]
    ) -> Outgoing | Later:
        """:meth:`_finish` on the event loop: the response, or one to come at the end of
        this turn, when the journal writes the turn's calls together."""
        answer = Answer(attempt, outcome.response)
        if outcome.error is None:  # most calls
            call = attempt.finish(output=outcome.output, resources=resources)
        else:
            call = self._call_of(attempt, outcome, resources)
        self.services.audit.record(call, then=answer)
        return answer.given()

    @staticmethod
    def _call_of(attempt: Attempt, outcome: Outcome, resources: Sequence[str]) -> AuditCall:
        """The call's audit record, as far as the pipeline got with it."""
        error = outcome.error
        code = None
        if error is not None:
            if outcome.response.content_type == XML_TYPE:
                code = query_error(error)[0]
            else:
                code = wire_error(error, attempt.service)[0]
        return attempt.finish(
            output=outcome.output,
            error_code=code,
            error_message=None if error is None else error.message,
            resources=resources,
        )


class _ToThread(Exception):  # noqa: N818 - carries a route from the loop to the pool
    def __init__(self, route: _Route) -> None:
        self.route = route


class _Failed(Exception):  # noqa: N818 - carries an outcome out of a transaction
    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome
