"""Authorization end to end: real signed requests as different principals.

The rule under test (KMS Developer Guide, "KMS key access and permissions"): the key
policy must allow the caller, directly or by delegating to IAM where an identity policy
allows; an explicit deny anywhere wins; a grant can allow instead.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.iam import Principal, allow, deny, document, make_user, unique
from tests.support.server import ACCOUNT_ID, CofreServer

ROOT = f"arn:aws:iam::{ACCOUNT_ID}:root"


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = exc.value.response["Error"]
    return err["Code"], err["Message"]


def key_policy(*statements: dict[str, Any]) -> str:
    return document(*statements)


def test_identity_policy_alone_is_not_enough(server: CofreServer, kms: Any) -> None:
    """A key policy that does not delegate to IAM ignores the user's IAM allow."""
    admin = make_user(server, allow("kms:*"))
    user = make_user(server, allow("kms:Encrypt"))
    policy = key_policy(
        {"Effect": "Allow", "Principal": {"AWS": admin.arn}, "Action": "kms:*", "Resource": "*"}
    )
    key = kms.create_key(Policy=policy, BypassPolicyLockoutSafetyCheck=True)["KeyMetadata"]
    with pytest.raises(ClientError) as exc:
        user.client(server).encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    code, message = error(exc)
    assert code == "AccessDeniedException"
    assert message == (
        f"User: {user.arn} is not authorized to perform: kms:Encrypt on resource:"
        f" {key['Arn']} because no resource-based policy allows the kms:Encrypt action"
    )
    # The principal the key policy names may use it (with its IAM allow too).
    admin.client(server).encrypt(KeyId=key["KeyId"], Plaintext=b"x")


def test_key_policy_allow_with_identity_deny_is_denied(server: CofreServer, kms: Any) -> None:
    user = make_user(server, deny("kms:Encrypt"))
    policy = key_policy(
        {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*", "Resource": "*"},
        {"Effect": "Allow", "Principal": {"AWS": user.arn}, "Action": "kms:*", "Resource": "*"},
    )
    key = kms.create_key(Policy=policy)["KeyMetadata"]
    client = user.client(server)
    with pytest.raises(ClientError) as exc:
        client.encrypt(KeyId=key["KeyId"], Plaintext=b"x")
    code, message = error(exc)
    assert code == "AccessDeniedException"
    assert message.endswith("with an explicit deny in an identity-based policy")
    # Everything the identity policy does not deny, the key policy allows directly.
    assert client.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["Arn"] == key["Arn"]


def test_user_without_identity_policy_is_denied_under_default_policy(
    server: CofreServer, key_id: str
) -> None:
    user = make_user(server)
    with pytest.raises(ClientError) as exc:
        user.client(server).encrypt(KeyId=key_id, Plaintext=b"x")
    code, message = error(exc)
    assert code == "AccessDeniedException"
    assert "because no identity-based policy allows the kms:Encrypt action" in message


def test_encryption_context_conditions(server: CofreServer, kms: Any, key_id: str) -> None:
    user = make_user(
        server,
        allow(
            ["kms:Encrypt", "kms:Decrypt"],
            Condition={"StringEquals": {"kms:EncryptionContext:app": "billing"}},
        ),
    )
    client = user.client(server)
    blob = client.encrypt(KeyId=key_id, Plaintext=b"ok", EncryptionContext={"app": "billing"})[
        "CiphertextBlob"
    ]
    opened = client.decrypt(CiphertextBlob=blob, EncryptionContext={"app": "billing"})
    assert opened["Plaintext"] == b"ok"
    for context in ({"app": "payroll"}, {}, {"App": "billing"}):
        with pytest.raises(ClientError) as exc:
            client.encrypt(KeyId=key_id, Plaintext=b"no", EncryptionContext=context)
        assert error(exc)[0] == "AccessDeniedException"
    other = kms.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext={"app": "payroll"})
    with pytest.raises(ClientError) as exc:
        client.decrypt(CiphertextBlob=other["CiphertextBlob"], EncryptionContext={"app": "payroll"})
    assert error(exc)[0] == "AccessDeniedException"


