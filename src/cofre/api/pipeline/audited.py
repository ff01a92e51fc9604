"""How the pipeline audits each request: what it learns along the way, and how a response
waits for its record.

An :class:`Attempt` is filled in as the request goes (service, operation, caller, input)
and turned into an :class:`~cofre.core.audit.events.AuditCall` once the outcome is known, so a
request that fails at any step -- signature, decoding, authorization, the handler -- is
recorded with what was known by then.

Responses wait for their record (ADR 11): the group-commit writer calls back from its
thread, and :class:`Completions` hands the finished responses to the event loop in
batches, one wake-up of the loop per batch instead of one per response.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from cofre.api.http.exchange import Outgoing, Pending
from cofre.core.audit.events import API_CALL, AuditCall, is_read_only, resource_arns
from cofre.core.iam.principals import Caller

T = TypeVar("T")
_SCOPE = re.compile(rb"Credential=([A-Za-z0-9]{1,128})/\d{8}/([a-z0-9-]{1,40})/([a-z0-9]{1,40})/")


@dataclass(frozen=True, slots=True)
class Scope:
    """What an Authorization header claims, read before (or without) verifying it."""

    access_key_id: str = ""
    region: str = ""
    service: str = ""


def claimed_scope(authorization: bytes) -> Scope:
    """The access key, Region and service an Authorization header names, best effort
    (for the record of a request whose signature did not verify)."""
    found = _SCOPE.search(authorization[:1024])
    if found is None:
        return Scope()
    key, region, service = (part.decode("ascii") for part in found.groups())
    return Scope(key, region, service)


@dataclass(slots=True)
class Attempt:
    """One request as far as the pipeline got with it."""

    request_id: str
    time: datetime
    source_ip: str
    user_agent: str
    service: str = ""
    operation: str = ""
    region: str = ""
    caller: Caller | None = None
    params: dict[str, Any] | None = None  # the decoded input
    signed_service: str = ""  # the service of the verified signature's scope
    access_key_id: str = ""  # when there is no caller: the key that was tried
    account_id: str | None = None  # ... and its account, if the key exists
    session_created_at: datetime | None = None

    @property
    def mutating(self) -> bool:
        """Whether the operation can change anything (its record then commits with it)."""
        return not is_read_only(self.service, self.operation)

    def resources(
        self, output: Mapping[str, Any] | None, collected: Sequence[str]
    ) -> tuple[str, ...]:
        """The resources of the call's record: those ``collected`` as it ran, else those
        its input and output name (e.g. CreateKey: the key is new)."""
        if collected or self.caller is None:
            return tuple(collected)
        account = self.caller.account_id
        return tuple(resource_arns(self.service, self.region, account, self.params, output))

    def call(
        self,
        *,
        output: Mapping[str, Any] | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
        resources: Sequence[str] = (),
    ) -> AuditCall:
        return AuditCall(  # by position, in AuditCall's order: 16 keywords cost ~0.5 µs
            self.time,
            self.service,
            self.operation,
            self.region,
            self.caller,
            self.request_id,
            self.params,
            output,
            error_code,
            error_message,
            None,  # read_only: from the operation table
            self.resources(output, resources),
            API_CALL,
            self.source_ip,
            self.user_agent,
            self.access_key_id,
            self.account_id,
            self.session_created_at,
        )


class Completions:
    """Completes responses to come (asyncio futures, or :class:`~cofre.api.http.exchange.Later`
    on the loop's own thread) from other threads, a batch per wake-up of the loop, and at
    once on the loop's own thread."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._loop_thread = threading.get_ident()  # built on the loop thread
        self._ready: deque[tuple[Pending, Outgoing]] = deque()
        self._lock = threading.Lock()
        self._scheduled = False

    def complete(self, future: Pending, value: Outgoing) -> None:
        """Set ``future``'s result on the loop thread soon; callable from any thread."""
        if threading.get_ident() == self._loop_thread:
            if not future.done():
                future.set_result(value)
            return
        with self._lock:
            self._ready.append((future, value))
            if self._scheduled:
                return
            self._scheduled = True
        try:
            self.loop.call_soon_threadsafe(self._drain)
        except RuntimeError:  # the loop is closed: nobody waits any more
            with self._lock:
                self._ready.clear()
                self._scheduled = False

    def _drain(self) -> None:
        with self._lock:
            ready = list(self._ready)
            self._ready.clear()
            self._scheduled = False
        for future, value in ready:
            if not future.done():
                future.set_result(value)


class Bursts(Generic[T]):
    """Collects what one turn of the event loop produces and hands it over whole at the
    end of the turn: the records of a burst of requests go to the journal in one write.

    Batching costs a turn of the loop (and a future per response), which only pays when
    requests come several per turn: while the last turn counted brought a single request,
    the first of a turn is handed over at once by the caller (loop thread only).

    Counting a turn costs a callback at its end, and with it one more poll of the loop
    (~2 µs; more between requests, the caches cold): under light load only one turn in
    ``SAMPLE`` or so is counted, from whichever request it begins with, so a burst is
    noticed within a few samples, and until then its requests are handed over one by one,
    as under light load."""

    SAMPLE = 8

    def __init__(self, loop: asyncio.AbstractEventLoop, flush: Callable[[list[T]], None]) -> None:
        self._loop = loop
        self._flush = flush
        self._items: list[T] = []
        self._seen = 0  # requests this turn, if it is being counted (else 0)
        self._last = 0  # requests the last turn counted
        self._uncounted = 0  # requests handed over uncounted before a turn is counted again
        self._samples = 0  # turns counted under light load

    def batching(self) -> bool:
        """Note a request of this turn: whether to :meth:`add` it (True) or hand it
        over at once (False: the load is light)."""
        if self._seen:  # this turn is being counted
            self._seen += 1
            return True
        if self._last <= 1:
            if self._uncounted > 0:
                self._uncounted -= 1
                return False
            # a count may begin on the last request of a turn, and see one: the next
            # begins 7 requests on, then 8 -- elsewhere in turns of any size
            self._samples += 1
            self._uncounted = self.SAMPLE - 1 - (self._samples & 1)
        self._seen = 1
        self._loop.call_soon(self._end_turn)
        return self._last > 1

    def add(self, item: T) -> None:
        """Queue ``item`` for the end of this turn."""
        self._items.append(item)

    def _end_turn(self) -> None:
        items, self._items = self._items, []
        self._last, self._seen = self._seen, 0
        if items:
            self._flush(items)
