"""Webhook subscriptions of Parameter Store notifications: CreateWebhook, ListWebhooks,
DeleteWebhook (Cofre's own operations, ``CofreParams.<Op>``; ADR 0013).

Webhooks belong to an account and Region. Authorization is identity-policy only, as for
every SSM action: ``ssm:CreateWebhook`` and ``ssm:ListWebhooks`` on ``*``,
``ssm:DeleteWebhook`` on the webhook's ARN (``arn:aws:ssm:<region>:<account>:webhook/<id>``).
The HMAC secret is stored wrapped by the root key; when the caller gives none, one is
generated and returned once, by CreateWebhook, and never again.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

from cofre.core.crypto import Aead, Random, wrap
from cofre.core.iam.principals import Caller
from cofre.core.params.events import (
    MAX_WEBHOOKS,
    Webhook,
    check_path_prefix,
    check_secret,
    check_url,
    webhook_secret_aad,
)
from cofre.errors import LimitExceededError, NotFoundError, ValidationError
from cofre.service.authz.authorizer import Authorizer
from cofre.service.iam.common import check
from cofre.service.ports import Clock, Storage


def webhook_arn(region: str, account_id: str, webhook_id: str) -> str:
    return f"arn:aws:ssm:{region}:{account_id}:webhook/{webhook_id}"


@dataclass(frozen=True, slots=True)
class NewWebhook:
    webhook: Webhook
    generated_secret: str | None  # shown once when Cofre chose the secret


class WebhookService:
    def __init__(
        self, storage: Storage, authorizer: Authorizer, clock: Clock, root: Aead, random: Random
    ) -> None:
        self._storage = storage
        self._authorizer = authorizer
        self._clock = clock
        self._root = root
        self._random = random

    def create(
        self, caller: Caller, url: str, path_prefix: str | None, secret: str | None
    ) -> NewWebhook:
        check_url(url)
        prefix = check_path_prefix(path_prefix)
        generated = None
        if secret is None:
            generated = base64.urlsafe_b64encode(self._random(32)).decode().rstrip("=")
            raw = generated.encode()
        else:
            raw = check_secret(secret)
        check(self._authorizer, caller, "ssm:CreateWebhook", "*")
        webhook_id = "wh-" + self._random(8).hex()
        webhook = Webhook(
            webhook_id,
            caller.account_id,
            caller.region,
            url,
            prefix,
            wrap(self._root, raw, webhook_secret_aad(webhook_id), self._random),
            self._clock.now(),
        )
        with self._storage.write() as tx:
            if len(tx.list_param_webhooks(caller.account_id, caller.region)) >= MAX_WEBHOOKS:
                raise LimitExceededError(
                    f"An account can have at most {MAX_WEBHOOKS} webhooks per Region."
                )
            tx.insert_param_webhook(webhook)
        return NewWebhook(webhook, generated)

    def list(self, caller: Caller) -> list[tuple[Webhook, int]]:
        """The caller's webhooks with the number of deliveries pending for each."""
        check(self._authorizer, caller, "ssm:ListWebhooks", "*")
        with self._storage.read() as tx:
            found = tx.list_param_webhooks(caller.account_id, caller.region)
            return [(w, tx.count_param_deliveries(w.webhook_id)) for w in found]

    def delete(self, caller: Caller, webhook_id: str) -> None:
        if not webhook_id.startswith("wh-") or len(webhook_id) > 64:
            raise ValidationError(f"Invalid WebhookId {webhook_id[:64]!r}.")
        arn = webhook_arn(caller.region, caller.account_id, webhook_id)
        check(self._authorizer, caller, "ssm:DeleteWebhook", arn)
        with self._storage.write() as tx:
            if not tx.delete_param_webhook(caller.account_id, caller.region, webhook_id):
                raise NotFoundError(f"Webhook {webhook_id} does not exist.")
