"""Audit events: one CloudTrail record per API call or background event, built purely.

The API layer describes what happened in an :class:`AuditCall`; :func:`build_event` turns
it into the record CloudTrail would write (eventVersion 1.11): who (``userIdentity``),
when, which service and operation, from where, the parameters and response with every
secret removed (:mod:`cofre.core.audit.redact`), the error, the resources (key ARNs) and
the account that receives the record. The record is then canonically serialised and
hash-chained (:mod:`cofre.core.audit.chain`).

A call that touches resources of other accounts yields one record per account, as in
CloudTrail: the caller's account gets the full identity, each owner account a record whose
``userIdentity`` is of type ``AWSAccount``; both share a ``sharedEventID``. Denied
cross-account calls are recorded only for the caller (AWS logs them there only).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from cofre.core.audit.redact import Direction, clean_text, iso_time
from cofre.core.audit.resources import arn_account, resource_type
from cofre.core.iam.principals import Caller

EVENT_VERSION = "1.11"
API_CALL = "AwsApiCall"
SERVICE_EVENT = "AwsServiceEvent"
INTERNAL = "AWS Internal"  # CloudTrail's sourceIPAddress / userAgent / invokedBy of its own jobs
MAX_MESSAGE = 1024

EVENT_SOURCES: Mapping[str, str] = {
    "kms": "kms.amazonaws.com",
    "ssm": "ssm.amazonaws.com",
    "iam": "iam.amazonaws.com",
    "sts": "sts.amazonaws.com",
    "cloudtrail": "cloudtrail.amazonaws.com",
    "cofre": "cofre.amazonaws.com",  # Cofre's admin API (accounts)
}

# Operations that change nothing, beyond the Get/List/Describe/Lookup ones. CloudTrail
# marks KMS cryptographic operations and STS calls read-only.
_READ_ONLY_PREFIXES = ("Get", "List", "Describe", "Lookup")
_READ_ONLY: Mapping[str, frozenset[str]] = {
    "kms": frozenset(
        {
            "Decrypt",
            "DeriveSharedSecret",
            "Encrypt",
            "GenerateDataKey",
            "GenerateDataKeyPair",
            "GenerateDataKeyPairWithoutPlaintext",
            "GenerateDataKeyWithoutPlaintext",
            "GenerateMac",
            "GenerateRandom",
            "ReEncrypt",
            "Sign",
            "Verify",
            "VerifyMac",
        }
    ),
    "sts": frozenset({"AssumeRole", "DecodeAuthorizationMessage"}),
    # The seal: nothing stored changes (a sealed node cannot commit a record with it;
    # these are journaled, and reach the chain once the node is unsealed).
    # VerifyAuditTrail reads the trail.
    "cofre": frozenset({"Seal", "Unseal", "SealStatus", "VerifyAuditTrail"}),
}

# KMS's KeyLastUsageTrackingOperation: what GetKeyLastUsage reports.
KEY_USAGE_OPERATIONS = frozenset(
    {
        "Decrypt",
        "DeriveSharedSecret",
        "Encrypt",
        "GenerateDataKey",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateMac",
        "ReEncrypt",
        "Sign",
        "Verify",
        "VerifyMac",
        "Encapsulate",
        "Decapsulate",
    }
)

_DENIED_CODES = frozenset({"AccessDeniedException", "AccessDenied"})


class Redactor(Protocol):
    """What :func:`build_event` needs to log parameters: see ``ModelRedactor``."""

    def __call__(
        self,
        service: str,
        operation: str,
        params: Mapping[str, Any] | None,
        direction: Direction,
    ) -> dict[str, Any] | None: ...


@dataclass(slots=True)  # not frozen: one is built per request, and frozen costs 3 µs
class AuditCall:
    """What the pipeline (or a background job) knows of one call, once it has ended.

    ``caller`` is None when authentication failed; ``access_key_id`` and ``account_id``
    then say what is known of who tried. ``params`` is the decoded input (model member
    names), ``output`` the handler's result (None on error). ``resources`` are ARNs
    (key ARNs for KMS). ``read_only`` None means: look it up in the operation table.
    ``extra`` becomes ``additionalEventData`` (API calls) or ``serviceEventDetails``
    (service events: rotation, deletion, expiry of imported material). ``redacted`` says
    that ``params`` are already as the record logs them (the journal's calls: redacted
    before they are written, :mod:`cofre.core.audit.journal`).
    """

    time: datetime
    service: str  # "kms", "ssm", "iam", "sts", "cloudtrail", "cofre"
    operation: str  # the wire name: "Encrypt"
    region: str
    caller: Caller | None
    request_id: str = ""
    params: Mapping[str, Any] | None = None
    output: Mapping[str, Any] | None = None
    error_code: str | None = None  # the wire error type: "AccessDeniedException"
    error_message: str | None = None
    read_only: bool | None = None
    resources: Sequence[str] = ()
    event_type: str = API_CALL
    source_ip: str = ""  # default: the caller's
    user_agent: str = ""  # default: the caller's
    access_key_id: str = ""  # when caller is None: the key that was tried
    account_id: str | None = None  # when caller is None: its account if known; service events
    session_created_at: datetime | None = None  # assumed-role sessions: credential creation
    extra: Mapping[str, Any] = field(default_factory=dict)
    redacted: bool = False

    @property
    def owner_account(self) -> str:
        """The account the call is recorded for first ("" when nobody is known)."""
        if self.caller is not None:
            return self.caller.account_id
        return self.account_id or ""


@dataclass(frozen=True, slots=True)
class AuditReceipt:
    """Where a call's records went in the chain: one per receiving account."""

    event_ids: tuple[str, ...]
    seqs: tuple[int, ...]


