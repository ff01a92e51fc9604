"""LookupEvents: its lookup attributes and the query a storage backend answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from cofre.core.audit.chain import EventIndex, to_micros


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
    """Events of one account, newest first (in the order they were recorded: by seq).

    ``before`` is the keyset bound of the next page: only records with a lower seq.
    ``start`` and ``end`` are inclusive. ``budget`` bounds the records one lookup reads
    (a page may come back short, with a token to go on, as CloudTrail's may).
    """

    account_id: str
    region: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    key: LookupKey | None = None
    value: str = ""
    before: int | None = None
    limit: int = MAX_RESULTS
    budget: int = 50_000


def matches(query: AuditQuery, index: EventIndex, micros: int) -> bool:
    """Whether a record (its index, its event time in microseconds) answers ``query``,
    the keyset bound aside."""
    if index.account_id != query.account_id:
        return False
    if query.region is not None and index.region != query.region:
        return False
    if query.start is not None and micros < to_micros(query.start):
        return False
    if query.end is not None and micros > to_micros(query.end):
        return False
    key, value = query.key, query.value
    if key is None:
        return True
    if key is LookupKey.RESOURCE_NAME:
        return any(name == value for name, _ in index.resources)
    if key is LookupKey.RESOURCE_TYPE:
        return any(kind == value for _, kind in index.resources)
    if key is LookupKey.READ_ONLY:
        return index.read_only == (value.lower() == "true")
    return bool(getattr(index, _ATTRIBUTES[key]) == value)


_ATTRIBUTES = {
    LookupKey.EVENT_ID: "event_id",
    LookupKey.EVENT_NAME: "event_name",
    LookupKey.USERNAME: "username",
    LookupKey.EVENT_SOURCE: "event_source",
    LookupKey.ACCESS_KEY_ID: "access_key_id",
}
