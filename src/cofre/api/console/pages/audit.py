"""The audit trail: LookupEvents with the filters AWS offers, newest first, paged, each
event's JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from cofre.api.console.calls import CallError
from cofre.api.console.view import Route, View
from cofre.api.console.web import Page

PAGE_SIZE = 25
ATTRIBUTES = (
    ("EventName", "Event name"),
    ("EventSource", "Event source"),
    ("ResourceName", "Resource name"),
    ("ResourceType", "Resource type"),
    ("Username", "User name"),
    ("AccessKeyId", "Access key ID"),
    ("ReadOnly", "Read-only (true or false)"),
    ("EventId", "Event ID"),
)


def _time(text: str) -> datetime | None:
    """A ``datetime-local`` field's value, read as UTC."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def events(view: View) -> Page:
    query = view.query
    attr, value = query.get("attr", ""), query.get("value", "").strip()
    params: dict[str, Any] = {"MaxResults": PAGE_SIZE, "NextToken": query.get("token") or None}
    if attr in dict(ATTRIBUTES) and value:
        params["LookupAttributes"] = [{"AttributeKey": attr, "AttributeValue": value}]
    params["StartTime"], params["EndTime"] = (
        _time(query.get("start", "")),
        _time(query.get("end", "")),
    )
    context: dict[str, Any] = {
        "section": "audit", "attributes": ATTRIBUTES, "attr": attr, "value": value,
        "start": query.get("start", ""), "end": query.get("end", ""),
    }  # fmt: skip
    try:
        out = view.client.cloudtrail("LookupEvents", **params)
    except CallError as error:
        return Page("audit.html", {**context, "error": error, "rows": []}, status=error.status)
    rows = []
    for event in out.get("Events", []):
        record = json.loads(event.get("CloudTrailEvent") or "{}")
        rows.append({**event, "json": json.dumps(record, indent=2),
                     "error_code": record.get("errorCode", "")})  # fmt: skip
    return Page("audit.html", {**context, "rows": rows, "next_token": out.get("NextToken")})


def verify(view: View) -> Page:
    """``cofre audit verify`` for administrators (CofreAdmin.VerifyAuditTrail): the whole
    chain, its MACs and signed digests, checked on the server."""
    view.query = {}
    page = events(view)
    try:
        report = view.client.call("cofre", "VerifyAuditTrail")
    except CallError as error:
        return Page("audit.html", {**page.context, "verify_error": error}, error.status)
    return Page("audit.html", {**page.context, "report": report})


ROUTES: list[Route] = [
    ("GET", r"/console/audit", events),
    ("POST", r"/console/audit/verify", verify),
]
