"""Building a call's audit records: by template when one fits (the hot path), the
general way otherwise (:mod:`cofre.core.audit.events`, :mod:`cofre.core.audit.template`); and
the journal's entry of a call (its parameters redacted; the record is built when the
journal is appended to the chain)."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

from cofre.core.audit.chain import EventIndex, canonical_json, index_event
from cofre.core.audit.contexts import ContextTexts, JournalEntry, call_entry
from cofre.core.audit.events import (
    API_CALL,
    AuditCall,
    KeyUsage,
    build_event,
    key_usages,
    recipients,
)
from cofre.core.audit.journal import JournalCall, JournalRecords, Prepared, add_prepared
from cofre.core.audit.redact import ModelRedactor, ModelSource
from cofre.core.audit.template import EventTemplates
from cofre.core.crypto import Random
from cofre.core.ids import CountingIds
from cofre.errors import AuditUnavailableError

log = logging.getLogger(__name__)

MAX_EVENT_BYTES = 256 * 1024  # CloudTrail's limit for one event


class RecordBuilder:
    def __init__(self, models: ModelSource, random: Random) -> None:
        self.redactor = ModelRedactor(models)
        self._templates = EventTemplates(self.redactor, random(16).hex())
        self._new_id = CountingIds(random)  # event ids
        self._contexts = ContextTexts()  # of the calls journaled

    def prepared(self, call: AuditCall) -> Prepared:
        """The records of ``call``, built and ready to submit (on the caller's thread);
        ``AuditUnavailableError`` if they cannot be built."""
        try:
            return self._prepare(call)
        except Exception as exc:
            raise _unbuildable(call) from exc

    def journal_entry(self, call: AuditCall) -> JournalEntry:
        """What the journal keeps of ``call`` (on the caller's thread: its parameters are
        redacted here, so nothing secret is written); ``AuditUnavailableError`` if that
        cannot be done."""
        try:
            request = None
            if call.event_type == API_CALL:
                request = self.redactor(call.service, call.operation, call.params, "input")
            return call_entry(call, request, self._contexts)
        except Exception as exc:
            raise _unbuildable(call) from exc

    def render_journaled(self, records: JournalRecords, calls: Sequence[JournalCall]) -> None:
        """Add the records of journaled calls to ``records`` (the ingester's hot loop:
        by template, found by the call's context). The calls were answered, so their
        records must be kept whatever happens: a call whose record does not build is
        recorded without its parameters."""
        templates = self._templates
        for journaled in calls:
            accounts = journaled.context.accounts
            if len(accounts) == 1 and templates.render_journaled(
                records, journaled, self._new_id(), accounts[0], MAX_EVENT_BYTES
            ):
                continue
            call = journaled.whole()
            try:
                self._render_into(records, call)
            except Exception:
                log.exception("the audit record of %s.%s is kept without its parameters",
                              call.service, call.operation)  # fmt: skip
                plain = dataclasses.replace(
                    call, params=None, extra={"parametersOmitted": "the record could not be built"}
                )
                self._render_into(records, plain)

    def render_into(self, records: JournalRecords, call: AuditCall) -> None:
        """Add the records of ``call`` to ``records`` (the journal's form), or nothing
        and ``AuditUnavailableError`` if they cannot be built."""
        try:
            self._render_into(records, call)
        except Exception as exc:
            raise _unbuildable(call) from exc

    def _render_into(self, records: JournalRecords, call: AuditCall) -> None:
        accounts = recipients(call)
        if len(accounts) == 1:
            account = accounts[0]
            event_id = self._new_id()
            if self._templates.render_into(records, call, event_id, account, MAX_EVENT_BYTES):
                return
        add_prepared(records, self._prepare(call))

    def _prepare(self, call: AuditCall) -> Prepared:
        accounts = recipients(call)
        shared = self._new_id() if len(accounts) > 1 else None
        entries: list[tuple[bytes, EventIndex]] = []
        usages: list[KeyUsage] = []
        for account in accounts:
            event_id = self._new_id()
            if shared is None:
                rendered = self._templates.render(call, event_id, account)
                if rendered is not None and len(rendered.body) <= MAX_EVENT_BYTES:
                    entries.append((rendered.body, rendered.index))
                    usages.extend(rendered.usages)
                    continue
            event = build_event(
                call,
                event_id,
                redactor=self.redactor,
                recipient=account,
                shared_event_id=shared,
            )
            body = canonical_json(event)
            if len(body) > MAX_EVENT_BYTES:
                event["requestParameters"] = event["responseElements"] = None
                event["additionalEventData"] = {"parametersOmitted": "the event was too large"}
                body = canonical_json(event)
            entries.append((body, index_event(event, call.time)))
            usages.extend(key_usages(call, event_id, account))
        return Prepared(tuple(entries), tuple(usages))


def _unbuildable(call: AuditCall) -> AuditUnavailableError:
    log.exception("cannot build the audit record of %s.%s", call.service, call.operation)
    return AuditUnavailableError()