def test_policy_change_is_honoured_within_a_second(server: CofreServer, key_id: str) -> None:
    iam = server.client("iam")
    user = make_user(server, allow("kms:Encrypt"))
    client = user.client(server)
    client.encrypt(KeyId=key_id, Plaintext=b"x")
    iam.put_user_policy(
        UserName=user.name, PolicyName="inline", PolicyDocument=document(deny("kms:*"))
    )
    deadline = time.monotonic() + 1.0
    while True:
        try:
            client.encrypt(KeyId=key_id, Plaintext=b"x")
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "AccessDeniedException"
            break
        assert time.monotonic() < deadline, "the new policy was not honoured within 1 s"
        time.sleep(0.05)


def test_grant_allows_until_retired(server: CofreServer, kms: Any, key_id: str) -> None:
    grantee = make_user(server)
    client = grantee.client(server)
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"secret", EncryptionContext={"app": "x"})[
        "CiphertextBlob"
    ]
    with pytest.raises(ClientError):
        client.decrypt(CiphertextBlob=blob, EncryptionContext={"app": "x"})
    grant = kms.create_grant(
        KeyId=key_id,
        GranteePrincipal=grantee.arn,
        RetiringPrincipal=grantee.arn,
        Operations=["Decrypt"],
        Constraints={"EncryptionContextSubset": {"app": "x"}},
        Name="reader",
    )
    token = grant["GrantToken"]
    # The token works at once, before any cache could have seen the grant.
    opened = client.decrypt(
        CiphertextBlob=blob, EncryptionContext={"app": "x"}, GrantTokens=[token]
    )
    assert opened["Plaintext"] == b"secret"
    assert client.decrypt(CiphertextBlob=blob, EncryptionContext={"app": "x"})["Plaintext"]
    # The grant allows only what it names, under its constraint.
    with pytest.raises(ClientError):
        client.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext={"app": "x"})
    other = kms.encrypt(KeyId=key_id, Plaintext=b"y", EncryptionContext={"app": "y"})
    with pytest.raises(ClientError):
        client.decrypt(CiphertextBlob=other["CiphertextBlob"], EncryptionContext={"app": "y"})
    # Name makes CreateGrant idempotent; the token differs every time.
    again = kms.create_grant(
        KeyId=key_id,
        GranteePrincipal=grantee.arn,
        RetiringPrincipal=grantee.arn,
        Operations=["Decrypt"],
        Constraints={"EncryptionContextSubset": {"app": "x"}},
        Name="reader",
    )
    assert again["GrantId"] == grant["GrantId"]
    assert again["GrantToken"] != token
    listed = kms.list_grants(KeyId=key_id)["Grants"]
    mine = [g for g in listed if g["GrantId"] == grant["GrantId"]]
    assert len(mine) == 1
    assert mine[0]["GranteePrincipal"] == grantee.arn
    assert mine[0]["Operations"] == ["Decrypt"]
    assert mine[0]["Constraints"] == {"EncryptionContextSubset": {"app": "x"}}
    assert mine[0]["IssuingAccount"] == ROOT
    retirable = kms.list_retirable_grants(RetiringPrincipal=grantee.arn)["Grants"]
    assert [g["GrantId"] for g in retirable] == [grant["GrantId"]]
    # The retiring principal retires it; then the grantee is denied again.
    client.retire_grant(GrantToken=token)
    with pytest.raises(ClientError) as exc:
        client.decrypt(CiphertextBlob=blob, EncryptionContext={"app": "x"})
    assert error(exc)[0] == "AccessDeniedException"
    assert grant["GrantId"] not in {g["GrantId"] for g in kms.list_grants(KeyId=key_id)["Grants"]}


