"""KMS operations answered from the audit trail: GetKeyLastUsage."""

from __future__ import annotations

from cofre.api.handlers.operation import Operation, Params, Result, threaded
from cofre.container import Services
from cofre.core.iam.principals import Caller


def get_key_last_usage(s: Services, c: Caller, p: Params) -> Result:
    found = s.key_usage.last_usage(c, p["KeyId"])
    usage: Result = {}
    if found.usage is not None:
        usage = {
            "Operation": found.usage.operation,
            "Timestamp": found.usage.time,
            "CloudTrailEventId": found.usage.event_id,
            "KmsRequestId": found.usage.request_id,
        }
    return {
        "KeyId": found.key.key_id,
        "KeyLastUsage": usage,
        "TrackingStartDate": found.tracking_start,
        "KeyCreationDate": found.key.created_at,
    }


AUDIT_OPERATIONS: dict[str, Operation] = {
    "GetKeyLastUsage": threaded(get_key_last_usage),
}
