"""Signed JSON calls to Cofre's own operations (``CofreAdmin.``, ``CofreParams.``), which no
botocore model describes: the body is JSON, the request is signed with botocore's SigV4
signer, and credentials, region and endpoint come from the usual AWS sources (environment
variables, ``--profile``, shared files) or the options.
"""

from __future__ import annotations

import json
import os
import ssl
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any

import click
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.session import Session


def call(
    endpoint_url: str | None,
    region: str | None,
    profile: str | None,
    ca_bundle: str | None,
    *,
    signing_name: str,
    target: str,
    payload: dict[str, str],
    endpoint_env: Sequence[str] = ("AWS_ENDPOINT_URL",),
) -> Any:
    """POST ``payload`` with ``X-Amz-Target: target``; the decoded JSON answer.

    An error answer becomes a ClickException with its ``__type`` and message."""
    endpoint = endpoint_url or next((os.environ[e] for e in endpoint_env if os.environ.get(e)), "")
    if not endpoint:
        raise click.UsageError(f"Give --endpoint-url or set {' or '.join(endpoint_env)}.")
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
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target},
    )
    SigV4Auth(credentials.get_frozen_credentials(), signing_name, region).add_auth(request)
    prepared = urllib.request.Request(  # noqa: S310 - the endpoint is the user's own server
        request.url, data=body, headers=dict(request.headers.items()), method="POST"
    )
    return answer(prepared, endpoint, ca_bundle)


def admin_call(
    endpoint_url: str | None,
    region: str | None,
    profile: str | None,
    ca_bundle: str | None,
    target: str,
    payload: dict[str, str],
) -> Any:
    """A call of Cofre's own admin APIs (``CofreAdmin.*``, ``CofreXks.*``): signed for the
    service name ``cofre``, sent to ``--endpoint-url`` or ``$AWS_ENDPOINT_URL``."""
    return call(
        endpoint_url, region, profile, ca_bundle, signing_name="cofre", target=target,
        payload=payload,
    )  # fmt: skip


def answer(request: urllib.request.Request, endpoint: str, ca_bundle: str | None) -> Any:
    """Send ``request`` to the user's own server; its decoded JSON answer. An error answer
    becomes a ClickException with its ``__type`` and message; no answer, one that says so."""
    context = None
    bundle = ca_bundle or os.environ.get("AWS_CA_BUNDLE")
    if endpoint.startswith("https://"):
        context = ssl.create_default_context(cafile=bundle)
    try:
        with urllib.request.urlopen(request, timeout=60, context=context) as response:  # noqa: S310
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
    except TimeoutError as exc:
        raise click.ClickException(f"{endpoint} did not answer within 60 s") from exc
    except OSError as exc:
        raise click.ClickException(f"Lost the connection to {endpoint}: {exc}") from exc


def connection_options(command: Any) -> Any:
    """--endpoint-url, --region, --profile, --ca-bundle."""
    for option in (
        click.option("--endpoint-url", help="The Cofre server (default: $AWS_ENDPOINT_URL)."),
        click.option("--region", help="Region to sign for (default: AWS configuration)."),
        click.option("--profile", help="AWS profile whose credentials sign the request."),
        click.option("--ca-bundle", help="CA bundle for https endpoints ($AWS_CA_BUNDLE)."),
    ):
        command = option(command)
    return command
