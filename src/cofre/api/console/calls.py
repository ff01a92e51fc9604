"""The console's calls: each one a request of the API, made for the signed-in principal.

A console page never reaches the service layer by another way: it names an operation
and its input as a client would send them (a JSON body, or an IAM Query form), and the
pipeline decodes, validates, authorizes (key policy, IAM policies, grants), runs and
records it (:meth:`~cofre.api.pipeline.pipeline.Pipeline.invoke`), with the user agent
``cofre-console``. An error comes back as the AWS error a client would get.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlencode

import orjson

from cofre.api.errors import query_error, wire_error
from cofre.api.pipeline.attempt import Attempt
from cofre.api.pipeline.targets import request_id
from cofre.config import Settings
from cofre.container import Services
from cofre.core.iam.principals import Caller
from cofre.errors import CofreError


class Outcome(Protocol):
    """How a call ended (the pipeline's ``Outcome``)."""

    @property
    def output(self) -> Mapping[str, Any] | None: ...
    @property
    def error(self) -> CofreError | None: ...


class Pipeline(Protocol):
    """What the console needs of the API pipeline (``api/pipeline/pipeline.py``)."""

    @property
    def services(self) -> Services: ...
    @property
    def settings(self) -> Settings: ...
    def invoke(self, caller: Caller, target: str, body: bytes, attempt: Attempt) -> Outcome: ...


TARGETS = {
    "kms": "TrentService.",
    "ssm": "AmazonSSM.",
    "cloudtrail": "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.",
    "cofre": "CofreAdmin.",  # Cofre's own admin API (api/handlers/admin.py)
}
QUERY_VERSIONS = {"iam": "2010-05-08", "sts": "2011-06-15"}


class CallError(Exception):
    """An operation failed as the API answers it: the AWS error code and its message."""

    def __init__(self, service: str, operation: str, code: str, message: str, status: int):
        super().__init__(f"{code}: {message}")
        self.service, self.operation = service, operation
        self.code, self.message, self.status = code, message, status

    @classmethod
    def of(cls, error: CofreError, service: str, operation: str) -> CallError:
        code, status = (
            query_error(error) if service in QUERY_VERSIONS else wire_error(error, service)
        )
        return cls(service, operation, code, error.message or code, status)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(type(value).__name__)


class Client:
    """The API, as the signed-in principal calls it."""

    def __init__(self, pipeline: Pipeline, caller: Caller, session_created_at: datetime | None):
        self._pipeline = pipeline
        self._caller = caller
        self._session_created_at = session_created_at

    @property
    def caller(self) -> Caller:
        return self._caller

    def call(self, service: str, operation: str, **params: Any) -> Mapping[str, Any]:
        """Run ``operation`` of ``service``; its output, or :class:`CallError`."""
        services = self._pipeline.services
        attempt = Attempt.begin(
            request_id(), services.clock.now(), self._caller.source_ip, self._caller.user_agent
        )
        attempt.session_created_at = self._session_created_at
        if service in QUERY_VERSIONS:
            attempt.service = service
            form = {"Action": operation, "Version": QUERY_VERSIONS[service]}
            form.update({k: str(v) for k, v in params.items() if v is not None})
            target, body = "", urlencode(form).encode()
        else:
            target = TARGETS[service] + operation
            clean = {k: v for k, v in params.items() if v is not None}
            body = orjson.dumps(clean, default=_json_default)
        outcome = self._pipeline.invoke(self._caller, target, body, attempt)
        if outcome.error is not None:
            raise CallError.of(outcome.error, service, operation)
        return outcome.output or {}

    def kms(self, operation: str, **params: Any) -> Mapping[str, Any]:
        return self.call("kms", operation, **params)

    def ssm(self, operation: str, **params: Any) -> Mapping[str, Any]:
        return self.call("ssm", operation, **params)

    def iam(self, operation: str, **params: Any) -> Mapping[str, Any]:
        return self.call("iam", operation, **params)

    def cloudtrail(self, operation: str, **params: Any) -> Mapping[str, Any]:
        return self.call("cloudtrail", operation, **params)
