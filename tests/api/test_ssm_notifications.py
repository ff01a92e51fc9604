"""Parameter Store change notifications (ADR 0013) against real servers on SQLite and
PostgreSQL: every change and policy action reaches a webhook receiver on loopback as an
EventBridge event, signed, filtered by path, per account; delivery survives a receiver
that is down and a server killed mid-delivery; Expiration policies delete when due."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import BACKENDS
from tests.support.backends import backend_database
from tests.support.iam import Principal, allow, make_user
from tests.support.server import (
    ACCESS_KEY_ID,
    ACCOUNT_ID,
    CLOCK_ENV,
    REGION,
    SECRET_ACCESS_KEY,
    CofreServer,
    free_port,
)
from tests.support.ssm import arn, fails, unique_path
from tests.support.webhooks import Receiver, create_hook, hooks_call, signed_call, verify

SECRET = "test-webhook-secret-0123456789"
FAST = {
    "COFRE_JOB_INTERVAL": "0.2",
    "COFRE_WEBHOOK_POLL_INTERVAL": "0.1",
    "COFRE_WEBHOOK_RETRY_BASE": "0.2",
    "COFRE_WEBHOOK_RETRY_CAP": "0.5",
    "COFRE_WEBHOOK_TIMEOUT": "2",
    "COFRE_WEBHOOK_LEASE": "4",
}
TIME_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
COFRE = str(Path(sys.executable).with_name("cofre"))


def start(tmp: Path, database: str | None, **env: str) -> CofreServer:
    return CofreServer(
        tmp / "data", database=database, env={CLOCK_ENV: str(tmp / "clock"), **FAST, **env}
    ).start()


@pytest.fixture(scope="module", params=BACKENDS)
def notify(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CofreServer]:
    tmp = tmp_path_factory.mktemp(f"notify-{request.param}")
    with backend_database(request.param) as database:
        server = start(tmp, database)
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def ssm(notify: CofreServer) -> Any:
    return notify.client("ssm")


def hook_path() -> str:
    return f"/hook-{uuid.uuid4().hex[:8]}"


def envelope_ok(event: dict[str, Any], detail_type: str, name: str) -> None:
    assert list(event) == [
        "version", "id", "detail-type", "source", "account", "time", "region", "resources",
        "detail",
    ]  # fmt: skip
    assert event["version"] == "0" and UUID_RE.fullmatch(event["id"])
    assert event["detail-type"] == detail_type and event["source"] == "aws.ssm"
    assert event["account"] == ACCOUNT_ID and event["region"] == REGION
    assert TIME_RE.fullmatch(event["time"])
    assert event["resources"] == [arn(name)]


def test_every_change_is_an_event(notify: CofreServer, receiver: Receiver, ssm: Any) -> None:
    path, base = hook_path(), unique_path("/n")
    create_hook(notify, receiver.url(path), PathPrefix=base + "/", Secret=SECRET)
    name, secret_name = f"{base}/db", f"{base}/password"
    ssm.put_parameter(Name=name, Value="v1", Type="String", Description="the db")
    ssm.put_parameter(Name=name, Value="v2", Overwrite=True)
    ssm.label_parameter_version(Name=name, ParameterVersion=1, Labels=["blue"])
    ssm.unlabel_parameter_version(Name=name, ParameterVersion=1, Labels=["blue"])
    ssm.put_parameter(Name=secret_name, Value="hunter2-secret-value", Type="SecureString")
    ssm.delete_parameter(Name=name)
    got = receiver.wait_count(path, 6)
    time.sleep(0.5)
    assert len(receiver.delivered(path)) == 6  # once each (no failure, no retry)
    by_op = {}
    for r in got:
        assert verify(r, SECRET)
        assert r.headers["content-type"] == "application/json"
        assert r.headers["x-cofre-event-id"] == r.event["id"]
        assert r.headers["x-cofre-webhook-id"].startswith("wh-")
        assert abs(int(r.headers["x-cofre-timestamp"]) - time.time()) < 60
        assert b"hunter2" not in r.body and SECRET.encode() not in r.body
        event = r.event
        envelope_ok(event, "Parameter Store Change", event["detail"]["name"])
        by_op[(event["detail"]["operation"], event["detail"]["name"])] = event["detail"]
    assert by_op == {
        ("Create", name): {
            "operation": "Create", "name": name, "type": "String", "description": "the db"
        },
        ("Update", name): {
            "operation": "Update", "name": name, "type": "String", "description": "the db"
        },
        ("LabelParameterVersion", name): {
            "operation": "LabelParameterVersion", "name": name, "type": "String",
            "description": "the db", "labels": ["blue"],
        },
        ("UnlabelParameterVersion", name): {
            "operation": "UnlabelParameterVersion", "name": name, "type": "String",
            "description": "the db", "labels": ["blue"],
        },
        ("Create", secret_name): {
            "operation": "Create", "name": secret_name, "type": "SecureString",
            "description": "",
        },
        ("Delete", name): {
            "operation": "Delete", "name": name, "type": "String", "description": "the db"
        },
    }  # fmt: skip
    assert len({r.event["id"] for r in got}) == 6


def test_path_prefix_selects_parameters(notify: CofreServer, receiver: Receiver, ssm: Any) -> None:
    base = unique_path("/p")
    only, every = hook_path(), hook_path()
    create_hook(notify, receiver.url(only), PathPrefix=f"{base}/app/")
    everything = create_hook(notify, receiver.url(every))
    flat = f"flat{uuid.uuid4().hex[:8]}"
    for name in (f"{base}/app/a", f"{base}/apps/b", f"{base}/other/c", flat):
        ssm.put_parameter(Name=name, Value="v", Type="String")
    receiver.wait_count(every, 4)
    time.sleep(0.5)
    assert [r.event["detail"]["name"] for r in receiver.delivered(only)] == [f"{base}/app/a"]
    status, _ = hooks_call(notify, "DeleteWebhook", {"WebhookId": everything})
    assert status == 200
    ssm.delete_parameter(Name=flat)


def test_webhook_api_and_errors(notify: CofreServer, receiver: Receiver) -> None:
    status, created = hooks_call(notify, "CreateWebhook", {"Url": receiver.url("/gen")})
    assert status == 200 and created["PathPrefix"] == "/" and len(created["Secret"]) >= 40
    status, listed = hooks_call(notify, "ListWebhooks", {})
    mine = [w for w in listed["Webhooks"] if w["WebhookId"] == created["WebhookId"]]
    assert mine and "Secret" not in mine[0] and mine[0]["Url"] == receiver.url("/gen")
    assert isinstance(mine[0]["PendingDeliveries"], int)
    for bad in (
        {"Url": "ftp://127.0.0.1/x"},
        {"Url": "http:///nohost"},
        {"Url": "http://user:pw@127.0.0.1/x"},
        {"Url": "http://127.0.0.1/x", "PathPrefix": "app"},
        {"Url": "http://127.0.0.1/x", "PathPrefix": "/a b/"},
        {"Url": "http://127.0.0.1/x", "Secret": "short"},
        {"Url": "http://127.0.0.1/x", "Other": "x"},
        {},
    ):
        status, body = hooks_call(notify, "CreateWebhook", bad)
        assert (status, body["__type"]) == (400, "ValidationException"), bad
    status, body = hooks_call(notify, "DeleteWebhook", {"WebhookId": "wh-0000000000000000"})
    assert (status, body["__type"]) == (400, "NotFoundException")
    status, body = hooks_call(notify, "ListWebhooks", {}, service="kms")
    assert body["__type"] == "InvalidSignatureException"
    status, body = hooks_call(notify, "Nope", {})
    assert status == 400 and body["__type"] == "UnknownOperationException"
    assert hooks_call(notify, "DeleteWebhook", {"WebhookId": created["WebhookId"]})[0] == 200


def test_iam_decides_and_accounts_are_isolated(notify: CofreServer, receiver: Receiver) -> None:
    nobody = make_user(notify)
    keys = (nobody.access_key_id, nobody.secret_access_key)
    status, body = hooks_call(notify, "ListWebhooks", {}, key=keys)
    assert (status, body["__type"]) == (400, "AccessDeniedException")
    lister = make_user(notify, allow(["ssm:ListWebhooks", "ssm:CreateWebhook"]))
    keys = (lister.access_key_id, lister.secret_access_key)
    assert hooks_call(notify, "ListWebhooks", {}, key=keys)[0] == 200
    tenant = new_account(notify)
    path = hook_path()
    theirs = tenant.client(notify, "ssm")
    tkeys = (tenant.access_key_id, tenant.secret_access_key)
    status, made = hooks_call(notify, "CreateWebhook", {"Url": receiver.url(path)}, key=tkeys)
    assert status == 200
    listed = hooks_call(notify, "ListWebhooks", {})[1]["Webhooks"]
    assert made["WebhookId"] not in [w["WebhookId"] for w in listed]
    status, body = hooks_call(notify, "DeleteWebhook", {"WebhookId": made["WebhookId"]})
    assert body["__type"] == "NotFoundException"
    mine, base = hook_path(), unique_path("/iso")
    create_hook(notify, receiver.url(mine), PathPrefix=base + "/")
    theirs.put_parameter(Name=f"{base}/t", Value="v", Type="String")
    notify.client("ssm").put_parameter(Name=f"{base}/m", Value="v", Type="String")
    [t] = receiver.wait_count(path, 1)
    [m] = receiver.wait_count(mine, 1)
    assert t.event["account"] == tenant.arn.split(":")[4] and m.event["account"] == ACCOUNT_ID
    time.sleep(0.5)
    assert len(receiver.delivered(path)) == 1 and len(receiver.delivered(mine)) == 1


def new_account(server: CofreServer) -> Principal:
    account = f"{uuid.uuid4().int % 10**12:012d}"
    status, body = signed_call(
        server, "CofreAdmin.CreateAccount", {"AccountId": account}, service="cofre"
    )
    assert status == 200, body
    return Principal(
        "root", f"arn:aws:iam::{account}:root", body["AccessKeyId"], body["SecretAccessKey"]
    )


def test_a_receiver_that_is_down_gets_the_events_later(notify: CofreServer, ssm: Any) -> None:
    late = Receiver(free_port())
    path, base = hook_path(), unique_path("/down")
    create_hook(notify, late.url(path), PathPrefix=base + "/")
    ssm.put_parameter(Name=f"{base}/a", Value="v", Type="String")  # connection refused
    time.sleep(1.5)
    late.status = 500
    late.start()
    try:
        late.wait(lambda: len(late.received) >= 2)  # retried while answering 500
        ssm.put_parameter(Name=f"{base}/b", Value="v", Type="String")
        late.status = 200
        got = late.wait_count(path, 2)
        assert sorted(r.event["detail"]["name"] for r in got) == [f"{base}/a", f"{base}/b"]
        failed = {r.event["id"] for r in late.received if r.status == 500}
        assert failed <= {r.event["id"] for r in got}
    finally:
        late.stop()


def test_cli_manages_webhooks(notify: CofreServer, receiver: Receiver) -> None:
    env = dict(os.environ)
    env.update(
        AWS_ACCESS_KEY_ID=ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY=SECRET_ACCESS_KEY,
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        AWS_ENDPOINT_URL=notify.url,
    )

    def cofre(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [COFRE, "params", "webhooks", *args], env=env, capture_output=True, text=True,
            timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done

    url = receiver.url(hook_path())
    added = json.loads(
        cofre("add", "--url", url, "--path-prefix", "/cli/", "--secret", SECRET).stdout
    )
    assert added["Url"] == url and added["PathPrefix"] == "/cli/" and "Secret" not in added
    listed = json.loads(cofre("list").stdout)["Webhooks"]
    assert added["WebhookId"] in [w["WebhookId"] for w in listed]
    cofre("remove", added["WebhookId"])
    listed = json.loads(cofre("list").stdout)["Webhooks"]
    assert added["WebhookId"] not in [w["WebhookId"] for w in listed]


def test_policies_act_when_due(notify: CofreServer, receiver: Receiver, ssm: Any) -> None:
    path, base = hook_path(), unique_path("/pol")
    create_hook(notify, receiver.url(path), PathPrefix=base + "/", Secret=SECRET)
    name = f"{base}/temp"
    expires = (datetime.now(UTC) + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    policies = [
        {"Type": "Expiration", "Version": "1.0", "Attributes": {"Timestamp": expires}},
        {"Type": "ExpirationNotification", "Version": "1.0",
         "Attributes": {"Before": "2", "Unit": "Hours"}},
        {"Type": "NoChangeNotification", "Version": "1.0",
         "Attributes": {"After": "1", "Unit": "Hours"}},
    ]  # fmt: skip
    ssm.put_parameter(
        Name=name, Value="v", Type="String", Tier="Advanced", Policies=json.dumps(policies)
    )
    receiver.wait_count(path, 1)  # Create
    time.sleep(0.6)
    assert len(receiver.delivered(path)) == 1  # nothing due yet

    def actions() -> list[dict[str, Any]]:
        return [
            r.event["detail"]
            for r in receiver.delivered(path)
            if r.event["detail-type"] == "Parameter Store Policy Action"
        ]

    with notify.clock_offset(1.5 * 3600):
        receiver.wait(lambda: len(actions()) >= 2)
        time.sleep(0.8)  # several job rounds: each policy acts once
    assert sorted(a["policy-type"] for a in actions()) == [
        "ExpirationNotification", "NoChangeNotification"
    ]  # fmt: skip
    for a in actions():
        assert list(a) == [
            "parameter-name", "parameter-type", "policy-type", "policy-content",
            "action-status", "action-reason",
        ]  # fmt: skip
        assert a["parameter-name"] == name and a["parameter-type"] == "String"
        assert a["action-status"] == "Success"
        assert json.loads(a["policy-content"])["Type"] == a["policy-type"]
    ssm.put_parameter(Name=name, Value="v2", Overwrite=True)  # a change re-arms NoChange
    with notify.clock_offset(1.5 * 3600):
        receiver.wait(lambda: len(actions()) >= 3)
        time.sleep(0.8)
    assert [a["policy-type"] for a in actions()].count("NoChangeNotification") == 2
    assert [a["policy-type"] for a in actions()].count("ExpirationNotification") == 1
    with notify.clock_offset(3.5 * 3600):
        receiver.wait(lambda: any(a["policy-type"] == "Expiration" for a in actions()))
        fails("ParameterNotFound", ssm.get_parameter, Name=name)
        receiver.wait(
            lambda: any(
                r.event["detail"].get("operation") == "Delete" for r in receiver.delivered(path)
            )
        )
    [expired] = [a for a in actions() if a["policy-type"] == "Expiration"]
    assert expired["action-status"] == "Finished" and expired["parameter-name"] == name
    for r in receiver.delivered(path):
        envelope_ok(r.event, r.event["detail-type"], name)
        assert verify(r, SECRET)


def test_no_secret_at_rest_or_in_the_log(notify: CofreServer, receiver: Receiver) -> None:
    marker = f"webhook-secret-{uuid.uuid4().hex}"
    hook = create_hook(notify, receiver.url(hook_path()), Secret=marker)
    notify.client("ssm").put_parameter(
        Name=unique_path("/rest") + "/s", Value=f"value-{marker}", Type="SecureString"
    )
    time.sleep(0.5)
    if notify.database is None:
        stored = b"".join(p.read_bytes() for p in notify.data_dir.glob("cofre.db*"))
    else:
        with psycopg.connect(notify.database) as conn:
            rows = conn.execute(
                "SELECT w.*, d.* FROM param_webhooks w LEFT JOIN param_deliveries d"
                " ON d.webhook_id = w.webhook_id"
            ).fetchall()
        stored = repr(rows).encode()
    assert marker.encode() not in stored
    assert marker not in notify.log.read_text()
    assert hooks_call(notify, "DeleteWebhook", {"WebhookId": hook})[0] == 200
