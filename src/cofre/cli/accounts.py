"""``cofre accounts``: create and list accounts (tenants) through a server's admin API.

Credentials, region and endpoint come from the usual AWS sources (environment variables,
``--profile``, shared files) or options; requests are signed with SigV4 for the service
name ``cofre``. Output is JSON on stdout.
"""

from __future__ import annotations

import json
import sys

import click

from cofre.cli.signed import admin_call, connection_options

TARGET_PREFIX = "CofreAdmin."


_connection_options = connection_options


@click.group()
def accounts() -> None:
    """Create and list accounts (the server's administrative account only)."""


@accounts.command("create")
@click.option("--account-id", help="12 digits (default: a new random id).")
@click.option("--name", default="", help="A name, shown by accounts list (default: none).")
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
    result = admin_call(
        endpoint_url, region, profile, ca_bundle, TARGET_PREFIX + "CreateAccount", payload
    )
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


@accounts.command("list")
@_connection_options
def list_(
    endpoint_url: str | None, region: str | None, profile: str | None, ca_bundle: str | None
) -> None:
    """List the server's accounts as JSON."""
    result = admin_call(
        endpoint_url, region, profile, ca_bundle, TARGET_PREFIX + "ListAccounts", {}
    )
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
