"""Parameter Store change notifications as EventBridge events, and the webhooks that carry
them. Pure: ids, times and randomness are arguments.

Event shapes: AWS Systems Manager User Guide, "Amazon EventBridge event examples for
Systems Manager" (Parameter Store section) and "Setting up notifications or trigger actions
based on Parameter Store events" (sysman-paramstore-cwe.html, the event patterns). The
envelope is EventBridge's: ``version`` "0", ``id``, ``detail-type``, ``source`` "aws.ssm",
``account``, ``time`` (``2017-05-22T16:43:48Z``), ``region``, ``resources`` [the parameter
ARN], ``detail``:

* "Parameter Store Change": ``operation`` (Create, Update, Delete, LabelParameterVersion),
  ``name``, ``type``, ``description``. Cofre adds ``labels`` to label events and also
  reports UnlabelParameterVersion (AWS sends no event for it).
* "Parameter Store Policy Action": ``parameter-name``, ``parameter-type``,
  ``policy-type`` (Expiration, ExpirationNotification, NoChangeNotification),
  ``policy-content`` (the policy's JSON), ``action-status``, ``action-reason``.

No event carries a parameter's value (AWS's do not either). Signatures:
docs/formats/webhook-signature.md.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

from cofre.core.params.parameters import MAX_ARN_LENGTH, ChangeOperation, ParamChange, ParamId
from cofre.errors import ValidationError

CHANGE = "Parameter Store Change"
POLICY_ACTION = "Parameter Store Policy Action"
SOURCE = "aws.ssm"
MAX_URL_LENGTH = 2048
MAX_WEBHOOKS = 20  # per account and Region
MIN_SECRET_LENGTH = 16
MAX_SECRET_LENGTH = 256
SIGNATURE_HEADER = "X-Cofre-Signature"
TIMESTAMP_HEADER = "X-Cofre-Timestamp"
EVENT_ID_HEADER = "X-Cofre-Event-Id"
WEBHOOK_ID_HEADER = "X-Cofre-Webhook-Id"
_PREFIX_RE = re.compile(r"/|(?:/[a-zA-Z0-9_.\-]+)+/?")
_SECRET_RE = re.compile(r"[\x21-\x7e]+")


class PolicyType(StrEnum):
    EXPIRATION = "Expiration"
    EXPIRATION_NOTIFICATION = "ExpirationNotification"
    NO_CHANGE_NOTIFICATION = "NoChangeNotification"


@dataclass(frozen=True, slots=True)
class PolicyAction:
    """A parameter policy that acted: a notification sent, or an expired parameter deleted."""

    id: ParamId
    parameter_type: str
    policy_type: PolicyType
    policy_content: str  # the policy's own JSON
    status: str  # "Finished" (Expiration: deleted) or "Success" (a notification)
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Webhook:
    """A subscription: events of parameters under ``path_prefix`` POSTed to ``url``."""

    webhook_id: str
    account_id: str
    region: str
    url: str
    path_prefix: str
    secret_wrapped: bytes  # the HMAC secret, wrapped by the root key (never in the clear)
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    """One event on its way to one webhook (a row of the outbox)."""

    delivery_id: int  # 0 until stored
    webhook_id: str
    event_id: str
    body: bytes  # the event, exactly as POSTed and signed
    created_at: datetime
    attempts: int = 0


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery a worker holds under a lease, with where it goes."""

    delivery: Delivery
    url: str
    secret_wrapped: bytes


def event_id(random16: bytes) -> str:
    """A UUID (version 4) from 16 random bytes."""
    return str(uuid.UUID(bytes=random16, version=4))


