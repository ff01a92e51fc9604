"""Cofre's webhook API for Parameter Store notifications (ADR 0013): AWS JSON 1.1 with
``X-Amz-Target: CofreParams.<Op>``, signed with SigV4 for the service ``ssm``.

CreateWebhook {Url, PathPrefix?, Secret?} -> {WebhookId, Url, PathPrefix, CreationDate,
Secret (only when Cofre generated it)}; ListWebhooks {} -> {Webhooks: [...]};
DeleteWebhook {WebhookId} -> {}. No botocore model describes them, so the input is
checked here, member by member; the values themselves in ``service.params_webhooks``.
"""

from __future__ import annotations

from cofre.api.handlers.operation import Operation, Params, Result, threaded
from cofre.api.handlers.string_members import parse_string_members
from cofre.container import Services
from cofre.core.iam.principals import Caller
from cofre.core.params.events import Webhook

TARGET_PREFIX = "CofreParams."
SIGNING_NAME = "ssm"
_MEMBERS = {  # operation -> member -> (required, maximum length)
    "CreateWebhook": {"Url": (True, 2048), "PathPrefix": (False, 1011), "Secret": (False, 256)},
    "ListWebhooks": {},
    "DeleteWebhook": {"WebhookId": (True, 64)},
}


def parse_input(operation: str, body: bytes) -> Params:
    return parse_string_members(_MEMBERS.get(operation, {}), body)


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