def test_revoke_grant_and_grant_errors(server: CofreServer, kms: Any, key_id: str) -> None:
    grantee = make_user(server)
    grant = kms.create_grant(KeyId=key_id, GranteePrincipal=grantee.arn, Operations=["Encrypt"])
    client = grantee.client(server)
    client.encrypt(KeyId=key_id, Plaintext=b"x", GrantTokens=[grant["GrantToken"]])
    # The grantee cannot retire a grant without RetireGrant, or revoke it.
    with pytest.raises(ClientError) as exc:
        client.retire_grant(KeyId=key_id, GrantId=grant["GrantId"])
    assert error(exc)[0] == "AccessDeniedException"
    kms.revoke_grant(KeyId=key_id, GrantId=grant["GrantId"])
    with pytest.raises(ClientError) as exc:
        client.encrypt(KeyId=key_id, Plaintext=b"x")
    assert error(exc)[0] == "AccessDeniedException"
    with pytest.raises(ClientError) as exc:
        kms.revoke_grant(KeyId=key_id, GrantId=grant["GrantId"])
    assert error(exc)[0] == "NotFoundException"
    with pytest.raises(ClientError) as exc:
        kms.revoke_grant(KeyId=key_id, GrantId="not-a-grant-id")
    assert error(exc)[0] == "InvalidGrantIdException"
    with pytest.raises(ClientError) as exc:
        kms.encrypt(KeyId=key_id, Plaintext=b"x", GrantTokens=["forged-token"])
    assert error(exc)[0] == "InvalidGrantTokenException"
    with pytest.raises(ClientError) as exc:
        kms.create_grant(
            KeyId=key_id,
            GranteePrincipal=grantee.arn,
            Operations=["DescribeKey"],
            Constraints={"EncryptionContextEquals": {"a": "b"}},
        )
    assert error(exc)[0] == "ValidationException"
    with pytest.raises(ClientError) as exc:
        kms.create_grant(KeyId=key_id, GranteePrincipal="bob", Operations=["Decrypt"])
    assert error(exc)[0] == "ValidationException"


def test_grantee_cannot_pass_on_more_than_its_grant(
    server: CofreServer, kms: Any, key_id: str
) -> None:
    grantee = make_user(server)
    other = make_user(server)
    kms.create_grant(
        KeyId=key_id, GranteePrincipal=grantee.arn, Operations=["Encrypt", "CreateGrant"]
    )
    client = grantee.client(server)
    client.create_grant(KeyId=key_id, GranteePrincipal=other.arn, Operations=["Encrypt"])
    with pytest.raises(ClientError) as exc:
        client.create_grant(KeyId=key_id, GranteePrincipal=other.arn, Operations=["Decrypt"])
    assert error(exc)[0] == "AccessDeniedException"


def test_put_key_policy_lockout_check(server: CofreServer, kms: Any, key_id: str) -> None:
    someone = make_user(server)
    locked_out = key_policy(
        {"Effect": "Allow", "Principal": {"AWS": someone.arn}, "Action": "kms:*", "Resource": "*"}
    )
    with pytest.raises(ClientError) as exc:
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=locked_out)
    code, message = error(exc)
    assert code == "MalformedPolicyDocumentException"
    assert "will not allow you to update the key policy in the future" in message
    with pytest.raises(ClientError) as exc:
        kms.create_key(Policy=locked_out)
    assert error(exc)[0] == "MalformedPolicyDocumentException"
    with pytest.raises(ClientError) as exc:
        kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy='{"Statement": 1}')
    assert error(exc)[0] == "MalformedPolicyDocumentException"
    # A policy that keeps the caller in control is stored as given.
    keeps = key_policy(
        {"Sid": "root", "Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "kms:*",
         "Resource": "*"},
        {"Sid": "deny-someone", "Effect": "Deny", "Principal": {"AWS": someone.arn},
         "Action": "kms:*", "Resource": "*"},
    )  # fmt: skip
    kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=keeps)
    stored = kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]
    assert json.loads(stored) == json.loads(keeps)
    # With the check bypassed, the caller can lock itself out.
    kms.put_key_policy(
        KeyId=key_id, PolicyName="default", Policy=locked_out, BypassPolicyLockoutSafetyCheck=True
    )
    with pytest.raises(ClientError) as exc:
        kms.describe_key(KeyId=key_id)
    assert error(exc)[0] == "AccessDeniedException"