def _time(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _envelope(detail_type: str, pid: ParamId, ident: str, at: datetime, detail: Any) -> Any:
    return {
        "version": "0",
        "id": ident,
        "detail-type": detail_type,
        "source": SOURCE,
        "account": pid.account_id,
        "time": _time(at),
        "region": pid.region,
        "resources": [pid.arn],
        "detail": detail,
    }


def change_event(change: ParamChange, ident: str) -> dict[str, Any]:
    """A "Parameter Store Change" event. ``description`` is "" when the parameter has none."""
    detail: dict[str, Any] = {
        "operation": change.operation.value,
        "name": change.id.name,
        "type": change.type.value,
        "description": change.description or "",
    }
    if change.operation in (ChangeOperation.LABEL, ChangeOperation.UNLABEL):
        detail["labels"] = list(change.labels)
    result: dict[str, Any] = _envelope(CHANGE, change.id, ident, change.at, detail)
    return result


def policy_event(action: PolicyAction, ident: str) -> dict[str, Any]:
    """A "Parameter Store Policy Action" event."""
    detail = {
        "parameter-name": action.id.name,
        "parameter-type": action.parameter_type,
        "policy-type": action.policy_type.value,
        "policy-content": action.policy_content,
        "action-status": action.status,
        "action-reason": action.reason,
    }
    result: dict[str, Any] = _envelope(POLICY_ACTION, action.id, ident, action.at, detail)
    return result


def encode_event(event: dict[str, Any]) -> bytes:
    """The bytes POSTed and signed: compact JSON, keys in the envelope's order."""
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode()


# subscriptions -------------------------------------------------------------------------
def matches(path_prefix: str, name: str) -> bool:
    """Whether a parameter's events go to a webhook with this prefix; names compare as if
    written with a leading slash (``foo`` is ``/foo``), as the Path filters do."""
    full = name if name.startswith("/") else "/" + name
    return full.startswith(path_prefix)


def check_url(url: str) -> str:
    if not 1 <= len(url) <= MAX_URL_LENGTH:
        raise ValidationError(f"Url must have length between 1 and {MAX_URL_LENGTH}.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValidationError("Url is not a valid URL.") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("Url must be an http:// or https:// URL with a host.")
    if parts.username is not None or parts.password is not None:
        raise ValidationError("Url must not hold credentials; receivers check the signature.")
    if parts.fragment or any(ch.isspace() for ch in url) or port == 0:
        raise ValidationError("Url is not a valid URL.")
    return url


def check_path_prefix(prefix: str | None) -> str:
    """``/`` (every parameter) or a path such as ``/app/`` or ``/app/prod``."""
    if prefix is None:
        return "/"
    if len(prefix) > MAX_ARN_LENGTH or _PREFIX_RE.fullmatch(prefix) is None:
        raise ValidationError(
            "PathPrefix must be / or a parameter path such as /app/prod/ (letters, digits,"
            " . - _ between slashes)."
        )
    return prefix


def check_secret(secret: str) -> bytes:
    if not MIN_SECRET_LENGTH <= len(secret) <= MAX_SECRET_LENGTH or not _SECRET_RE.fullmatch(
        secret
    ):
        raise ValidationError(
            f"Secret must be {MIN_SECRET_LENGTH} to {MAX_SECRET_LENGTH} printable ASCII"
            " characters without spaces."
        )
    return secret.encode()


# delivery ------------------------------------------------------------------------------
def signature(secret: bytes, timestamp: int, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of ``<timestamp>.<body>`` under the secret."""
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def retry_delay(attempts: int, base: float, cap: float, jitter: float) -> float:
    """Seconds before the next attempt after ``attempts`` failures: exponential from
    ``base``, at most ``cap``, "equal jitter" (half fixed, half ``jitter`` in [0, 1))."""
    ceiling = min(cap, base * 2.0 ** min(max(attempts - 1, 0), 62))
    return ceiling / 2 + ceiling / 2 * jitter


def webhook_secret_aad(webhook_id: str) -> bytes:
    """Associated data binding a wrapped webhook secret to its webhook."""
    return b"cofre/webhook-secret/v1\x00" + webhook_id.encode()
