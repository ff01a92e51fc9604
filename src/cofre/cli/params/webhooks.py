"""``cofre params webhooks``: subscribe webhooks to Parameter Store notifications
(ADR 0013) through a server's ``CofreParams.`` operations, signed for the service ``ssm``.

Credentials, region and endpoint come from the usual AWS sources (``AWS_ACCESS_KEY_ID``...,
``AWS_ENDPOINT_URL_SSM`` or ``AWS_ENDPOINT_URL``, ``--profile``, shared files) or options.
Output is JSON on stdout; a secret Cofre generates is printed once, by ``add``.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from cofre.cli.signed import call, connection_options

TARGET_PREFIX = "CofreParams."
ENDPOINT_ENV = ("AWS_ENDPOINT_URL_SSM", "AWS_ENDPOINT_URL")


def _call(connection: dict[str, str | None], operation: str, payload: dict[str, str]) -> Any:
    return call(
        connection["endpoint_url"],
        connection["region"],
        connection["profile"],
        connection["ca_bundle"],
        signing_name="ssm",
        target=TARGET_PREFIX + operation,
        payload=payload,
        endpoint_env=ENDPOINT_ENV,
    )


def _print(result: Any) -> None:
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


@click.group()
def webhooks() -> None:
    """Webhooks that receive Parameter Store change and policy events."""


@webhooks.command("add")
@click.option("--url", required=True, help="http:// or https:// URL events are POSTed to.")
@click.option("--path-prefix", help="Only parameters under this path (default: /, all).")
@click.option(
    "--secret",
    envvar="COFRE_WEBHOOK_SECRET",
    help="HMAC secret, 16-256 characters ($COFRE_WEBHOOK_SECRET; default: generated).",
)
@connection_options
def add(url: str, path_prefix: str | None, secret: str | None, **connection: str | None) -> None:
    """Subscribe URL; print the webhook (and the secret, when generated) as JSON."""
    payload = {"Url": url}
    if path_prefix:
        payload["PathPrefix"] = path_prefix
    if secret:
        payload["Secret"] = secret
    _print(_call(connection, "CreateWebhook", payload))


@webhooks.command("list")
@connection_options
def list_(**connection: str | None) -> None:
    """List the webhooks of the account and Region, with pending deliveries."""
    _print(_call(connection, "ListWebhooks", {}))


@webhooks.command("remove")
@click.argument("webhook_id")
@connection_options
def remove(webhook_id: str, **connection: str | None) -> None:
    """Delete a webhook and the deliveries still pending for it."""
    _call(connection, "DeleteWebhook", {"WebhookId": webhook_id})
