"""A response given once its call's record is durable (ADR 11): at once, later in the
same turn of the event loop, or from a thread of the pool."""

from __future__ import annotations

import asyncio

from cofre.api.http.exchange import XML_TYPE, Later, Outgoing, error_response
from cofre.api.pipeline.attempt import Attempt
from cofre.errors import AuditUnavailableError, CofreError


class Answer:
    """A call's response, given once its record is durable (or an error, if the record
    could not be written): now, or later in this turn of the loop."""

    __slots__ = ("_attempt", "_later", "_response", "_told")

    def __init__(self, attempt: Attempt, response: Outgoing) -> None:
        self._attempt = attempt
        self._response = response
        self._later: Later | None = None
        self._told = False

    def __call__(self, failure: BaseException | None) -> None:
        """The record is durable (``failure`` None), or could not be written."""
        response = self._response
        if failure is not None:
            query = response.content_type == XML_TYPE
            error = failure if isinstance(failure, CofreError) else AuditUnavailableError()
            attempt = self._attempt
            response = error_response(error, attempt.request_id, query, attempt.service)
        if self._later is not None:
            self._later.set_result(response)
            return
        self._response, self._told = response, True

    def given(self) -> Outgoing | Later:
        """The response if the record is durable already, else one to come."""
        if self._told:
            return self._response
        self._later = Later()
        return self._later


def resolve(done: asyncio.Future[Outgoing], response: Outgoing) -> None:
    if not done.done():
        done.set_result(response)
