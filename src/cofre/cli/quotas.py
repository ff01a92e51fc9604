"""``cofre quotas``: list and set request quotas through a server's admin API (bootstrap
admin only; ADR 20). Credentials, region and endpoint come from the usual AWS sources
(environment variables, ``--profile``, shared files) or options. Output is JSON.
"""

from __future__ import annotations

import json
import sys

import click

from cofre.cli.signed import admin_call, connection_options

TARGET_PREFIX = "CofreAdmin."


@click.group()
def quotas() -> None:
    """Request quotas (ThrottlingException) per account: AWS's defaults, or set ones."""


@quotas.command("list")
@click.option("--account-id", help="Whose rates (default: the caller's account).")
@connection_options
def list_(
    account_id: str | None,
    endpoint_url: str | None,
    region: str | None,
    profile: str | None,
    ca_bundle: str | None,
) -> None:
    """Every quota, its default in the Region and the account's rate, as JSON."""
    payload = {"AccountId": account_id} if account_id else {}
    result = admin_call(
        endpoint_url, region, profile, ca_bundle, TARGET_PREFIX + "ListQuotas", payload
    )
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")


@quotas.command("set")
@click.option("--account-id", required=True, help="The account (12 digits).")
@click.option("--quota", "quota", required=True, help="A name `cofre quotas list` shows.")
@click.option("--rate", required=True,
              help="Requests a second (may be below 1), or 'default' for AWS's.")  # fmt: skip
@connection_options
def set_(
    account_id: str,
    quota: str,
    rate: str,
    endpoint_url: str | None,
    region: str | None,
    profile: str | None,
    ca_bundle: str | None,
) -> None:
    """Set one quota of one account, in every Region and on every node."""
    payload = {"AccountId": account_id, "Quota": quota, "Rate": rate}
    result = admin_call(
        endpoint_url, region, profile, ca_bundle, TARGET_PREFIX + "SetQuota", payload
    )
    json.dump(result, sys.stdout, indent=2)
    sys.stdout.write("\n")
