"""``cofre params``: Parameter Store from the command line, as a client of a running server.

Credentials, region and endpoint come from the usual AWS sources: the environment
(``AWS_ACCESS_KEY_ID``..., ``AWS_ENDPOINT_URL_SSM`` or ``AWS_ENDPOINT_URL``), a profile,
the shared files, or the options. Requests are made by botocore's ``ssm`` client.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from cofre.cli.params.render import RenderError, Resolver, write_private
from cofre.cli.params.webhooks import webhooks
from cofre.core.params.template import TemplateSyntaxError, parse_template, substitute


def ssm_client(
    endpoint_url: str | None, region: str | None, profile: str | None, ca_bundle: str | None
) -> Any:
    """A botocore ``ssm`` client; without ``endpoint_url`` botocore reads the environment
    (``AWS_ENDPOINT_URL_SSM``, ``AWS_ENDPOINT_URL``) and the configuration files."""
    import botocore.exceptions
    import botocore.session

    try:
        session = botocore.session.Session(profile=profile)
        region = region or session.get_config_variable("region") or "us-east-1"
        return session.create_client(
            "ssm", region_name=region, endpoint_url=endpoint_url or None, verify=ca_bundle or None
        )
    except botocore.exceptions.BotoCoreError as exc:
        raise click.ClickException(f"cannot create an SSM client: {exc}") from exc


def _read_template(template: str) -> str:
    try:
        if template == "-":
            data = sys.stdin.buffer.read()
        else:
            data = Path(template).read_bytes()
    except OSError as exc:
        raise click.ClickException(f"cannot read {template}: {exc.strerror}") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise click.ClickException(
            f"{template}: not UTF-8 text (invalid byte at line {line})"
        ) from exc


@click.group()
def params() -> None:
    """Parameter Store (SSM) tools that talk to a Cofre server."""


@params.command("render")
@click.argument("template", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Write here (atomically, mode 0600) instead of stdout.",
)
@click.option("--endpoint-url", help="The Cofre server (default: $AWS_ENDPOINT_URL_SSM, ...).")
@click.option("--region", help="Region to sign for (default: AWS configuration).")
@click.option("--profile", help="AWS profile whose credentials sign the requests.")
@click.option("--ca-bundle", help="CA bundle for https endpoints (default: $AWS_CA_BUNDLE).")
def render(
    template: str,
    output: str | None,
    endpoint_url: str | None,
    region: str | None,
    profile: str | None,
    ca_bundle: str | None,
) -> None:
    """Replace the CloudFormation dynamic references in TEMPLATE ('-' for stdin).

    {{resolve:ssm:NAME}} and {{resolve:ssm:NAME:VERSION}} take a String or StringList
    parameter's value, {{resolve:ssm-secure:NAME[:VERSION]}} a SecureString's decrypted
    value. Everything else is copied byte for byte. Nothing is written unless every
    reference resolves.
    """
    text = _read_template(template)
    try:
        refs = parse_template(text)
    except TemplateSyntaxError as exc:
        raise click.ClickException(f"{template}: {exc.message}") from exc
    if refs:
        client = ssm_client(endpoint_url, region, profile, ca_bundle)
        try:
            values = Resolver(client, refs).resolve()
        except RenderError as exc:
            raise click.ClickException(f"{template}: {exc}") from exc
        text = substitute(text, refs, values)
    data = text.encode("utf-8")
    if output is None or output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    try:
        write_private(Path(output), data)
    except OSError as exc:
        raise click.ClickException(f"cannot write {output}: {exc.strerror}") from exc


params.add_command(webhooks)
