"""``cofre serve``: initialise the data directory if it is empty, then serve HTTP.

Imported only when ``serve`` runs: the server stack is the heaviest import of the CLI.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from cofre.api.http.logs import configure_logging
from cofre.api.http.server import (
    check_port_free,
    run_supervisor,
    run_worker,
    scrub_environment,
    split_listen,
)
from cofre.config import Settings
from cofre.container import Services
from cofre.core.ids import is_region
from cofre.errors import CofreError
from cofre.service.iam.accounts import bootstrap_admin
from cofre.stores import prepare_data_dir


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=4566, show_default=True, type=click.IntRange(1, 65535),
              help="TCP port to listen on.")  # fmt: skip
@click.option(
    "--data-dir",
    default="./data",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Root key, SQLite database and generated credentials live here.",
)
@click.option("--database", default=None, help="postgresql://... (default: SQLite in data dir).")
@click.option("--regions", default="", help="Comma-separated regions served (default: any).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Processes sharing the port (SO_REUSEPORT); about one a CPU.")  # fmt: skip
@click.option("--tls-cert", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="PEM certificate chain: serve HTTPS (needs --tls-key).")  # fmt: skip
@click.option("--tls-key", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="PEM private key of --tls-cert.")  # fmt: skip
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["debug", "info", "warning", "error"], case_sensitive=False),
              help="Least severe log record written to standard error.")  # fmt: skip
@click.option("--dev", is_flag=True,
              help="Development mode: test hooks (COFRE_CLOCK_OFFSET_FILE) are honoured, and"
              " only stores on the file seal are served.")  # fmt: skip
@click.option(
    "--pkcs11-library",
    envvar="COFRE_PKCS11_LIBRARY",
    help="The pkcs11 seal's PKCS#11 module (default: the one recorded at init).",
)
@click.option("--pkcs11-pin-file", envvar="COFRE_PKCS11_PIN_FILE",
              type=click.Path(dir_okay=False, path_type=Path),
              help="The pkcs11 seal: a file holding the token's user PIN.")  # fmt: skip
@click.option(
    "--seal-kms-endpoint-url",
    envvar="COFRE_SEAL_KMS_ENDPOINT_URL",
    help="The kms seal's endpoint (default: the one recorded at init).",
)
@click.option("--metrics", type=click.Choice(["on", "off"]), default="on", show_default=True,
              help="GET /metrics and the request counts behind it.")  # fmt: skip
@click.option("--metrics-listen", metavar="HOST:PORT",
              help="Serve GET /metrics on this address only (default: the API port).")  # fmt: skip
@click.option("--quotas", type=click.Choice(["on", "off"]), default=None,
              help="AWS's request quotas (ThrottlingException); default on, or"
              " COFRE_QUOTAS.")  # fmt: skip
@click.option("--log-format", default="text", show_default=True,
              type=click.Choice(["text", "json"]),
              help="json: one object per line, with an access line per call.")  # fmt: skip
@click.option("--no-console", "no_console", is_flag=True,
              help="Do not serve the web console at /console/ (ADR 15).")  # fmt: skip
@click.option("--xks-listen", metavar="HOST:PORT",
              help="Serve the XKS proxy API (docs/xks.md), and only it, on this address"
              " too.")  # fmt: skip
def serve(
    host: str,
    port: int,
    data_dir: Path,
    database: str | None,
    regions: str,
    workers: int,
    tls_cert: Path | None,
    tls_key: Path | None,
    log_level: str,
    dev: bool,
    pkcs11_library: str | None,
    pkcs11_pin_file: Path | None,
    seal_kms_endpoint_url: str | None,
    metrics: str,
    metrics_listen: str | None,
    quotas: str | None,
    log_format: str,
    no_console: bool,
    xks_listen: str | None,
) -> None:
    """Initialise the data directory if it is empty, then serve HTTP."""
    os.umask(0o077)  # every file this process makes is its own (the database, journals)
    configure_logging(log_level, log_format)
    say = _Say(log_format == "json")
    region_list = tuple(r.strip() for r in regions.split(",") if r.strip())
    for region in region_list:
        if not is_region(region):
            raise click.BadParameter(f"{region!r} is not a region name", param_hint="--regions")
    if (tls_cert is None) != (tls_key is None):
        raise click.BadParameter("give both --tls-cert and --tls-key", param_hint="--tls-cert")
    settings = Settings.with_environment(
        data_dir=data_dir.resolve(),
        database=database,
        host=host,
        port=port,
        workers=workers,
        regions=region_list,
        tls_cert=tls_cert,
        tls_key=tls_key,
        dev=dev,
        pkcs11_library=pkcs11_library,
        pkcs11_pin_file=pkcs11_pin_file,
        seal_kms_endpoint_url=seal_kms_endpoint_url,
        metrics=metrics == "on",
        metrics_listen=_address(metrics_listen),
        quotas=None if quotas is None else quotas == "on",
        log_format=log_format,
        console=not no_console,
        xks_listen=_address(xks_listen, "--xks-listen"),
    )
    scrub_environment("COFRE_ROOT_KEY")  # read; no child process needs it
    listeners = [(host, port)]
    if settings.metrics_address is not None:
        listeners.append(settings.metrics_address)
    if xks_listen:
        listeners.append(split_listen(xks_listen))
    for address in listeners:
        try:
            check_port_free(*address)
        except OSError as error:
            say(f"cofre: cannot listen on {address[0]}:{address[1]}: {error.strerror}", err=True)
            sys.exit(1)
    try:
        prepare_data_dir(settings.data_dir)
        services = Services.build(settings)
        try:
            status = services.keeper.status()
            boot = None
            if not status.sealed:
                boot = bootstrap_admin(
                    services.accounts,
                    services.storage,
                    settings.data_dir,
                    settings.account_id,
                    settings.admin_access_key_id,
                    settings.admin_secret_access_key,
                )
        except BaseException:
            services.close()
            raise
    except CofreError as error:
        say(f"cofre: cannot start: {error.message}", err=True)
        sys.exit(1)
    if status.seal_type == "file":
        say(
            "cofre: WARNING: the file seal keeps the root key in the data directory (or"
            " COFRE_ROOT_KEY): whoever reads it reads every key. For development and tests"
            " only; see `cofre operator init --seal` and `cofre operator migrate-seal`.",
            err=True,
        )
    if boot is not None:
        say(f"cofre: account {boot.account_id}, admin access key {boot.access_key_id}")
        if boot.credentials_file is not None:
            say(f"cofre: admin credentials are in {boot.credentials_file}")
    else:
        why = f": {status.error}" if status.error else ""
        say(f"cofre: sealed ({status.seal_type} seal){why}; unseal with"
                   " `cofre operator unseal`")  # fmt: skip
    scheme = "https" if tls_cert else "http"
    say(f"cofre: serving on {scheme}://{host}:{port} ({settings.database_url.split(':')[0]})")
    os.environ["COFRE_LOG_LEVEL"] = log_level
    if workers == 1:
        run_worker(settings, services)  # this process keeps the seal and serves
    else:
        run_supervisor(settings, services)  # it keeps the seal and appends the journals


def _address(text: str | None, option: str = "--metrics-listen") -> str | None:
    """``--metrics-listen``, ``--xks-listen``: HOST:PORT, checked."""
    if text is None:
        return None
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise click.BadParameter(f"{text!r} is not HOST:PORT", param_hint=option)
    return text


class _Say:
    """What ``serve`` tells its operator: plain lines, or JSON log lines with
    ``--log-format json`` (so that every line of the output parses)."""

    def __init__(self, as_json: bool) -> None:
        self._log = logging.getLogger("cofre.serve") if as_json else None

    def __call__(self, text: str, err: bool = False) -> None:
        if self._log is None:
            click.echo(text, err=err)
        else:
            self._log.log(logging.WARNING if err else logging.INFO, text.removeprefix("cofre: "))
