"""What the pipeline learns of a request along the way, for its audit record.

An :class:`Attempt` is filled in as the request goes (service, operation, caller, input)
and turned into an :class:`~cofre.core.audit.events.AuditCall` once the outcome is known,
so a request that fails at any step -- signature, decoding, authorization, the handler --
is recorded with what was known by then.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cofre.core.audit.events import AuditCall, commits_alone, is_read_only
from cofre.core.audit.resources import resource_arns

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
class Attempt(AuditCall):
    """One request as far as the pipeline got with it: the audit call it is recorded as,
    filled in as the request goes (:meth:`begin`) and finished once its outcome is known
    (:meth:`finish`), so that no second value is built per request."""

    signed_service: str = ""  # the service of the verified signature's scope
    charged: bool = False  # counted against its request quota (once, wherever it runs)

    @classmethod
    def begin(cls, request_id: str, time: datetime, source_ip: str, user_agent: str) -> Attempt:
        """A request as it arrives: who sent it from where is not known yet."""
        attempt = cls(time, "", "", "", None, request_id)
        attempt.source_ip, attempt.user_agent = source_ip, user_agent
        return attempt

    @property
    def mutating(self) -> bool:
        """Whether the operation can change anything in a transaction that its record
        then commits with."""
        return not (
            is_read_only(self.service, self.operation)
            or commits_alone(self.service, self.operation)
        )

    def touched(
        self, output: Mapping[str, Any] | None, collected: Sequence[str]
    ) -> tuple[str, ...]:
        """The resources of the call's record: those ``collected`` as it ran, else those
        its input and output name (e.g. CreateKey: the key is new)."""
        if collected or self.caller is None:
            return tuple(collected)
        account = self.caller.account_id
        return tuple(resource_arns(self.service, self.region, account, self.params, output))

    def finish(
        self,
        *,
        output: Mapping[str, Any] | None = None,
        error_code: str | None = None,
        error_message: str | None = None,
        resources: Sequence[str] = (),
    ) -> AuditCall:
        """The call, its outcome known: this attempt, for the audit trail."""
        self.output = output
        self.error_code = error_code
        self.error_message = error_message
        self.resources = self.touched(output, resources)
        return self
