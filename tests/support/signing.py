"""AWS JSON 1.1 requests signed with SigV4 by botocore, for tests that send them by hand."""

from __future__ import annotations

import json
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.support.server import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, CofreServer


def signed_json(
    server: CofreServer,
    target: str,
    payload: dict[str, Any],
    *,
    key: tuple[str, str] = (ACCESS_KEY_ID, SECRET_ACCESS_KEY),
    service: str,
    region: str = REGION,
) -> tuple[bytes, dict[str, str]]:
    """The body and the signed headers of a POST of ``payload`` to ``target``."""
    body = json.dumps(payload).encode()
    request = AWSRequest(
        method="POST",
        url=server.url + "/",
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target},
    )
    SigV4Auth(Credentials(*key), service, region).add_auth(request)
    return body, dict(request.headers.items())