def test_assumed_role_credentials_work_until_they_expire(server: CofreServer, key_id: str) -> None:
    iam = server.client("iam")
    user = make_user(server)
    role_name = unique("role")
    trust = document(
        {"Effect": "Allow", "Principal": {"AWS": user.arn}, "Action": "sts:AssumeRole"}
    )
    role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=trust)["Role"]
    iam.put_role_policy(
        RoleName=role_name, PolicyName="use", PolicyDocument=document(allow("kms:Encrypt"))
    )
    sts = user.client(server, "sts")
    assumed = sts.assume_role(RoleArn=role["Arn"], RoleSessionName="job-1", DurationSeconds=900)
    creds = assumed["Credentials"]
    session = Principal(
        "job-1",
        assumed["AssumedRoleUser"]["Arn"],
        creds["AccessKeyId"],
        creds["SecretAccessKey"],
        creds["SessionToken"],
    )
    assert session.arn == f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role_name}/job-1"
    assert creds["AccessKeyId"].startswith("ASIA")
    identity = session.client(server, "sts").get_caller_identity()
    assert identity["Arn"] == session.arn
    assert identity["UserId"] == f"{role['RoleId']}:job-1"
    client = session.client(server)
    client.encrypt(KeyId=key_id, Plaintext=b"x")
    with pytest.raises(ClientError) as exc:
        client.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    assert error(exc)[0] == "AccessDeniedException"
    # A wrong session token is not accepted.
    forged = Principal("x", session.arn, session.access_key_id, session.secret_access_key, "bad")
    with pytest.raises(ClientError) as exc:
        forged.client(server).encrypt(KeyId=key_id, Plaintext=b"x")
    assert error(exc)[0] == "UnrecognizedClientException"
    with server.clock_offset(901):
        with pytest.raises(ClientError) as exc:
            client.encrypt(KeyId=key_id, Plaintext=b"x")
        assert error(exc)[0] == "ExpiredTokenException"
    # Someone the trust policy does not name cannot assume the role.
    stranger = make_user(server, allow("sts:AssumeRole"))
    with pytest.raises(ClientError) as exc:
        stranger.client(server, "sts").assume_role(RoleArn=role["Arn"], RoleSessionName="s1")
    assert error(exc)[0] == "AccessDenied"
    with pytest.raises(ClientError) as exc:
        server.client("sts").assume_role(RoleArn=role["Arn"], RoleSessionName="root")
    assert error(exc)[0] == "AccessDenied"


def test_alias_condition_keys(server: CofreServer, kms: Any, key_id: str) -> None:
    alias = f"alias/{unique('authz')}"
    kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    by_alias = make_user(
        server,
        allow("kms:Encrypt", Condition={"StringEquals": {"kms:RequestAlias": alias}}),
    )
    client = by_alias.client(server)
    client.encrypt(KeyId=alias, Plaintext=b"x")
    with pytest.raises(ClientError) as exc:
        client.encrypt(KeyId=key_id, Plaintext=b"x")
    assert error(exc)[0] == "AccessDeniedException"
    tagged = make_user(
        server,
        allow(
            "kms:Encrypt",
            Condition={"ForAnyValue:StringEquals": {"kms:ResourceAliases": alias}},
        ),
    )
    tagged.client(server).encrypt(KeyId=key_id, Plaintext=b"x")
    kms.delete_alias(AliasName=alias)
    with pytest.raises(ClientError) as exc:
        tagged.client(server).encrypt(KeyId=key_id, Plaintext=b"x")
    assert error(exc)[0] == "AccessDeniedException"
