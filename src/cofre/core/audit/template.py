"""Records by template: the canonical bytes of a call's record without building it anew.

Calls of one caller on one key with one operation and outcome differ only in a few fields:
the time, the event id, the request id, the parameters, the response and the error
message. :class:`EventTemplates` builds the record of the first such call with
:func:`~cofre.core.audit.events.build_event`, serialises it canonically with a marker in each of
those fields, and keeps the bytes between the markers. Later calls fill the gaps with
their own values, each serialised canonically on its own; since the record's keys are
sorted and no marker can occur elsewhere (a random nonce, quoted), the result is exactly
``canonical_json(build_event(call))``, which a property test checks. The lookup index is
kept with the template too.

Calls the template does not cover (a shared event id, extra data, records too large) take
the general path. The cache is bounded; a full cache is emptied, not managed, since
templates are cheap to rebuild.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any

import orjson

from cofre.core.audit.chain import (
    EventIndex,
    canonical_json,
    index_event,
    to_micros,
    whole_second,
)
from cofre.core.audit.events import (
    API_CALL,
    MAX_MESSAGE,
    AuditCall,
    KeyUsage,
    Redactor,
    build_event,
    is_read_only,
    key_usages,
    logged_request,
)
from cofre.core.audit.journal import JournalCall, JournalRecords
from cofre.core.audit.redact import clean_text, iso_time

MAX_TEMPLATES = 4096
_SLOTS = (
    "errorMessage",
    "eventID",
    "eventTime",
    "requestID",
    "requestParameters",
    "responseElements",
)
_EVENT_ID, _EVENT_TIME, _REQUEST_ID, _REQUEST, _RESPONSE = 1, 2, 3, 4, 5
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_NO_MESSAGE = b'""'  # the errorMessage of an error without one


@dataclass(frozen=True, slots=True)
class _Template:
    order: tuple[int, ...]  # which slot (index into _SLOTS) each gap takes
    form: bytes  # the bytes around the gaps joined by %s (their own % doubled)
    pick: Callable[[Sequence[bytes]], Any]  # the values (by slot) in the gaps' order
    index: EventIndex  # event_id and event_time are per call
    log_request: bool
    log_response: bool
    used_keys: tuple[str, ...]  # the keys whose last use (GetKeyLastUsage) the call sets


@dataclass(frozen=True, slots=True)
class Rendered:
    body: bytes
    index: EventIndex
    usages: list[KeyUsage]


_SORT_KEYS = orjson.OPT_SORT_KEYS
_to_json = orjson.dumps


def _dumps(value: Any) -> bytes:
    return _to_json(value, option=_SORT_KEYS)


class EventTemplates:
    def __init__(self, redactor: Redactor, nonce: str) -> None:
        """``nonce``: random text that no caller can guess, so no caller-chosen value
        (a user agent, an encryption context) can pose as a marker."""
        self._redactor = redactor
        self._markers = tuple(f"\x00{nonce}:{name}" for name in _SLOTS)
        self._quoted = tuple(_dumps(marker) for marker in self._markers)
        self._cache: dict[tuple[Any, ...], _Template | None] = {}
        self._last_time: tuple[datetime | None, bytes] = (None, b"")
        self._last_second: tuple[int, bytes] = (-1, b"")

    def render(self, call: AuditCall, event_id: str, recipient: str) -> Rendered | None:
        """The record's canonical bytes, its index and the key usages it reports; None when
        no template fits the call."""
        template = self._template(call, recipient)
        if template is None:
            return None
        return self._fill(template, call, event_id)

    def render_into(
        self,
        out: JournalRecords,
        call: AuditCall,
        event_id: str,
        recipient: str,
        max_bytes: int,
    ) -> bool:
        """Add the record to ``out`` as the journal takes it (what :meth:`render` gives,
        without building its index); False, adding nothing, when no template fits the
        call or the record would be longer than ``max_bytes``."""
        template = self._template(call, recipient)
        if template is None:
            return False
        body = self._body(template, call, event_id)
        if len(body) > max_bytes:
            return False
        time = call.time
        if time.tzinfo is UTC:  # what the clocks give
            exact = (time - _EPOCH) // _MICROSECOND
            whole = exact - time.microsecond
        else:
            exact = to_micros(time)
            whole = to_micros(whole_second(time))
        index = template.index
        out.bodies.append(body)
        out.entries.append([index.account_id, index.region, whole, event_id, len(body)])
        for arn in template.used_keys:
            out.usages.append([arn, call.operation, exact, event_id, call.request_id])
        return True

    def _template(self, call: AuditCall, recipient: str) -> _Template | None:
        if call.extra:
            return None
        key = (
            call.caller,
            call.service,
            call.operation,
            call.region,
            recipient,
            call.error_code,
            call.resources if type(call.resources) is tuple else tuple(call.resources),
            call.event_type,
            call.read_only,
            call.source_ip,
            call.user_agent,
            call.access_key_id,
            call.account_id,
            call.session_created_at,
            call.error_message is None,
            not call.request_id,
        )
        template: _Template | None = self._cache.get(key, _MISSING)
        if template is _MISSING:
            template = self._build(call, recipient)
            if len(self._cache) >= MAX_TEMPLATES:
                self._cache.clear()
            self._cache[key] = template
        return template

    def _fill(self, template: _Template, call: AuditCall, event_id: str) -> Rendered:
        body = self._body(template, call, event_id)
        i = template.index
        index = EventIndex(
            event_id,
            i.account_id,
            i.region,
            whole_second(call.time),
            i.event_source,
            i.event_name,
            i.read_only,
            i.username,
            i.access_key_id,
            i.resources,
        )
        usages = [
            KeyUsage(arn, call.operation, call.time, event_id, call.request_id)
            for arn in template.used_keys
        ]
        return Rendered(body, index, usages)

    def _body(self, template: _Template, call: AuditCall, event_id: str) -> bytes:
        """The template's parts with the call's values between them."""
        values = [b""] * len(_SLOTS)
        for slot in template.order:
            values[slot] = self._value(slot, template, call, event_id)
        return _join(template, values)

    def render_journaled(
        self,
        out: JournalRecords,
        journaled: JournalCall,
        event_id: str,
        recipient: str,
        max_bytes: int,
    ) -> bool:
        """:meth:`render_into` for a journaled call (the ingester's hot loop): the
        template is found by the text of the call's context, and filled from the call's
        own fields as the journal holds them (its parameters already redacted); False,
        adding nothing, when none fits."""
        context = journaled.context
        micros, request_id, message = journaled.micros, journaled.request_id, journaled.message
        key = (context.text, recipient, message is None, not request_id)
        template: _Template | None = self._cache.get(key, _MISSING)
        if template is _MISSING:
            template = None
            if not context.call.extra:
                template = self._build(journaled.whole(), recipient)
            if template is not None and template.log_response:
                template = None  # journaled calls log no response
            if len(self._cache) >= MAX_TEMPLATES:
                self._cache.clear()
            self._cache[key] = template
        if template is None:
            return False
        values = (  # by slot; a response slot needs log_response, so it is never filled
            _NO_MESSAGE if message is None else _dumps(clean_text(message[:MAX_MESSAGE])),
            _to_json(event_id),  # text: nothing to sort (and no call of _dumps per value)
            self._time_of(micros),
            _to_json(request_id),
            _to_json(journaled.request, option=_SORT_KEYS),
            b"",
        )
        body: bytes = template.form % template.pick(values)
        if len(body) > max_bytes:
            return False
        index = template.index
        out.bodies.append(body)
        whole_second = micros - micros % 1_000_000
        out.entries.append([index.account_id, index.region, whole_second, event_id, len(body)])
        for arn in template.used_keys:
            out.usages.append([arn, context.call.operation, micros, event_id, request_id])
        return True

    def _time(self, time: datetime) -> bytes:
        """``eventTime`` serialised: the same for every call of one second."""
        second = time.replace(microsecond=0)
        cached = self._last_time
        if cached[0] != second:
            cached = self._last_time = (second, _dumps(iso_time(time)))
        return cached[1]

    def _time_of(self, micros: int) -> bytes:
        """:meth:`_time` of a time in µs since the epoch."""
        second = micros // 1_000_000
        cached = self._last_second
        if cached[0] != second:
            when = _EPOCH + timedelta(seconds=second)
            cached = self._last_second = (second, _dumps(iso_time(when)))
        return cached[1]

    def _value(self, slot: int, template: _Template, call: AuditCall, event_id: str) -> bytes:
        if slot == _EVENT_ID:
            return _dumps(event_id)
        if slot == _EVENT_TIME:
            return self._time(call.time)
        if slot == _REQUEST_ID:
            return _dumps(call.request_id)
        if slot == _REQUEST:
            request = None
            if template.log_request:
                request = logged_request(call, self._redactor)
            return _dumps(request)
        if slot == _RESPONSE:
            response = None
            if template.log_response:
                response = self._redactor(call.service, call.operation, call.output, "output")
            return _dumps(response)
        return _dumps(clean_text((call.error_message or "")[:MAX_MESSAGE]))

    def _build(self, call: AuditCall, recipient: str) -> _Template | None:
        if not call.request_id:
            return None  # no requestID member to fill
        event = build_event(call, "placeholder", redactor=self._redactor, recipient=recipient)
        index = index_event(event, call.time)
        read_only = call.read_only
        if read_only is None:
            read_only = is_read_only(call.service, call.operation)
        log_request = call.event_type == API_CALL  # service events log no parameters
        log_response = log_request and call.error_code is None and not read_only
        constant = {_REQUEST: not log_request, _RESPONSE: not log_response}
        present: list[int] = []
        for slot, name in enumerate(_SLOTS):
            if name not in event:
                continue
            if constant.get(slot) and event[name] is None:
                continue  # null for every such call: it stays in the parts
            event[name] = self._markers[slot]
            present.append(slot)
        body = canonical_json(event)
        found = sorted((body.find(self._quoted[slot]), slot) for slot in present)
        if any(offset < 0 for offset, _ in found):
            return None
        parts: list[bytes] = []
        start = 0
        for offset, slot in found:
            if body.count(self._quoted[slot]) != 1:
                return None
            parts.append(body[start:offset])
            start = offset + len(self._quoted[slot])
        parts.append(body[start:])
        used = tuple(usage.key_arn for usage in key_usages(call, "", recipient))
        order = tuple(slot for _, slot in found)
        form = b"%s".join(part.replace(b"%", b"%%") for part in parts)
        return _Template(order, form, _picker(order), index, log_request, log_response, used)


def _join(template: _Template, values: list[bytes]) -> bytes:
    """The template's parts with ``values[slot]`` in each gap."""
    body: bytes = template.form % template.pick(values)
    return body


def _picker(order: tuple[int, ...]) -> Callable[[Sequence[bytes]], Any]:
    """What takes the values of ``order``'s slots, in that order, for ``%``: a tuple, or
    the one value itself (what ``%`` takes for a single ``%s``)."""
    if not order:
        return lambda _values: ()
    return itemgetter(*order)


_MISSING: Any = object()
