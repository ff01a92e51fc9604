"""``cofre xks stores``: the XKS key stores of an account, through a server's admin API
(``CofreXks.<Op>``, signed with SigV4 for the service name ``cofre``; ADR 22).

Credentials, region and endpoint come from the usual AWS sources (environment variables,
``--profile``, shared files) or options. Output is JSON on stdout. ``create`` and
``rotate-credentials`` print the store's SigV4 credential for AWS KMS: the secret is
shown only then.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from cofre.cli.signed import admin_call, connection_options

TARGET_PREFIX = "CofreXks."


def _call(
    options: tuple[str | None, str | None, str | None, str | None],
    operation: str,
    payload: dict[str, str],
) -> Any:
    return admin_call(*options, TARGET_PREFIX + operation, payload)


def _issued(result: dict[str, Any]) -> dict[str, Any]:
    out = {
        "store_id": result["StoreId"],
        "name": result["Name"],
        "uri_path_prefix": result["UriPathPrefix"],
        "uri_path": result["UriPath"],
        "access_key_id": result["AccessKeyId"],
        "secret_access_key": result["SecretAccessKey"],
    }
    if "PreviousAccessKeyId" in result:
        out["previous_access_key_id"] = result["PreviousAccessKeyId"]
    return out


def _print(document: Any) -> None:
    json.dump(document, sys.stdout, indent=2)
    sys.stdout.write("\n")


@click.group()
def xks() -> None:
    """Cofre as an AWS KMS external key store proxy (XKS)."""


@xks.group()
def stores() -> None:
    """Create, list, rotate and delete XKS key stores; choose the keys each may use."""


@stores.command("create")
@click.option("--name", required=True, help="A name, unique in the account and Region.")
@connection_options
def create(
    name: str,
    endpoint_url: str | None,
    region: str | None,
    profile: str | None,
    ca_bundle: str | None,
) -> None:
    """Create a key store; print its path prefix and SigV4 credential as JSON."""
    options = (endpoint_url, region, profile, ca_bundle)
    _print(_issued(_call(options, "CreateXksStore", {"Name": name})))


@stores.command("list")
@connection_options
def list_(
    endpoint_url: str | None, region: str | None, profile: str | None, ca_bundle: str | None
) -> None:
    """List the account's key stores (no secrets) and the keys each may use."""
    result = _call((endpoint_url, region, profile, ca_bundle), "ListXksStores", {})
    _print(
        [
            {
                "store_id": s["StoreId"],
                "name": s["Name"],
                "uri_path_prefix": s["UriPathPrefix"],
                "uri_path": s["UriPath"],
                "access_key_id": s["AccessKeyId"],
                **(
                    {"previous_access_key_id": s["PreviousAccessKeyId"]}
                    if "PreviousAccessKeyId" in s
                    else {}
                ),
                "key_ids": s["KeyIds"],
            }
            for s in result["Stores"]
        ]
    )


@stores.command("rotate-credentials")
@click.argument("store_id")
@connection_options
def rotate_credentials(
    store_id: str,
    endpoint_url: str | None,
    region: str | None,
    profile: str | None,
    ca_bundle: str | None,
) -> None:
    """A new credential; the previous one stays valid until the next rotation."""
    options = (endpoint_url, region, profile, ca_bundle)
    _print(_issued(_call(options, "RotateXksStoreCredentials", {"StoreId": store_id})))


@stores.command("delete")
@click.argument("store_id")
@connection_options
def delete(
    store_id: str,
    endpoint_url: str | None,
    region: str | None,
    profile: str | None,
    ca_bundle: str | None,
) -> None:
    """Delete a key store: its path and credential stop working (its keys stay)."""
    _call((endpoint_url, region, profile, ca_bundle), "DeleteXksStore", {"StoreId": store_id})
    _print({"store_id": store_id, "deleted": True})


@stores.command("add-key")
@click.argument("store_id")
@click.argument("key_id")
@connection_options
def add_key(
    store_id: str,
    key_id: str,
    endpoint_url: str | None,
    region: str | None,
    profile: str | None,
    ca_bundle: str | None,
) -> None:
    """Let the store use a symmetric key of the account (key id, ARN or alias)."""
    options = (endpoint_url, region, profile, ca_bundle)
    result = _call(options, "AddXksStoreKey", {"StoreId": store_id, "KeyId": key_id})
    _print({"store_id": result["StoreId"], "key_id": result["KeyId"]})


@stores.command("remove-key")
@click.argument("store_id")
@click.argument("key_id")
@connection_options
def remove_key(
    store_id: str,
    key_id: str,
    endpoint_url: str | None,
    region: str | None,
    profile: str | None,
    ca_bundle: str | None,
) -> None:
    """Stop the store using a key."""
    options = (endpoint_url, region, profile, ca_bundle)
    result = _call(options, "RemoveXksStoreKey", {"StoreId": store_id, "KeyId": key_id})
    _print({"store_id": result["StoreId"], "key_id": result["KeyId"]})