def service_event(
    time: datetime,
    service: str,
    name: str,
    region: str,
    account_id: str,
    resource_arn: str,
    details: Mapping[str, Any],
) -> AuditCall:
    """A background event of the server's own on one resource (a key's rotation,
    deletion, expiry of imported material): CloudTrail's ``AwsServiceEvent``."""
    return AuditCall(
        time=time,
        service=service,
        operation=name,
        region=region,
        caller=None,
        resources=(resource_arn,),
        event_type=SERVICE_EVENT,
        account_id=account_id,
        extra=details,
    )


@dataclass(slots=True)  # not frozen: built per cryptographic call
class KeyUsage:
    """The last successful cryptographic use of a key (GetKeyLastUsage)."""

    key_arn: str
    operation: str
    time: datetime
    event_id: str
    request_id: str


@functools.lru_cache(maxsize=1024)
def is_read_only(service: str, operation: str) -> bool:
    """Whether ``operation`` changes nothing (CloudTrail's ``readOnly``); asked twice a
    request, so remembered."""
    return operation.startswith(_READ_ONLY_PREFIXES) or operation in _READ_ONLY.get(
        service, frozenset()
    )


# Operations that change something outside the call's own write transaction: the seal,
# which the node's keeper changes in a transaction of its own, in the supervisor process
# of a node with workers (a worker holding a write transaction while it waits on the
# supervisor's would wait for ever). Their record follows the change, as a read's does.
_COMMITS_ALONE: Mapping[str, frozenset[str]] = {"cofre": frozenset({"RotateRoot"})}


def commits_alone(service: str, operation: str) -> bool:
    return operation in _COMMITS_ALONE.get(service, frozenset())


def recipients(call: AuditCall) -> list[str]:
    """The accounts that receive a record of ``call``: the caller's first, then each other
    account that owns one of its resources (unless access was denied, or the caller is
    unknown)."""
    first = call.owner_account
    out = [first]
    if call.caller is None or call.error_code in _DENIED_CODES or call.event_type != API_CALL:
        return out
    for arn in call.resources:
        account = arn_account(arn)
        if account and account not in out:
            out.append(account)
    return out


def _role_name(role_arn: str) -> str:
    return role_arn.rsplit("/", 1)[-1]


def user_identity(call: AuditCall, recipient: str) -> dict[str, Any]:
    caller = call.caller
    if call.event_type != API_CALL:
        return {"accountId": recipient, "invokedBy": INTERNAL}
    if caller is None:
        out: dict[str, Any] = {"type": "Unknown"}
        if call.account_id:
            out["accountId"] = call.account_id
        if call.access_key_id:
            out["accessKeyId"] = call.access_key_id
        return out
    if recipient != caller.account_id:
        return {
            "type": "AWSAccount",
            "principalId": caller.principal_id or caller.account_id,
            "accountId": caller.account_id,
        }
    out = {
        "type": caller.identity_type,
        "principalId": caller.principal_id or caller.account_id,
        "arn": caller.principal_arn,
        "accountId": caller.account_id,
        "accessKeyId": caller.access_key_id,
    }
    if caller.user_name:
        out["userName"] = caller.user_name
    if caller.role_arn is not None:
        attributes: dict[str, Any] = {"mfaAuthenticated": "false"}
        if call.session_created_at is not None:
            attributes["creationDate"] = iso_time(call.session_created_at)
        out["sessionContext"] = {
            "sessionIssuer": {
                "type": "Role",
                "principalId": (caller.principal_id or "").split(":", 1)[0],
                "arn": caller.role_arn,
                "accountId": caller.account_id,
                "userName": _role_name(caller.role_arn),
            },
            "attributes": attributes,
        }
    if caller.via_service:
        out["invokedBy"] = EVENT_SOURCES.get(caller.via_service, caller.via_service)
    return out


