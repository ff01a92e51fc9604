"""``cofre operator``: the root of trust (ADR 19).

Against a store (``--data-dir`` / ``--database``): ``init`` (a new store under a seal),
``rekey`` (new Shamir unseal keys from a quorum of the old), ``migrate-seal`` (from the
file seal to another). Against a running node (``--endpoint-url``): ``status`` and
``unseal`` (no credentials: an unseal key is its own proof), ``seal`` and
``rotate-root`` (the bootstrap admin, signed with SigV4). Unseal keys are read from
standard input, never from the command line; output is JSON on stdout.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path
from typing import Any

import click

from cofre.cli.signed import answer, call, connection_options

_DATA_DIR = click.option(
    "--data-dir",
    default="./data",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The store's data directory (SQLite database, audit journal).",
)
_DATABASE = click.option(
    "--database", default=None, help="postgresql://... (default: SQLite in the data dir)."
)
_SEAL_TYPES = click.Choice(["file", "shamir", "pkcs11", "kms"])


def _seal_options(command: Any) -> Any:
    for option in reversed((
        click.option("--key-shares", default=5, show_default=True, type=click.IntRange(1, 255),
                     help="shamir: how many unseal keys to issue."),
        click.option("--key-threshold", default=3, show_default=True,
                     type=click.IntRange(1, 255), help="shamir: how many of them unseal."),
        click.option("--pkcs11-library", envvar="COFRE_PKCS11_LIBRARY",
                     help="pkcs11: the PKCS#11 module (a .so path)."),
        click.option("--pkcs11-token-label", envvar="COFRE_PKCS11_TOKEN_LABEL",
                     help="pkcs11: the label of the HSM token."),
        click.option("--pkcs11-pin-file", envvar="COFRE_PKCS11_PIN_FILE",
                     type=click.Path(dir_okay=False, path_type=Path),
                     help="pkcs11: a file holding the token's user PIN."),
        click.option("--pkcs11-key-label", envvar="COFRE_PKCS11_KEY_LABEL",
                     default="cofre-root-key", show_default=True,
                     help="pkcs11: the label of the AES key in the token (made if absent)."),
        click.option("--seal-kms-key-id", help="kms: the key (ARN) that encrypts the root key."),
        click.option("--seal-kms-endpoint-url", help="kms: that KMS's endpoint (default: AWS)."),
        click.option("--seal-kms-region", default="", help="kms: its Region (default: the ARN's)."),
    )):  # fmt: skip
        command = option(command)
    return command


def _settings(data_dir: Path, database: str | None, **extra: Any) -> Any:
    from cofre.config import Settings

    return Settings.with_environment(data_dir=data_dir.resolve(), database=database, **extra)


def _choice(seal: str, options: dict[str, Any]) -> Any:
    from cofre.service.seal.setup import SealChoice

    return SealChoice(
        seal, options["key_shares"], options["key_threshold"],
        options["pkcs11_token_label"] or "", options["pkcs11_key_label"],
        options["seal_kms_key_id"] or "", options["seal_kms_endpoint_url"] or "",
        options["seal_kms_region"] or "",
    )  # fmt: skip


def _open_store(settings: Any) -> Any:
    from cofre.service.clock import SystemClock
    from cofre.stores import open_storage, prepare_data_dir

    prepare_data_dir(settings.data_dir)
    return open_storage(settings.database_url, SystemClock())


def _fail(message: str) -> None:
    click.echo(f"cofre: {message}", err=True)
    sys.exit(2)


@click.group()
def operator() -> None:
    """The root of trust: initialise, unseal, seal, rotate, rekey, migrate."""


@operator.command()
@_DATA_DIR
@_DATABASE
@click.option("--seal", type=_SEAL_TYPES, default="shamir", show_default=True,
              help="What protects the root key.")  # fmt: skip
@_seal_options
def init(data_dir: Path, database: str | None, seal: str, **options: Any) -> None:
    """Initialise an empty store under a seal; print the unseal keys once (shamir).

    The admin credentials come from COFRE_ADMIN_ACCESS_KEY_ID / _SECRET_ACCESS_KEY, or are
    generated into admin-credentials.json (mode 0600) in the data directory."""
    from cofre.errors import CofreError
    from cofre.service.seal.keyring import Keyring

    os.umask(0o077)
    settings = _settings(data_dir, database, pkcs11_library=options["pkcs11_library"],
                         pkcs11_pin_file=options["pkcs11_pin_file"])  # fmt: skip
    try:
        from cofre.container import seal_access
        from cofre.service.seal.setup import initialise

        storage = _open_store(settings)
        try:
            set_up = initialise(storage, _choice(seal, options), seal_access(settings), os.urandom)
            keyring = Keyring()
            keyring.load(set_up.keyring_key)
            boot = _bootstrap(settings, storage, keyring)
        finally:
            storage.close()
    except CofreError as error:
        _fail(f"cannot initialise: {error.message}")
    out: dict[str, Any] = {"seal": seal, "account_id": boot.account_id,
                           "admin_access_key_id": boot.access_key_id}  # fmt: skip
    if set_up.unseal_keys:
        out |= {"unseal_keys": set_up.unseal_keys, "threshold": options["key_threshold"]}
    click.echo(json.dumps(out, indent=2))


def _bootstrap(settings: Any, storage: Any, keyring: Any) -> Any:
    from cofre.service.authz.authorizer import PolicyAuthorizer
    from cofre.service.authz.policy_store import PolicyStore
    from cofre.service.clock import SystemClock
    from cofre.service.iam.accounts import AccountService, bootstrap_admin

    clock = SystemClock()
    authorizer = PolicyAuthorizer(PolicyStore(storage), clock, lambda _t: None, lambda _k: [])
    accounts = AccountService(storage, keyring, clock, os.urandom, authorizer)
    return bootstrap_admin(
        accounts, storage, settings.data_dir, settings.account_id,
        settings.admin_access_key_id, settings.admin_secret_access_key,
    )  # fmt: skip


def _endpoint(endpoint_url: str | None) -> str:
    endpoint = endpoint_url or os.environ.get("AWS_ENDPOINT_URL", "")
    if not endpoint:
        raise click.UsageError("Give --endpoint-url or set AWS_ENDPOINT_URL.")
    return endpoint.rstrip("/")


def _plain(endpoint: str, path: str, body: bytes | None, ca_bundle: str | None) -> Any:
    """An unsigned call to a node's operator endpoint; the decoded JSON answer."""
    request = urllib.request.Request(  # noqa: S310 - the operator's own server
        endpoint + path, data=body, method="POST" if body is not None else "GET",
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    return answer(request, endpoint, ca_bundle)


@operator.command()
@click.option("--endpoint-url", help="The node (default: $AWS_ENDPOINT_URL).")
@click.option("--ca-bundle", help="CA bundle for https endpoints ($AWS_CA_BUNDLE).")
def unseal(endpoint_url: str | None, ca_bundle: str | None) -> None:
    """Give the node one unseal key, read from standard input."""
    share = sys.stdin.readline().strip()
    if not share:
        raise click.UsageError("Write one unseal key on standard input.")
    body = json.dumps({"key": share}).encode()
    answer = _plain(_endpoint(endpoint_url), "/cofre/operator/unseal", body, ca_bundle)
    click.echo(json.dumps({k: answer.get(k) for k in ("sealed", "progress", "threshold")}))


@operator.command()
@click.option("--endpoint-url", help="The node (default: $AWS_ENDPOINT_URL).")
@click.option("--ca-bundle", help="CA bundle for https endpoints ($AWS_CA_BUNDLE).")
def status(endpoint_url: str | None, ca_bundle: str | None) -> None:
    """The node's seal: type, sealed, threshold, shares, progress."""
    answer = _plain(_endpoint(endpoint_url), "/cofre/operator/status", None, ca_bundle)
    click.echo(json.dumps(answer))


@operator.command()
@connection_options
def seal(endpoint_url: str | None, region: str | None, profile: str | None,
         ca_bundle: str | None) -> None:  # fmt: skip
    """Seal the node now: it drops every key it holds (the bootstrap admin)."""
    answer = call(endpoint_url, region, profile, ca_bundle, signing_name="cofre",
                  target="CofreAdmin.Seal", payload={})  # fmt: skip
    click.echo(json.dumps(answer))


@operator.command("rotate-root")
@connection_options
def rotate_root(endpoint_url: str | None, region: str | None, profile: str | None,
                ca_bundle: str | None) -> None:  # fmt: skip
    """New root key material in the seal; only the keyring is rewrapped (online)."""
    answer = call(endpoint_url, region, profile, ca_bundle, signing_name="cofre",
                  target="CofreAdmin.RotateRoot", payload={})  # fmt: skip
    click.echo(json.dumps(answer))


@operator.command()
@_DATA_DIR
@_DATABASE
@click.option("--key-shares", required=True, type=click.IntRange(1, 255),
              help="How many new unseal keys to issue.")  # fmt: skip
@click.option("--key-threshold", required=True, type=click.IntRange(1, 255),
              help="How many of them unseal.")  # fmt: skip
def rekey(data_dir: Path, database: str | None, key_shares: int, key_threshold: int) -> None:
    """New unseal keys (shamir), from a quorum of the current ones on standard input (one
    per line); the old keys open nothing afterwards."""
    from cofre.errors import CofreError
    from cofre.service.seal.setup import rekey as make_new

    old = [line.strip() for line in sys.stdin if line.strip()]
    settings = _settings(data_dir, database)
    try:
        storage = _open_store(settings)
        try:
            set_up = make_new(storage, old, key_shares, key_threshold, os.urandom)
        finally:
            storage.close()
    except CofreError as error:
        _fail(f"cannot rekey: {error.message}")
    click.echo(json.dumps({"unseal_keys": set_up.unseal_keys, "threshold": key_threshold},
                          indent=2))  # fmt: skip


@operator.command("migrate-seal")
@_DATA_DIR
@_DATABASE
@click.option("--to", "target", required=True, type=click.Choice(["shamir", "pkcs11", "kms"]),
              help="The seal to move the store to.")  # fmt: skip
@_seal_options
def migrate_seal(data_dir: Path, database: str | None, target: str, **options: Any) -> None:
    """Move a store from the file seal to another (offline; nothing else changes); print
    the unseal keys once (shamir). root.key is removed."""
    from cofre.container import seal_access
    from cofre.errors import CofreError
    from cofre.service.seal.setup import migrate_seal as move

    settings = _settings(data_dir, database, pkcs11_library=options["pkcs11_library"],
                         pkcs11_pin_file=options["pkcs11_pin_file"])  # fmt: skip
    try:
        storage = _open_store(settings)
        try:
            set_up = move(storage, _choice(target, options), seal_access(settings), os.urandom)
        finally:
            storage.close()
    except CofreError as error:
        _fail(f"cannot migrate the seal: {error.message}")
    out: dict[str, Any] = {"seal": target}
    if set_up.unseal_keys:
        out |= {"unseal_keys": set_up.unseal_keys, "threshold": options["key_threshold"]}
    click.echo(json.dumps(out, indent=2))
