"""The ``cofre`` command line: thin, it parses arguments and calls the service layer."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import click

from cofre.api.http.server import check_port_free, run_supervisor, run_worker
from cofre.cli.accounts import accounts
from cofre.cli.audit import audit
from cofre.cli.esdk.commands import decrypt, encrypt
from cofre.cli.params.commands import params
from cofre.config import Settings
from cofre.container import Services
from cofre.core.ids import is_region
from cofre.errors import CofreError
from cofre.service.iam.accounts import bootstrap_admin


@click.group()
@click.version_option(package_name="cofre")
def main() -> None:
    """Cofre: a self-hosted key management service with the AWS KMS API."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=4566, show_default=True, type=int)
@click.option(
    "--data-dir",
    default="./data",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Root key, SQLite database and generated credentials live here.",
)
@click.option("--database", default=None, help="postgresql://... (default: SQLite in data dir).")
@click.option("--regions", default="", help="Comma-separated regions served (default: any).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option("--tls-cert", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--tls-key", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--log-level", default="info", show_default=True)
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
) -> None:
    """Initialise the data directory if it is empty, then serve HTTP."""
    logging.basicConfig(
        level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
    )
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
    )
    try:
        check_port_free(host, port)
    except OSError as error:
        click.echo(f"cofre: cannot listen on {host}:{port}: {error.strerror}", err=True)
        sys.exit(1)
    try:
        services = Services.build(settings)
        try:
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
        click.echo(f"cofre: cannot start: {error.message}", err=True)
        sys.exit(1)
    click.echo(f"cofre: account {boot.account_id}, admin access key {boot.access_key_id}")
    if boot.credentials_file is not None:
        click.echo(f"cofre: admin credentials are in {boot.credentials_file}")
    scheme = "https" if tls_cert else "http"
    click.echo(
        f"cofre: serving on {scheme}://{host}:{port} ({settings.database_url.split(':')[0]})"
    )
    os.environ["COFRE_LOG_LEVEL"] = log_level
    if workers == 1:
        services.close()  # the worker is this process: it builds its own
        run_worker(settings)
    else:
        run_supervisor(settings, services)  # it appends its workers' audit journals


main.add_command(accounts)
main.add_command(encrypt)
main.add_command(decrypt)
main.add_command(audit)
main.add_command(params)


class _Lazy(click.Command):
    """A subcommand whose module is imported only when it runs (``cofre --version`` and
    ``cofre --help`` stay fast)."""

    def __init__(self, name: str, target: str, help_text: str) -> None:
        passed = {"ignore_unknown_options": True, "allow_extra_args": True}
        super().__init__(name, help=help_text, context_settings=passed, add_help_option=False)
        self._target = target

    def invoke(self, ctx: click.Context) -> None:
        import importlib

        module, attribute = self._target.split(":")
        command: click.Command = getattr(importlib.import_module(module), attribute)
        command.main(ctx.args, prog_name=ctx.command_path, standalone_mode=False)


main.add_command(_Lazy("backup", "cofre.cli.backup:backup", "Write or verify a backup."))
main.add_command(_Lazy("restore", "cofre.cli.backup:restore", "Rebuild a store from a backup."))
main.add_command(_Lazy("usage", "cofre.cli.usage:usage", "Usage and cost reports."))

if __name__ == "__main__":
    main()
