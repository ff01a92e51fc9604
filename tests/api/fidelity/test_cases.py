"""Each case of the table (``cases.py``) against a real server, on SQLite and PostgreSQL:
the request is signed and sent as is, and the answer compared byte for byte with AWS's --
the HTTP status, ``__type``, and the message, or its absence."""

from __future__ import annotations

import base64
from typing import Any

import httpx
import orjson
import pytest

from tests.api.fidelity.cases import ABSENT, CASES, ERRORS, Case
from tests.api.fidelity.conftest import World, build_world
from tests.support.server import CofreServer
from tests.support.signing import signed_json

_PREFIX = {"kms": "TrentService", "ssm": "AmazonSSM"}


@pytest.fixture(scope="module")
def world(fast_server: CofreServer) -> World:
    return build_world(fast_server)


def _wire(value: Any) -> Any:
    """JSON as the AWS JSON protocol carries it: blobs in base64."""
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


def send(server: CofreServer, world: World, case: Case) -> httpx.Response:
    payload = _wire(world.value(case.params))
    region = world.text(case.region) if case.region else str(world.values["region"])
    body, headers = signed_json(
        server,
        f"{_PREFIX[case.service]}.{case.operation}",
        payload,
        service=case.service,
        region=region,
    )
    return httpx.post(server.url + "/", content=body, headers=headers, timeout=30)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_case(fast_server: CofreServer, world: World, case: Case) -> None:
    response = send(fast_server, world, case)
    body = orjson.loads(response.content)
    assert (response.status_code, body.get("__type")) == (case.status, case.error), body
    given = body.get("message", body.get("Message"))
    if case.message is ABSENT:
        assert "message" not in body and "Message" not in body, body
    else:
        assert given == world.text(case.message)


def test_every_case_names_a_known_error_type() -> None:
    """The cases and the error table agree: each case's type is one Cofre can send."""
    known = {row.type_name for row in ERRORS}
    assert {case.error for case in CASES} <= known
    assert len({case.id for case in CASES}) == len(CASES)
    assert all(case.source for case in CASES)
