"""Cofre's webhook API for Parameter Store notifications (ADR 0013): AWS JSON 1.1 with
``X-Amz-Target: CofreParams.<Op>``, signed with SigV4 for the service ``ssm``.

CreateWebhook {Url, PathPrefix?, Secret?} -> {WebhookId, Url, PathPrefix, CreationDate,
Secret (only when Cofre generated it)}; ListWebhooks {} -> {Webhooks: [...]};
DeleteWebhook {WebhookId} -> {}. No botocore model describes them, so the input is
checked here, member by member; the values themselves in ``service.params_webhooks``.
"""

from __future__ import annotations

from typing import Any

import orjson

from cofre.api.handlers.operation import Operation, Params, Result, threaded
from cofre.container import Services
from cofre.core.iam.principals import Caller
from cofre.core.params.events import Webhook
from cofre.errors import SerializationError, ValidationError

TARGET_PREFIX = "CofreParams."
SIGNING_NAME = "ssm"
_MEMBERS = {  # operation -> member -> (required, maximum length)
    "CreateWebhook": {"Url": (True, 2048), "PathPrefix": (False, 1011), "Secret": (False, 256)},
    "ListWebhooks": {},
    "DeleteWebhook": {"WebhookId": (True, 64)},
}


def parse_input(operation: str, body: bytes) -> Params:
    try:
        document: Any = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError as exc:
        raise SerializationError("The request body is not a JSON object.") from exc
    if not isinstance(document, dict):
        raise SerializationError("The request body is not a JSON object.")
    members = _MEMBERS.get(operation, {})
    for name, value in document.items():
        if name not in members:
            raise ValidationError(f"Unknown member {name[:40]!r}.")
        if not isinstance(value, str):
            raise SerializationError(f"{name} must be a string.")
        if not 1 <= len(value) <= members[name][1]:
            raise ValidationError(f"{name} must have length between 1 and {members[name][1]}.")
    for name, (required, _) in members.items():
        if required and name not in document:
            raise ValidationError(f"{name} is required.")
    return document


def _shown(webhook: Webhook) -> Result:
    return {
        "WebhookId": webhook.webhook_id,
        "Url": webhook.url,
        "PathPrefix": webhook.path_prefix,
        "CreationDate": webhook.created_at,
    }


def create_webhook(s: Services, c: Caller, p: Params) -> Result:
    new = s.webhooks.create(c, p["Url"], p.get("PathPrefix"), p.get("Secret"))
    out = _shown(new.webhook)
    if new.generated_secret is not None:
        out["Secret"] = new.generated_secret  # shown once, never again
    return out


def list_webhooks(s: Services, c: Caller, p: Params) -> Result:
    return {
        "Webhooks": [
            {**_shown(w), "PendingDeliveries": pending} for w, pending in s.webhooks.list(c)
        ]
    }


def delete_webhook(s: Services, c: Caller, p: Params) -> Result:
    s.webhooks.delete(c, p["WebhookId"])
    return {}


OPERATIONS: dict[str, Operation] = {
    "CreateWebhook": threaded(create_webhook),
    "ListWebhooks": threaded(list_webhooks),
    "DeleteWebhook": threaded(delete_webhook),
}
