"""Parameter Store in the console: the tree, create and edit, history and labels,
compare, reveal of a SecureString (an audited decrypt), delete, denials."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from tests.support.console import ConsoleUser
from tests.support.iam import allow, make_user, unique
from tests.support.server import CofreServer


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CofreServer]:
    server = CofreServer(tmp_path_factory.mktemp("cofre-console-params") / "data").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def user(console_server: CofreServer) -> Iterator[ConsoleUser]:
    with ConsoleUser(console_server) as console:
        assert console.sign_in().status_code == 303
        yield console


def _put(user: ConsoleUser, name: str, value: str, kind: str = "String", **more: str) -> None:
    form = {"name": name, "value": value, "type": kind, "tier": "Standard", **more}
    response = user.post("/console/parameters", form)
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith("/console/parameter?name=")


def test_tree_create_edit_history_and_compare(user: ConsoleUser) -> None:
    root = "/" + unique("app")
    _put(user, f"{root}/db/host", "db.internal")
    _put(user, f"{root}/db/port", "5432")
    _put(user, f"{root}/name", "shop")
    top = user.page("/console/parameters", path="/")
    assert f"{root.strip('/')}/" in top.text
    level = user.page("/console/parameters", path=root)
    assert "db/" in level.text and f"{root}/name" in level.text
    assert f"{root}/db/host" not in level.text  # one level at a time
    inner = user.page("/console/parameters", path=f"{root}/db/")
    assert f"{root}/db/host" in inner.text and f"{root}/db/port" in inner.text
    _put(user, f"{root}/db/host", "db2.internal", overwrite="on")
    ssm = user.server.client("ssm")
    assert ssm.get_parameter(Name=f"{root}/db/host")["Parameter"]["Version"] == 2
    page = user.page("/console/parameter", name=f"{root}/db/host", compare="1,2")
    assert "db.internal" in page.text and "db2.internal" in page.text
    labelled = user.post("/console/parameter/label",
                         {"name": f"{root}/db/host", "version": "1", "labels": "blue"})  # fmt: skip
    assert labelled.status_code == 303
    history = ssm.get_parameter_history(Name=f"{root}/db/host")["Parameters"]
    assert history[0]["Labels"] == ["blue"]
    filtered = user.page("/console/parameters", path="/", filter="db/po")
    assert f"{root}/db/port" in filtered.text and f"{root}/name" not in filtered.text


def test_reveal_a_secure_string_is_an_audited_decrypt(user: ConsoleUser) -> None:
    name = "/" + unique("secret") + "/password"
    _put(user, name, "hunter2-console", "SecureString")
    page = user.page("/console/parameter", name=name)
    assert "hunter2-console" not in page.text and "Hidden" in page.text
    revealed = user.post("/console/parameter/reveal", {"name": name})
    assert revealed.status_code == 200
    assert "hunter2-console" in revealed.text
    assert revealed.headers["cache-control"] == "no-store"
    trail = user.server.client("cloudtrail")
    deadline = time.monotonic() + 20
    found: list[str] = []
    while not found and time.monotonic() < deadline:
        events = trail.lookup_events(
            LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "GetParameter"}]
        )["Events"]
        found = [e["CloudTrailEvent"] for e in events if name in e["CloudTrailEvent"]]
        time.sleep(0.2)
    assert found and any('"withDecryption":true' in r.replace(" ", "") for r in found)
    assert all("hunter2-console" not in r for r in found)


def test_delete(user: ConsoleUser) -> None:
    name = "/" + unique("gone") + "/x"
    _put(user, name, "bye")
    response = user.post("/console/parameter/delete", {"name": name})
    assert response.status_code == 303
    missing = user.page("/console/parameter", name=name)
    assert missing.status_code == 400 and "ParameterNotFound" in missing.text


def test_a_refused_create_shows_the_error_in_place(user: ConsoleUser) -> None:
    form = {"name": "/bad name with spaces", "value": "v", "type": "String", "tier": "Standard"}
    response = user.post("/console/parameters", form)
    assert response.status_code == 400
    assert 'role="alert"' in response.text and "ValidationException" in response.text


def test_reveal_denied_without_kms_decrypt(console_server: CofreServer) -> None:
    key_id = console_server.client("kms").create_key()["KeyMetadata"]["KeyId"]
    name = "/" + unique("locked") + "/token"
    console_server.client("ssm").put_parameter(
        Name=name, Value="not-for-you", Type="SecureString", KeyId=key_id
    )
    reader = make_user(console_server, allow(["ssm:GetParameter*", "ssm:DescribeParameters"]))
    with ConsoleUser(console_server) as console:
        console.sign_in(reader.access_key_id, reader.secret_access_key)
        assert console.page("/console/parameter", name=name).status_code == 200
        denied = console.post("/console/parameter/reveal", {"name": name})
        assert denied.status_code == 400
        assert "AccessDenied" in denied.text and "not-for-you" not in denied.text
        assert 'role="alert"' in denied.text
