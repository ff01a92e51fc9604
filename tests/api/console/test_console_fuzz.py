"""No console request is answered with a fault: every route, with missing, malformed,
huge and hostile fields, signed in or not, answers below 500 with no traceback, and
nothing it echoes is unescaped."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.console import ConsoleUser
from tests.support.server import CofreServer

GETS = [
    "/console", "/console/", "/console/keys", "/console/keys/nope",
    "/console/keys/" + "a" * 200, "/console/parameters", "/console/parameter",
    "/console/audit", "/console/iam", "/console/iam/users/nobody", "/console/iam/policy",
    "/console/iam/roles/nobody",
    "/console/static/x", "/console/%ff%fe", "/console/keys/../../etc/passwd",
]  # fmt: skip
POSTS = [
    "/console/keys", "/console/keys/nope/enable", "/console/keys/nope/policy",
    "/console/keys/nope/schedule-deletion", "/console/keys/nope/bogus", "/console/parameters",
    "/console/parameter/reveal", "/console/parameter/delete", "/console/parameter/label",
    "/console/audit/verify", "/console/iam/users", "/console/iam/users/nobody/create-key",
    "/console/iam/users/nobody/put-policy", "/console/iam/policies", "/console/iam/policy",
    "/console/iam/roles", "/console/iam/roles/nobody/trust", "/console/iam/roles/nobody/attach",
    "/console/nowhere", "/console/signout",
]  # fmt: skip
HOSTILE = "<script>alert(1)</script>\"'&"
FORMS = [
    {},
    {"name": "", "value": "", "type": "Bogus", "tier": "x", "kind": "A|B", "days": "99999"},
    {"name": HOSTILE, "alias": HOSTILE, "policy": HOSTILE, "document": HOSTILE,
     "policy_name": HOSTILE, "user_name": HOSTILE, "role_name": HOSTILE, "trust": HOSTILE,
     "arn": HOSTILE, "version": "-1",
     "labels": HOSTILE, "period": "1" * 40, "tag_key": HOSTILE, "grant_id": HOSTILE},
    {"name": "/x" * 2000, "value": "v" * 100_000, "policy": "{" * 50_000},
]  # fmt: skip
QUERIES = [
    {}, {"q": HOSTILE, "state": HOSTILE, "spec": HOSTILE, "marker": HOSTILE},
    {"name": HOSTILE, "compare": "1,2,x"}, {"path": "//..//", "filter": HOSTILE},
    {"attr": "EventName", "value": HOSTILE, "start": "not-a-time", "token": HOSTILE},
    {"attr": "Bogus", "start": "2026-13-45T99:99", "end": "9999-12-31T23:59"},
    {"arn": HOSTILE},
]  # fmt: skip


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CofreServer]:
    server = CofreServer(tmp_path_factory.mktemp("cofre-console-fuzz") / "data").start()
    try:
        yield server
    finally:
        server.stop()


def _sane(response: object, where: str) -> None:
    status = response.status_code  # type: ignore[attr-defined]
    text = response.text  # type: ignore[attr-defined]
    assert status < 500, (where, status, text[:500])
    assert "Traceback" not in text
    assert "<script>alert(1)</script>" not in text, where


@pytest.mark.parametrize("signed_in", [True, False], ids=["signed-in", "anonymous"])
def test_no_route_faults(console_server: CofreServer, signed_in: bool) -> None:
    with ConsoleUser(console_server) as user:
        if signed_in:
            user.sign_in()
        for path in GETS:
            for query in QUERIES:
                _sane(user.http.get(path, params=query), f"GET {path} {query}")
        for path in POSTS:
            for form in FORMS:
                _sane(user.post(path, form), f"POST {path}")
        many = {f"f{i}": "x" for i in range(500)}
        _sane(user.post("/console/keys", many), "many fields")
        _sane(user.http.put("/console/keys"), "PUT")
        _sane(user.http.post("/console/signin", content=b"\xff\xfe=\x00"), "binary sign-in")
    kms = console_server.client("kms")
    assert kms.list_aliases()["Aliases"] is not None  # the server still answers
    log = console_server.log.read_text()
    assert "Traceback" not in log and "console page" not in log
