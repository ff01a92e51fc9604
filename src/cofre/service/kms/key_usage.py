"""GetKeyLastUsage: a key's last successful cryptographic use, answered from the audit
trail (ADR 11: ``audit_key_usage`` is kept in the same transaction as the records)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cofre.core.audit.events import KeyUsage
from cofre.core.iam.principals import Caller
from cofre.core.kms.keys import Key
from cofre.service.audit.reads import AuditReader
from cofre.service.authz.authorizer import Request
from cofre.service.kms.resolver import KeyResolver, key_not_found


@dataclass(frozen=True, slots=True)
class LastUsage:
    key: Key
    usage: KeyUsage | None
    tracking_start: datetime  # the later of the key's creation and the trail's start


class KeyUsageQueries:
    def __init__(self, resolver: KeyResolver, audit: AuditReader) -> None:
        self._r = resolver
        self._audit = audit

    def last_usage(self, caller: Caller, key_id: str) -> LastUsage:
        """Key id or key ARN only (no aliases); the caller's own keys only (AWS: no
        cross-account use)."""
        with self._r.storage.read() as tx:
            key = self._r.read(
                tx, caller, key_id, Request("kms:GetKeyLastUsage"), allow_alias=False
            )
        if key.account_id != caller.account_id:
            raise key_not_found(key.arn)
        started = self._audit.tracking_start()
        tracking = key.created_at if started is None else max(started, key.created_at)
        return LastUsage(key, self._audit.key_last_usage(key.arn), tracking)
