"""LookupEvents: its lookup attributes and the query a storage backend answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class LookupKey(StrEnum):
    """CloudTrail's ``LookupAttributeKey``."""

    EVENT_ID = "EventId"
    EVENT_NAME = "EventName"
    READ_ONLY = "ReadOnly"
    USERNAME = "Username"
    RESOURCE_TYPE = "ResourceType"
    RESOURCE_NAME = "ResourceName"
    EVENT_SOURCE = "EventSource"
    ACCESS_KEY_ID = "AccessKeyId"


MAX_RESULTS = 50


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Events of one account, newest first (by event time, then seq).

    ``before`` is the keyset bound of the next page: (event time in microseconds, seq) of
    the last event already returned. ``start`` and ``end`` are inclusive.
    """

    account_id: str
    region: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    key: LookupKey | None = None
    value: str = ""
    before: tuple[int, int] | None = None
    limit: int = MAX_RESULTS
