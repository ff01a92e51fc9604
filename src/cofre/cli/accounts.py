"""``cofre accounts``: create and list accounts (tenants) through a server's admin API.

Credentials, region and endpoint come from the usual AWS sources (environment variables,
``--profile``, shared files) or options; requests are signed with SigV4 for the service
name ``cofre``. Output is JSON on stdout.
"""

from __future__ import annotations

import json
import os
import ssl
import sys
import urllib.error
import urllib.request
from typing import Any

import click
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.session import Session

TARGET_PREFIX = "CofreAdmin."


def _call(
    endpoint_url: str | None,
    region: str | None,
    profile: str | None,
    ca_bundle: str | None,
    operation: str,
    payload: dict[str, str],
) -> Any:
    endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        raise click.UsageError("Give --endpoint-url or set AWS_ENDPOINT_URL.")
    session = Session(profile=profile)
    credentials = session.get_credentials()
    if credentials is None:
        raise click.UsageError("No AWS credentials found (environment, profile or files).")
    region = region or session.get_config_variable("region") or "us-east-1"
    body = json.dumps(payload).encode()
    request = AWSRequest(
        method="POST",
        url=endpoint.rstrip("/") + "/",
        data=body,
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": TARGET_PREFIX + operation,
        },
    )
    SigV4Auth(credentials.get_frozen_credentials(), "cofre", region).add_auth(request)
    prepared = urllib.request.Request(  # noqa: S310 - the endpoint is the user's own server
        request.url, data=body, headers=dict(request.headers.items()), method="POST"
    )
    context = None
    bundle = ca_bundle or os.environ.get("AWS_CA_BUNDLE")
    if endpoint.startswith("https://"):
        context = ssl.create_default_context(cafile=bundle)
    try:
        with urllib.request.urlopen(prepared, timeout=60, context=context) as response:  # noqa: S310
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            error = json.loads(exc.read())
            message = f"{error.get('__type', exc.code)}: {error.get('message', '')}"
        except ValueError:
            message = f"HTTP {exc.code}"
        raise click.ClickException(message) from exc
    except urllib.error.URLError as exc:
        raise click.ClickException(f"Cannot reach {endpoint}: {exc.reason}") from exc


def _connection_options(command: Any) -> Any:
    for option in (
        click.option("--endpoint-url", help="The Cofre server (default: $AWS_ENDPOINT_URL)."),
        click.option("--region", help="Region to sign for (default: AWS configuration)."),
        click.option("--profile", help="AWS profile whose credentials sign the request."),
        click.option("--ca-bundle", help="CA bundle for https endpoints ($AWS_CA_BUNDLE)."),
    ):
        command = option(command)
    return command


@click.group()
def accounts() -> None:
    """Create and list accounts (the server's administrative account only)."""


@accounts.command("create")
@click.option("--account-id", help="12 digits (default: a new random id).")
@click.option("--name", default="", help="A name for the account.")
@_connection_options
def create(
    account_id: str | None,
    name: str,
    endpoint_url: str | None,
    region: str | None,
    profile: str | None,
    ca_bundle: str | None,
) -> None:
    """Create an account; print its id and root access key pair as JSON."""
    payload = {"AccountId": account_id} if account_id else {}
    if name:
        payload["Name"] = name
    result = _call(endpoint_url, region, profile, ca_bundle, "CreateAccount", payload)
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


@accounts.command("list")
@_connection_options
def list_(
    endpoint_url: str | None, region: str | None, profile: str | None, ca_bundle: str | None
) -> None:
    """List the server's accounts as JSON."""
    result = _call(endpoint_url, region, profile, ca_bundle, "ListAccounts", {})
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