def _origin(call: AuditCall) -> tuple[str, str]:
    """sourceIPAddress and userAgent."""
    if call.event_type != API_CALL:
        return INTERNAL, INTERNAL
    caller = call.caller
    if caller is not None and caller.via_service:
        service = EVENT_SOURCES.get(caller.via_service, caller.via_service)
        return service, service
    ip = call.source_ip or (caller.source_ip if caller is not None else "")
    agent = call.user_agent or (caller.user_agent if caller is not None else "")
    return clean_text(ip), clean_text(agent)


def build_event(
    call: AuditCall,
    event_id: str,
    *,
    redactor: Redactor | None = None,
    recipient: str | None = None,
    shared_event_id: str | None = None,
) -> dict[str, Any]:
    """The CloudTrail record of ``call`` for ``recipient`` (default: the caller's account).

    Without a ``redactor`` nothing of the parameters or the response is logged.
    """
    recipient = call.owner_account if recipient is None else recipient
    read_only = call.read_only
    if read_only is None:
        read_only = is_read_only(call.service, call.operation)
    source_ip, agent = _origin(call)
    event: dict[str, Any] = {
        "eventVersion": EVENT_VERSION,
        "userIdentity": user_identity(call, recipient),
        "eventTime": iso_time(call.time),
        "eventSource": EVENT_SOURCES.get(call.service, f"{call.service}.amazonaws.com"),
        "eventName": call.operation,
        "awsRegion": call.region,
        "sourceIPAddress": source_ip,
        "userAgent": agent,
        "requestParameters": None,
        "responseElements": None,
    }
    if call.event_type == API_CALL and redactor is not None:
        event["requestParameters"] = logged_request(call, redactor)
        # CloudTrail logs no response of read-only operations (cryptographic ones included).
        if not read_only and call.error_code is None:
            event["responseElements"] = redactor(
                call.service, call.operation, call.output, "output"
            )
    if call.error_code is not None:
        event["errorCode"] = clean_text(call.error_code)
        event["errorMessage"] = clean_text((call.error_message or "")[:MAX_MESSAGE])
    if call.extra:
        name = "additionalEventData" if call.event_type == API_CALL else "serviceEventDetails"
        event[name] = dict(call.extra)
    if call.request_id:
        event["requestID"] = call.request_id
    event["eventID"] = event_id
    event["readOnly"] = read_only
    if call.resources:
        event["resources"] = [
            {"accountId": arn_account(arn), "type": resource_type(arn), "ARN": arn}
            for arn in dict.fromkeys(call.resources)
        ]
    event["eventType"] = call.event_type
    event["managementEvent"] = True
    event["recipientAccountId"] = recipient
    if shared_event_id is not None:
        event["sharedEventID"] = shared_event_id
    event["eventCategory"] = "Management"
    return event


def logged_request(call: AuditCall, redactor: Redactor) -> dict[str, Any] | None:
    """``requestParameters``: the call's input as its record logs it."""
    if call.redacted:
        return None if call.params is None else dict(call.params)
    return redactor(call.service, call.operation, call.params, "input")


def key_usages(call: AuditCall, event_id: str, recipient: str) -> list[KeyUsage]:
    """What a successful cryptographic KMS call tells GetKeyLastUsage, for the keys that
    ``recipient`` owns (each owner's record carries its own event id)."""
    if (
        call.service != "kms"
        or call.error_code is not None
        or call.event_type != API_CALL
        or call.operation not in KEY_USAGE_OPERATIONS
    ):
        return []
    return [
        KeyUsage(arn, call.operation, call.time, event_id, call.request_id)
        for arn in dict.fromkeys(call.resources)
        if resource_type(arn) == "AWS::KMS::Key" and arn_account(arn) == recipient
    ]
