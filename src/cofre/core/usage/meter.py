"""Metering the audit trail: which keys were held when, which requests were made.

:class:`Meter` is shown the trail's CloudTrail records in order and keeps, per key, its
life (CreateKey; each RotateKey / RotateKeyOnDemand; a ScheduleKeyDeletion not
cancelled; DeleteKey) and, per account, the successful KMS requests counted by month,
operation and the keys they named. :mod:`cofre.core.usage.bill` prices it. Failed calls
are not requests AWS bills, and a cross-account call is counted once, for the caller (the
key owner's copy of its record is skipped).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

KMS_SOURCE = "kms.amazonaws.com"
CREATE, SCHEDULE, CANCEL, DELETE = (
    "CreateKey", "ScheduleKeyDeletion", "CancelKeyDeletion", "DeleteKey"
)  # fmt: skip
ROTATIONS = frozenset({"RotateKey", "RotateKeyOnDemand"})
LIFECYCLE = frozenset({CREATE, SCHEDULE, CANCEL, DELETE, *ROTATIONS})
_KEY_ARN = ":key/"


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def month_of(moment: datetime) -> tuple[int, int]:
    return moment.year, moment.month


@dataclass
class KeyLife:
    """One key as the trail (or, for what it does not show, the keys table) tells it."""

    key_id: str
    account_id: str = ""
    key_manager: str = "CUSTOMER"
    origin: str = "AWS_KMS"
    key_spec: str = "SYMMETRIC_DEFAULT"
    created: datetime | None = None  # None: not known (no CreateKey, not in the keys table)
    rotations: list[datetime] = field(default_factory=list)
    scheduled: datetime | None = None  # a ScheduleKeyDeletion not (yet) cancelled
    deleted: datetime | None = None

    @property
    def end(self) -> datetime | None:
        """Billing stops when the deletion is scheduled (AWS charges nothing while a key
        waits to be deleted, unless the deletion is cancelled), or when it is deleted."""
        return self.scheduled if self.scheduled is not None else self.deleted


@dataclass(frozen=True, slots=True)
class RequestBucket:
    """Requests alike for billing: by caller account, month, whether in the report's
    window, operation, the keys named, and GenerateDataKeyPair's pair spec."""

    account_id: str
    month: tuple[int, int]
    in_window: bool
    operation: str
    key_ids: tuple[str, ...]
    key_pair_spec: str | None


def _key_id(arn: str) -> str | None:
    at = arn.find(_KEY_ARN)
    return arn[at + len(_KEY_ARN) :] if at >= 0 else None


def _account_of(arn: str) -> str:
    parts = arn.split(":", 5)
    return parts[4] if len(parts) > 4 else ""


class Meter:
    def __init__(self, start: datetime, end: datetime) -> None:
        """``start`` and ``end``: the report's window, on whole hours (UTC)."""
        for moment, name in ((start, "from"), (end, "to")):
            if moment.tzinfo is None or moment.astimezone(UTC).replace(
                minute=0, second=0, microsecond=0
            ) != moment.astimezone(UTC):
                raise ValueError(f"{name}: a whole hour, with its time zone")
        if end <= start:
            raise ValueError("to: after from")
        self.start = start.astimezone(UTC)
        self.end = end.astimezone(UTC)
        self._month_start = self.start.replace(day=1, hour=0)
        self.keys: dict[str, KeyLife] = {}
        self.requests: Counter[RequestBucket] = Counter()

    def wants(self, event_source: str, event_name: str, event_time: datetime) -> bool:
        """Whether a record with these index fields may count (so that its body is read)."""
        if event_source != KMS_SOURCE:
            return False
        return event_name in LIFECYCLE or self._month_start <= event_time < self.end

    def _key(self, key_id: str) -> KeyLife:
        life = self.keys.get(key_id)
        if life is None:
            life = self.keys[key_id] = KeyLife(key_id)
        return life

    def see(self, record: Mapping[str, Any]) -> None:
        """One CloudTrail record of the trail, in the trail's order."""
        if record.get("eventSource") != KMS_SOURCE or "errorCode" in record:
            return
        name = str(record.get("eventName", ""))
        when = parse_time(str(record["eventTime"]))
        recipient = str(record.get("recipientAccountId", ""))
        arns = [str(r.get("ARN", "")) for r in record.get("resources") or ()]
        keys = [k for k in (_key_id(a) for a in arns) if k is not None]
        for key_id in keys:
            self._key(key_id)
        if name in LIFECYCLE:
            self._lifecycle(record, name, when, recipient, arns)
        if record.get("eventType") != "AwsApiCall":
            return  # the service's own work is no request
        identity = record.get("userIdentity") or {}
        caller = str(identity.get("accountId", ""))
        if identity.get("type") == "AWSAccount" or caller != recipient or not caller:
            return  # the key owner's copy of a cross-account call
        if not self._month_start <= when < self.end:
            return
        params = record.get("requestParameters") or {}
        pair = params.get("keyPairSpec") if isinstance(params, dict) else None
        self.requests[
            RequestBucket(
                caller,
                month_of(when),
                when >= self.start,
                name,
                tuple(sorted(set(keys))),
                None if pair is None else str(pair),
            )
        ] += 1

    def _lifecycle(
        self, record: Mapping[str, Any], name: str, when: datetime, recipient: str, arns: list[str]
    ) -> None:
        if name == CREATE:
            metadata = (record.get("responseElements") or {}).get("keyMetadata") or {}
            key_id = metadata.get("keyId")
            if not key_id:
                return
            life = self._key(str(key_id))
            life.account_id = str(metadata.get("aWSAccountId") or recipient)
            life.key_manager = str(metadata.get("keyManager", life.key_manager))
            life.origin = str(metadata.get("origin", life.origin))
            life.key_spec = str(metadata.get("keySpec", life.key_spec))
            life.created = when
            return
        for arn in arns:
            key_id = _key_id(arn)
            if key_id is None or _account_of(arn) != recipient:
                continue  # a record of another account's copy
            life = self._key(key_id)
            life.account_id = life.account_id or recipient
            if name == SCHEDULE:
                life.scheduled = when
            elif name == CANCEL:
                life.scheduled = None  # "as though it was never scheduled"
            elif name == DELETE:
                life.deleted = when
            else:
                life.rotations.append(when)

    def unknown_keys(self) -> list[str]:
        """Keys the trail names but does not show being created (AWS managed keys, made
        on first use; keys older than the kept trail): look them up in the keys table."""
        return sorted(k for k, life in self.keys.items() if life.created is None)

    def know(
        self,
        key_id: str,
        *,
        account_id: str,
        created: datetime,
        key_manager: str,
        origin: str,
        key_spec: str,
    ) -> None:
        """What the keys table says of a key the trail does not show being created."""
        life = self._key(key_id)
        life.account_id, life.created = account_id, created.astimezone(UTC)
        life.key_manager, life.origin, life.key_spec = key_manager, origin, key_spec
