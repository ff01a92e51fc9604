"""CloudTrail's LookupEvents over the stored trail.

Each account sees only its own records (``recipientAccountId``), in the Region of the
request, newest first (in the order they were recorded). Pages are cut by keyset: the
NextToken holds the seq to go on below and a fingerprint of the other parameters, so a
token is only accepted with the parameters it was issued for, as CloudTrail requires.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from cofre.core.audit.chain import ChainedEvent, to_micros
from cofre.core.audit.lookup import MAX_RESULTS, AuditQuery, LookupKey
from cofre.core.iam.principals import Caller
from cofre.errors import InvalidLookupAttributesError, InvalidTimeRangeError, InvalidTrailTokenError
from cofre.service.authz.authorizer import Authorizer
from cofre.service.iam.common import check
from cofre.service.ports import Storage

ACTION = "cloudtrail:LookupEvents"
_TOKEN_PREFIX = "cofre-ct2"  # noqa: S105 - a marker, not a secret


@dataclass(frozen=True, slots=True)
class LookupPage:
    events: list[ChainedEvent]
    next_token: str | None


def _fingerprint(query: AuditQuery) -> str:
    parts = (
        query.account_id,
        query.region or "",
        "" if query.start is None else str(to_micros(query.start)),
        "" if query.end is None else str(to_micros(query.end)),
        query.key or "",
        query.value,
    )
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def _token(query: AuditQuery, below_seq: int) -> str:
    text = f"{_TOKEN_PREFIX}:{below_seq}:{_fingerprint(query)}"
    return base64.urlsafe_b64encode(text.encode()).decode()


def _position(query: AuditQuery, token: str) -> int:
    try:
        prefix, seq, fingerprint = base64.urlsafe_b64decode(token.encode()).decode().split(":")
        position = int(seq)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise InvalidTrailTokenError("Invalid NextToken.") from exc
    if prefix != _TOKEN_PREFIX or fingerprint != _fingerprint(query):
        raise InvalidTrailTokenError(
            "The NextToken must be passed with the parameters of the call that returned it."
        )
    return position


def lookup_events(
    storage: Storage,
    authorizer: Authorizer,
    caller: Caller,
    *,
    attributes: Sequence[tuple[str, str]] = (),
    start: datetime | None = None,
    end: datetime | None = None,
    max_results: int | None = None,
    next_token: str | None = None,
    insights: bool = False,
) -> LookupPage:
    check(authorizer, caller, ACTION)
    if len(attributes) > 1:
        raise InvalidLookupAttributesError("You can specify at most one lookup attribute.")
    key: LookupKey | None = None
    value = ""
    if attributes:
        name, value = attributes[0]
        try:
            key = LookupKey(name)
        except ValueError as exc:
            raise InvalidLookupAttributesError(f"Invalid lookup attribute key: {name}") from exc
        if key is LookupKey.READ_ONLY and value.lower() not in ("true", "false"):
            raise InvalidLookupAttributesError("The ReadOnly attribute must be true or false.")
    if start is not None and end is not None and start > end:
        raise InvalidTimeRangeError("Start time must be before end time.")
    query = AuditQuery(
        account_id=caller.account_id,
        region=caller.region,
        start=start,
        end=end,
        key=key,
        value=value,
        limit=min(max_results or MAX_RESULTS, MAX_RESULTS) + 1,
    )
    if next_token:
        query = dataclasses.replace(query, before=_position(query, next_token))
    if insights:  # Cofre records no Insights events
        return LookupPage([], None)
    with storage.read() as tx:
        found, resume = tx.lookup_audit_events(query)
    page = found[: query.limit - 1]
    token = None
    if len(found) == query.limit:
        token = _token(query, page[-1].seq)
    elif resume is not None:  # the scan budget ran out: go on below where it stopped
        token = _token(query, resume)
    return LookupPage(page, token)
