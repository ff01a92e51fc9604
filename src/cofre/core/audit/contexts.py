"""The contexts of journaled calls (ADR 11, "Journal"): what the calls of one caller,
operation and outcome share -- all of a call but its time, request id, parameters and
error message -- written as JSON text (:func:`context_text`), once per caller object and
outcome on the serving side (:class:`ContextTexts`), parsed and checked once per text on
the ingester's (:class:`Contexts`), where the records of calls with one context are built
from one template found by that text. A journal entry (:func:`call_entry`) is the
context with what is each call's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from cofre.core.audit.chain import to_micros
from cofre.core.audit.events import API_CALL, AuditCall, is_read_only, recipients
from cofre.core.iam.principals import Caller

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class JournalContext:
    """A context of journaled calls (:func:`call_entry`): its text, the call it describes
    (without what is each call's own), and the accounts that receive its records."""

    text: str
    call: AuditCall
    accounts: tuple[str, ...]


class Contexts:
    """The contexts of journaled calls, each parsed and checked once (a bounded cache)."""

    def __init__(self, limit: int = 4096) -> None:
        self._known: dict[str, JournalContext] = {}
        self._limit = limit

    def __call__(self, text: str) -> JournalContext:
        """The context ``text`` describes; ValueError or TypeError if it is not one."""
        found = self._known.get(text)
        if found is None:
            call = call_context(text)
            found = JournalContext(text, call, tuple(recipients(call)))
            if len(self._known) >= self._limit:
                self._known.clear()
            self._known[text] = found
        return found


JournalEntry = tuple[str, int, str, dict[str, Any] | None, str | None]
"""What the journal keeps of one call (:func:`call_entry`), written as a JSON array in
this order (docs/formats/audit-chain.md): the text of its context, and what is the call's
own -- its time (µs since the epoch), request id, parameters (redacted) and error
message. A plain tuple, not a named one: one is made per call on the hot path, where a
named tuple's constructor costs about 1% of an Encrypt."""


def call_entry(
    call: AuditCall, request: dict[str, Any] | None, texts: ContextTexts | None = None
) -> JournalEntry:
    """What the journal keeps of ``call``, with ``request`` its parameters as the record
    logs them (redacted): a :class:`JournalEntry`, whose context is what the calls of one
    caller, operation and outcome share -- JSON text
    (:func:`context_text`), so that the ingester builds the records of calls with one
    context from one template, found by that text. ``texts``: contexts written before.
    Only calls whose record logs no response are journaled (read-only ones: CloudTrail
    logs no response for them); ValueError for any other."""
    text = journaled_context(call) if texts is None else texts(call)
    micros = (call.time - _EPOCH) // _MICROSECOND
    return (text, micros, call.request_id, request, call.error_message)


def journalable(call: AuditCall) -> bool:
    """Whether ``call`` may be journaled: its record logs no response (a read-only or
    failed call, or a background event)."""
    if call.error_code is not None or call.event_type != API_CALL:
        return True
    read_only = call.read_only
    return is_read_only(call.service, call.operation) if read_only is None else read_only


def journaled_context(call: AuditCall) -> str:
    """:func:`context_text` of a call that may be journaled (:func:`journalable`);
    ValueError for any other."""
    if not journalable(call):
        raise ValueError("only calls whose record logs no response are journaled")
    return context_text(call)


def context_text(call: AuditCall) -> str:
    """The context of ``call`` in the journal: all of it but its time, request id,
    parameters and error message."""
    caller = call.caller
    context = [
        call.service,
        call.operation,
        call.region,
        None if caller is None else [
            caller.account_id, caller.principal_arn, caller.access_key_id, caller.region,
            caller.source_ip, caller.user_agent, caller.secure_transport, caller.via_service,
            caller.user_name, caller.principal_id, caller.role_arn,
        ],
        call.error_code,
        list(call.resources),
        call.source_ip,
        call.user_agent,
        call.access_key_id,
        call.account_id,
        None if call.session_created_at is None else to_micros(call.session_created_at),
        call.read_only,
        call.event_type,
        call.extra,
    ]  # fmt: skip
    return orjson.dumps(context).decode()


class ContextTexts:
    """:func:`journaled_context` of calls, each written (and checked) once per caller
    object and outcome: a bounded cache, whose key holds all the check looks at. The
    pipeline reuses a caller for the requests of one credential and origin, so the
    calls of one client find their context here."""

    def __init__(self, limit: int = 4096) -> None:
        self._known: dict[tuple[Any, ...], tuple[object, str]] = {}
        self._limit = limit

    def __call__(self, call: AuditCall) -> str:
        if call.extra:
            return journaled_context(call)
        caller = call.caller
        key = (
            id(caller), call.service, call.operation, call.region, call.error_code,
            call.resources if type(call.resources) is tuple else tuple(call.resources),
            call.source_ip, call.user_agent, call.access_key_id, call.account_id,
            call.session_created_at, call.read_only, call.event_type,
        )  # fmt: skip
        known = self._known.get(key)
        if known is not None and known[0] is caller:  # the entry keeps its id taken
            return known[1]
        return self._keep(key, caller, journaled_context(call))

    def _keep(self, key: tuple[Any, ...], caller: Caller | None, text: str) -> str:
        """Remember ``text`` under ``key`` (the caller kept with it, so that its id is
        not reused meanwhile), emptying the cache when it is full."""
        if len(self._known) >= self._limit:
            self._known.clear()
        self._known[key] = (caller, text)
        return text


def call_context(text: str) -> AuditCall:
    """The call a context of :func:`call_entry` describes, without what is each call's own
    (time, request id, parameters, error message); ValueError or TypeError if ``text`` is
    not such a context."""
    (
        service, operation, region, caller, error_code, resources, source_ip, user_agent,
        access_key_id, account_id, session_micros, read_only, event_type, extra,
    ) = orjson.loads(text)  # fmt: skip
    texts = (service, operation, region, source_ip, user_agent, access_key_id, event_type)
    if not all(type(value) is str for value in texts):
        raise ValueError("a journaled call is malformed")
    if not isinstance(resources, list) or not all(type(arn) is str for arn in resources):
        raise ValueError("a journaled call's resources are malformed")
    if not isinstance(extra, dict):
        raise ValueError("a journaled call's extra data is malformed")
    return AuditCall(
        time=_EPOCH,
        service=service,
        operation=operation,
        region=region,
        caller=None if caller is None else _caller(caller),
        error_code=_text_or_none(error_code),
        read_only=_flag_or_none(read_only),
        resources=tuple(resources),
        event_type=event_type,
        source_ip=source_ip,
        user_agent=user_agent,
        access_key_id=access_key_id,
        account_id=_text_or_none(account_id),
        session_created_at=(
            None if session_micros is None else _EPOCH + timedelta(microseconds=session_micros)
        ),
        extra=extra,
        redacted=True,
    )


def _caller(fields: Any) -> Caller:
    if not isinstance(fields, list) or len(fields) != 11:
        raise ValueError("a caller is malformed")
    if not all(value is None or type(value) in (str, bool) for value in fields):
        raise ValueError("a caller is malformed")
    return Caller(*fields)


def _flag_or_none(value: Any) -> bool | None:
    if value is not None and type(value) is not bool:
        raise ValueError("a journaled call is malformed")
    return value


def _text_or_none(value: Any) -> str | None:
    if value is not None and type(value) is not str:
        raise ValueError("a journaled call is malformed")
    return value
