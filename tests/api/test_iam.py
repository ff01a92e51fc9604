"""IAM and STS over the Query protocol, with boto3 and the AWS CLI."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.iam import allow, deny, document, make_user, unique
from tests.support.server import ACCOUNT_ID, CofreServer


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def status(exc: pytest.ExceptionInfo[ClientError]) -> int:
    return int(exc.value.response["ResponseMetadata"]["HTTPStatusCode"])


@pytest.fixture
def iam(server: CofreServer) -> Any:
    return server.client("iam")


def test_aws_cli_user_lifecycle(server: CofreServer) -> None:
    name = unique("cli")

    def aws(*args: str) -> Any:
        out = server.aws_cli("iam", *args).stdout
        return json.loads(out) if out.strip() else None

    user = aws("create-user", "--user-name", name, "--path", "/team/")["User"]
    assert user["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:user/team/{name}"
    assert user["UserId"].startswith("AIDA")
    key = aws("create-access-key", "--user-name", name)["AccessKey"]
    assert key["AccessKeyId"].startswith("AKIA") and len(key["AccessKeyId"]) == 20
    assert len(key["SecretAccessKey"]) == 40
    policy = {"Version": "2012-10-17", "Statement": [allow("kms:Encrypt")]}
    aws("put-user-policy", "--user-name", name, "--policy-name", "p",
        "--policy-document", json.dumps(policy))  # fmt: skip
    fetched = aws("get-user-policy", "--user-name", name, "--policy-name", "p")
    assert fetched["PolicyDocument"] == policy  # botocore URL-decodes and parses it
    assert aws("list-user-policies", "--user-name", name)["PolicyNames"] == ["p"]
    listed = aws("list-users", "--path-prefix", "/team/")["Users"]
    assert name in {u["UserName"] for u in listed}
    assert aws("get-user", "--user-name", name)["User"]["UserId"] == user["UserId"]
    metadata = aws("list-access-keys", "--user-name", name)["AccessKeyMetadata"]
    assert [m["AccessKeyId"] for m in metadata] == [key["AccessKeyId"]]
    assert metadata[0]["Status"] == "Active"
    # The user itself, through STS.
    sts = server.client(
        "sts",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
    )
    identity = sts.get_caller_identity()
    assert identity == {
        "UserId": user["UserId"],
        "Account": ACCOUNT_ID,
        "Arn": user["Arn"],
        "ResponseMetadata": identity["ResponseMetadata"],
    }
    # Deleting needs the keys and policies gone first.
    failed = server.aws_cli("iam", "delete-user", "--user-name", name, check=False)
    assert failed.returncode != 0 and "DeleteConflict" in failed.stderr
    aws("delete-access-key", "--user-name", name, "--access-key-id", key["AccessKeyId"])
    aws("delete-user-policy", "--user-name", name, "--policy-name", "p")
    aws("delete-user", "--user-name", name)
    gone = server.aws_cli("iam", "get-user", "--user-name", name, check=False)
    assert gone.returncode != 0 and "NoSuchEntity" in gone.stderr


def test_aws_cli_sts_get_caller_identity(server: CofreServer) -> None:
    identity = json.loads(server.aws_cli("sts", "get-caller-identity").stdout)
    assert identity["Account"] == ACCOUNT_ID
    assert identity["Arn"] == f"arn:aws:iam::{ACCOUNT_ID}:root"


def test_errors_have_aws_codes_and_statuses(server: CofreServer, iam: Any) -> None:
    name = unique("dup")
    iam.create_user(UserName=name)
    with pytest.raises(ClientError) as exc:
        iam.create_user(UserName=name.upper())  # names are unique regardless of case
    assert (code(exc), status(exc)) == ("EntityAlreadyExists", 409)
    with pytest.raises(ClientError) as exc:
        iam.get_user(UserName=unique("nobody"))
    assert (code(exc), status(exc)) == ("NoSuchEntity", 404)
    with pytest.raises(ClientError) as exc:
        server.client("iam", validate=False).create_user(UserName="x" * 65)
    assert (code(exc), status(exc)) == ("ValidationError", 400)
    assert "Member must have length less than or equal to 64" in str(exc.value)
    with pytest.raises(ClientError) as exc:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument='{"Statement": []}')
    assert (code(exc), status(exc)) == ("MalformedPolicyDocument", 400)
    iam.create_access_key(UserName=name)
    iam.create_access_key(UserName=name)
    with pytest.raises(ClientError) as exc:
        iam.create_access_key(UserName=name)
    assert (code(exc), status(exc)) == ("LimitExceeded", 409)


def test_managed_policies_versions_and_attachments(server: CofreServer, iam: Any) -> None:
    user = make_user(server)
    kms = user.client(server)
    name = unique("policy")
    created = iam.create_policy(
        PolicyName=name, PolicyDocument=document(allow("kms:ListKeys")), Description="list"
    )["Policy"]
    arn = created["Arn"]
    assert arn == f"arn:aws:iam::{ACCOUNT_ID}:policy/{name}"
    assert created["DefaultVersionId"] == "v1" and created["AttachmentCount"] == 0
    with pytest.raises(ClientError) as exc:
        kms.list_keys()
    assert code(exc) == "AccessDeniedException"
    iam.attach_user_policy(UserName=user.name, PolicyArn=arn)
    kms.list_keys()
    assert iam.get_policy(PolicyArn=arn)["Policy"]["AttachmentCount"] == 1
    attached = iam.list_attached_user_policies(UserName=user.name)["AttachedPolicies"]
    assert attached == [{"PolicyName": name, "PolicyArn": arn}]
    # A new default version takes effect; the old one stays listed.
    iam.create_policy_version(
        PolicyArn=arn, PolicyDocument=document(deny("kms:ListKeys")), SetAsDefault=True
    )
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [(v["VersionId"], v["IsDefaultVersion"]) for v in versions] == [
        ("v1", False),
        ("v2", True),
    ]
    fetched = iam.get_policy_version(PolicyArn=arn, VersionId="v2")["PolicyVersion"]
    assert fetched["Document"]["Statement"][0]["Effect"] == "Deny"
    with pytest.raises(ClientError) as exc:
        kms.list_keys()
    assert code(exc) == "AccessDeniedException"
    with pytest.raises(ClientError) as exc:
        iam.delete_policy_version(PolicyArn=arn, VersionId="v2")
    assert code(exc) == "DeleteConflict"
    with pytest.raises(ClientError) as exc:
        iam.delete_policy(PolicyArn=arn)
    assert code(exc) == "DeleteConflict"
    iam.detach_user_policy(UserName=user.name, PolicyArn=arn)
    iam.delete_policy_version(PolicyArn=arn, VersionId="v1")
    iam.delete_policy(PolicyArn=arn)
    with pytest.raises(ClientError) as exc:
        iam.get_policy(PolicyArn=arn)
    assert code(exc) == "NoSuchEntity"


def test_iam_actions_need_identity_permissions(server: CofreServer) -> None:
    nobody = make_user(server)
    with pytest.raises(ClientError) as exc:
        nobody.client(server, "iam").create_user(UserName=unique("x"))
    assert (code(exc), status(exc)) == ("AccessDenied", 403)
    assert f"User: {nobody.arn} is not authorized to perform: iam:CreateUser" in str(exc.value)
    # An unknown user is AccessDenied too, not NoSuchEntity: no probing for names.
    with pytest.raises(ClientError) as exc:
        nobody.client(server, "iam").get_user(UserName=unique("ghost"))
    assert code(exc) == "AccessDenied"
    admin = make_user(server, allow("iam:*"))
    created = admin.client(server, "iam").create_user(UserName=unique("made"))["User"]
    assert created["Arn"].startswith(f"arn:aws:iam::{ACCOUNT_ID}:user/")
    # Everyone may ask who they are.
    assert nobody.client(server, "sts").get_caller_identity()["Arn"] == nobody.arn


def test_deactivated_access_key_is_refused(server: CofreServer, iam: Any) -> None:
    user = make_user(server)
    sts = user.client(server, "sts")
    sts.get_caller_identity()
    iam.update_access_key(UserName=user.name, AccessKeyId=user.access_key_id, Status="Inactive")
    with pytest.raises(ClientError) as exc:
        sts.get_caller_identity()
    assert (code(exc), status(exc)) == ("InvalidClientTokenId", 403)
    with pytest.raises(ClientError) as exc:
        user.client(server).list_keys()
    assert code(exc) == "UnrecognizedClientException"


def test_roles(server: CofreServer, iam: Any) -> None:
    name = unique("role")
    trust = document(
        {"Effect": "Allow", "Principal": {"AWS": ACCOUNT_ID}, "Action": "sts:AssumeRole"}
    )
    role = iam.create_role(
        RoleName=name, AssumeRolePolicyDocument=trust, Description="d", MaxSessionDuration=7200
    )["Role"]
    assert role["RoleId"].startswith("AROA")
    assert role["AssumeRolePolicyDocument"] == json.loads(trust)
    got = iam.get_role(RoleName=name)["Role"]
    assert got["MaxSessionDuration"] == 7200 and got["Description"] == "d"
    assert name in {r["RoleName"] for r in iam.list_roles()["Roles"]}
    with pytest.raises(ClientError) as exc:
        iam.create_role(
            RoleName=unique("bad"),
            AssumeRolePolicyDocument=document(allow("sts:AssumeRole")),
        )
    assert code(exc) == "MalformedPolicyDocument"
    # The trust policy delegates to the account: a user needs an IAM allow as well.
    user = make_user(server)
    with pytest.raises(ClientError) as exc:
        user.client(server, "sts").assume_role(RoleArn=role["Arn"], RoleSessionName="s1")
    assert code(exc) == "AccessDenied"
    iam.put_user_policy(
        UserName=user.name,
        PolicyName="assume",
        PolicyDocument=document(allow("sts:AssumeRole", role["Arn"])),
    )
    creds = user.client(server, "sts").assume_role(
        RoleArn=role["Arn"], RoleSessionName="s1", DurationSeconds=7200
    )["Credentials"]
    assert creds["SessionToken"]
    with pytest.raises(ClientError) as exc:
        user.client(server, "sts").assume_role(
            RoleArn=role["Arn"], RoleSessionName="s1", DurationSeconds=7201
        )
    assert code(exc) == "ValidationError"
    iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=document(allow("kms:*")))
    with pytest.raises(ClientError) as exc:
        iam.delete_role(RoleName=name)
    assert code(exc) == "DeleteConflict"
    iam.delete_role_policy(RoleName=name, PolicyName="p")
    iam.delete_role(RoleName=name)
