"""IAM in the console: users, an access key whose secret is shown once, inline policies
in the validating editor, denials."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from tests.support.console import ConsoleUser
from tests.support.iam import allow, make_user, unique
from tests.support.server import CofreServer


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CofreServer]:
    server = CofreServer(tmp_path_factory.mktemp("cofre-console-iam") / "data").start()
    try:
        yield server
    finally:
        server.stop()


def test_users_keys_and_inline_policies(console_server: CofreServer) -> None:
    name = unique("console-user")
    with ConsoleUser(console_server) as admin:
        admin.sign_in()
        created = admin.post("/console/iam/users", {"user_name": name})
        assert created.status_code == 303
        assert name in admin.page("/console/iam").text
        shown = admin.post(f"/console/iam/users/{name}/create-key")
        assert shown.status_code == 200 and shown.headers["cache-control"] == "no-store"
        key_id = re.search(r'id="new-key-id">([A-Z0-9]+)<', shown.text)
        secret = re.search(r'id="new-key-secret">([^<]+)<', shown.text)
        assert key_id and secret
        again = admin.page(f"/console/iam/users/{name}")
        assert key_id.group(1) in again.text and secret.group(1) not in again.text  # once
        bad = admin.post(f"/console/iam/users/{name}/put-policy",
                         {"policy_name": "p", "document": '{"Version": "2012-10-17"'})  # fmt: skip
        assert bad.status_code == 400
        assert 'id="policy-failure"' in bad.text and "MalformedPolicyDocument" in bad.text
        document = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "kms:ListKeys", "Resource": "*"}]})  # fmt: skip
        good = admin.post(f"/console/iam/users/{name}/put-policy",
                          {"policy_name": "list-keys", "document": document})  # fmt: skip
        assert good.status_code == 303
        assert "kms:ListKeys" in admin.page(f"/console/iam/users/{name}").text
    with ConsoleUser(console_server) as new_user:  # the new key signs in
        assert new_user.sign_in(key_id.group(1), secret.group(1)).status_code == 303
        assert new_user.page("/console/keys").status_code == 200


def test_iam_denied(console_server: CofreServer) -> None:
    nobody = make_user(console_server, allow("kms:ListKeys"))
    with ConsoleUser(console_server) as user:
        user.sign_in(nobody.access_key_id, nobody.secret_access_key)
        page = user.page("/console/iam")
        assert page.status_code == 200
        assert "AccessDenied" in page.text and "iam:ListUsers" in page.text
        refused = user.post("/console/iam/users", {"user_name": unique("x")})
        assert refused.status_code == 403 and "AccessDenied" in refused.text


def test_managed_policies_in_the_editor(console_server: CofreServer) -> None:
    name = unique("managed")
    first = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:ListKeys", "Resource": "*"}]})  # fmt: skip
    with ConsoleUser(console_server) as admin:
        admin.sign_in()
        bad = admin.post("/console/iam/policies", {"policy_name": name, "document": "{}"})
        assert bad.status_code == 400 and 'id="policy-failure"' in bad.text
        made = admin.post("/console/iam/policies", {"policy_name": name, "document": first})
        assert made.status_code == 303
        arn = f"arn:aws:iam::111122223333:policy/{name}"
        page = admin.page("/console/iam/policy", arn=arn)
        assert page.status_code == 200 and "kms:ListKeys" in page.text
        second = first.replace("kms:ListKeys", "kms:ListAliases")
        saved = admin.post("/console/iam/policy", {"arn": arn, "document": second})
        assert saved.status_code == 303
        assert "kms:ListAliases" in admin.page("/console/iam/policy", arn=arn).text
        refused = admin.post("/console/iam/policy", {"arn": arn, "document": '{"Version": 1'})
        assert refused.status_code == 400 and "MalformedPolicyDocument" in refused.text
        assert "{&#34;Version&#34;: 1" in refused.text
    iam = console_server.client("iam")
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v2"


def test_roles_trust_and_inline_policies(console_server: CofreServer) -> None:
    name = unique("console-role")
    root = {"AWS": "arn:aws:iam::111122223333:root"}
    statement = {"Effect": "Allow", "Principal": root, "Action": "sts:AssumeRole"}
    trust = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    with ConsoleUser(console_server) as admin:
        admin.sign_in()
        bad = admin.post("/console/iam/roles", {"role_name": name, "trust": "[1,"})
        assert bad.status_code == 400 and 'id="trust-failure"' in bad.text
        made = admin.post("/console/iam/roles", {"role_name": name, "trust": trust})
        assert made.status_code == 303, made.text
        page = admin.page(f"/console/iam/roles/{name}")
        assert page.status_code == 200 and "sts:AssumeRole" in page.text
        refused = admin.post(f"/console/iam/roles/{name}/trust", {"trust": '{"Version": 2'})
        assert refused.status_code == 400 and 'id="trust-failure"' in refused.text
        assert "{&#34;Version&#34;: 2" in refused.text
        document = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "kms:ListKeys", "Resource": "*"}]})  # fmt: skip
        put = admin.post(f"/console/iam/roles/{name}/put-policy",
                         {"policy_name": "list", "document": document})  # fmt: skip
        assert put.status_code == 303
        assert "kms:ListKeys" in admin.page(f"/console/iam/roles/{name}").text
    iam = console_server.client("iam")
    assert iam.list_role_policies(RoleName=name)["PolicyNames"] == ["list"]
