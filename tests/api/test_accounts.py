"""Accounts (tenants): created by the admin with ``cofre accounts``, isolated from each
other, and crossing over only where a key policy and an IAM policy both allow it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.iam import Principal, allow, document, make_user
from tests.support.server import ACCESS_KEY_ID, ACCOUNT_ID, SECRET_ACCESS_KEY, CofreServer

COFRE = str(Path(sys.executable).with_name("cofre"))
TENANT = "222233334444"


def cofre_accounts(
    server: CofreServer, *args: str, key_id: str = ACCESS_KEY_ID, secret: str = SECRET_ACCESS_KEY
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.update(
        AWS_ACCESS_KEY_ID=key_id,
        AWS_SECRET_ACCESS_KEY=secret,
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        AWS_ENDPOINT_URL=server.url,
    )
    env.pop("AWS_PROFILE", None)
    return subprocess.run(
        [COFRE, "accounts", *args], env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture(scope="module")
def tenant(server: CofreServer) -> Principal:
    done = cofre_accounts(server, "create", "--account-id", TENANT, "--name", "tenant")
    assert done.returncode == 0, done.stderr
    created = json.loads(done.stdout)
    assert created["AccountId"] == TENANT and created["Name"] == "tenant"
    return Principal(
        "root",
        f"arn:aws:iam::{TENANT}:root",
        created["AccessKeyId"],
        created["SecretAccessKey"],
    )


def test_accounts_list_and_duplicates(server: CofreServer, tenant: Principal) -> None:
    listed = cofre_accounts(server, "list")
    assert listed.returncode == 0, listed.stderr
    ids = {a["AccountId"] for a in json.loads(listed.stdout)["Accounts"]}
    assert {ACCOUNT_ID, TENANT} <= ids
    again = cofre_accounts(server, "create", "--account-id", TENANT)
    assert again.returncode != 0
    assert "AlreadyExistsException" in again.stderr
    bad = cofre_accounts(server, "create", "--account-id", "12345")
    assert bad.returncode != 0 and "12 digits" in bad.stderr


def test_only_the_admin_account_manages_accounts(server: CofreServer, tenant: Principal) -> None:
    done = cofre_accounts(
        server, "create", key_id=tenant.access_key_id, secret=tenant.secret_access_key
    )
    assert done.returncode != 0
    assert "AccessDeniedException" in done.stderr
    user = make_user(server)  # in the admin account, but without cofre:* permissions
    done = cofre_accounts(server, "list", key_id=user.access_key_id, secret=user.secret_access_key)
    assert done.returncode != 0 and "AccessDeniedException" in done.stderr


def test_accounts_are_isolated(server: CofreServer, tenant: Principal, kms: Any) -> None:
    tenant_kms = tenant.client(server)
    key = tenant_kms.create_key(Description="tenant key")["KeyMetadata"]
    assert key["AWSAccountId"] == TENANT
    assert key["KeyId"] not in {k["KeyId"] for k in kms.list_keys()["Keys"]}
    with pytest.raises(ClientError) as exc:
        kms.describe_key(KeyId=key["Arn"])
    assert exc.value.response["Error"]["Code"] == "AccessDeniedException"
    # A bare key id names a key of the caller's own account: not found there.
    with pytest.raises(ClientError) as exc:
        kms.describe_key(KeyId=key["KeyId"])
    assert exc.value.response["Error"]["Code"] == "NotFoundException"
    identity = tenant.client(server, "sts").get_caller_identity()
    assert identity["Account"] == TENANT
    tenant_iam = tenant.client(server, "iam")
    assert tenant_iam.list_users()["Users"] == []


def test_cross_account_use_needs_key_policy_and_iam(
    server: CofreServer, tenant: Principal, kms: Any
) -> None:
    tenant_kms = tenant.client(server)
    key = tenant_kms.create_key()["KeyMetadata"]
    allowed_user = make_user(server, allow(["kms:Encrypt", "kms:Decrypt"], key["Arn"]))
    other_user = make_user(server, allow("kms:ListKeys"))
    # Before the key policy names the other account, nobody there may use the key.
    with pytest.raises(ClientError) as exc:
        allowed_user.client(server).encrypt(KeyId=key["Arn"], Plaintext=b"x")
    assert exc.value.response["Error"]["Code"] == "AccessDeniedException"
    policy = document(
        {"Sid": "owner", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{TENANT}:root"},
         "Action": "kms:*", "Resource": "*"},
        {"Sid": "partner", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
         "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"},
    )  # fmt: skip
    tenant_kms.put_key_policy(KeyId=key["KeyId"], PolicyName="default", Policy=policy)
    partner = allowed_user.client(server)
    blob = partner.encrypt(KeyId=key["Arn"], Plaintext=b"shared")["CiphertextBlob"]
    assert partner.decrypt(CiphertextBlob=blob)["Plaintext"] == b"shared"
    assert tenant_kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"shared"
    # Key policy without the caller's IAM allow: denied.
    with pytest.raises(ClientError) as exc:
        other_user.client(server).encrypt(KeyId=key["Arn"], Plaintext=b"x")
    assert exc.value.response["Error"]["Code"] == "AccessDeniedException"
    # Only what the key policy names: no DescribeKey for the partner.
    with pytest.raises(ClientError) as exc:
        partner.describe_key(KeyId=key["Arn"])
    assert exc.value.response["Error"]["Code"] == "AccessDeniedException"
