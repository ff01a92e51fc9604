"""CloudTrail's LookupEvents on the wire (AWS JSON 1.1, target prefix
``com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101``, SigV4 service ``cloudtrail``),
so ``aws cloudtrail lookup-events --endpoint-url ...`` reads Cofre's audit trail."""

from __future__ import annotations

from cofre.api.handlers.operation import Operation, Params, Result, threaded
from cofre.container import Services
from cofre.core.audit.chain import ChainedEvent
from cofre.core.iam.principals import Caller


def _event(event: ChainedEvent) -> Result:
    index = event.index
    out: Result = {
        "EventId": index.event_id,
        "EventName": index.event_name,
        "ReadOnly": "true" if index.read_only else "false",
        "EventTime": index.event_time,
        "EventSource": index.event_source,
        "Resources": [{"ResourceType": kind, "ResourceName": arn} for arn, kind in index.resources],
        "CloudTrailEvent": event.body.decode("utf-8"),
    }
    if index.access_key_id:
        out["AccessKeyId"] = index.access_key_id
    if index.username:
        out["Username"] = index.username
    return out


def lookup_events(s: Services, c: Caller, p: Params) -> Result:
    attributes = [
        (attribute["AttributeKey"], attribute["AttributeValue"])
        for attribute in p.get("LookupAttributes") or ()
    ]
    page = s.audit.reads.lookup(
        c,
        attributes=attributes,
        start=p.get("StartTime"),
        end=p.get("EndTime"),
        max_results=p.get("MaxResults"),
        next_token=p.get("NextToken"),
        insights=p.get("EventCategory") == "insight",
    )
    out: Result = {"Events": [_event(event) for event in page.events]}
    if page.next_token:
        out["NextToken"] = page.next_token
    return out


OPERATIONS: dict[str, Operation] = {
    "LookupEvents": threaded(lookup_events),
}
