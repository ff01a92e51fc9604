"""Key lifecycle over the wire: boto3 against a real server, SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.server import ACCOUNT_ID, REGION


def error_code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_create_key_defaults(kms: Any) -> None:
    meta = kms.create_key()["KeyMetadata"]
    assert meta["AWSAccountId"] == ACCOUNT_ID
    assert meta["Arn"] == f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/{meta['KeyId']}"
    assert meta["KeyState"] == "Enabled" and meta["Enabled"] is True
    assert meta["KeyUsage"] == "ENCRYPT_DECRYPT"
    assert meta["KeySpec"] == meta["CustomerMasterKeySpec"] == "SYMMETRIC_DEFAULT"
    assert meta["EncryptionAlgorithms"] == ["SYMMETRIC_DEFAULT"]
    assert meta["KeyManager"] == "CUSTOMER" and meta["Origin"] == "AWS_KMS"
    assert len(meta["CurrentKeyMaterialId"]) == 64
    assert meta["Description"] == ""


def test_describe_key_by_every_name(kms: Any, key_id: str) -> None:
    arn = kms.describe_key(KeyId=key_id)["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName=f"alias/by-name-{key_id[:8]}", TargetKeyId=key_id)
    alias_arn = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:alias/by-name-{key_id[:8]}"
    for name in (key_id, arn, f"alias/by-name-{key_id[:8]}", alias_arn):
        assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == key_id


@pytest.mark.parametrize(
    ("key_ref", "message"),
    [
        ("not-a-key", "Invalid keyId 'not-a-key'"),
        ("00000000-0000-4000-8000-000000000000", "does not exist"),
        ("alias/missing", "is not found"),
        (
            f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/00000000-0000-4000-8000-000000000000",
            "does not exist",
        ),
    ],
)
def test_describe_unknown_key(kms: Any, key_ref: str, message: str) -> None:
    with pytest.raises(ClientError) as exc:
        kms.describe_key(KeyId=key_ref)
    assert error_code(exc) == "NotFoundException"
    assert message in exc.value.response["Error"]["Message"]


def test_create_key_with_tags_description_and_policy(kms: Any) -> None:
    policy = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow",'
        '"Principal":{"AWS":"*"},"Action":"kms:*","Resource":"*"}]}'
    )
    meta = kms.create_key(
        Description="with tags", Policy=policy, Tags=[{"TagKey": "team", "TagValue": "core"}]
    )["KeyMetadata"]
    assert meta["Description"] == "with tags"
    tags = kms.list_resource_tags(KeyId=meta["KeyId"])["Tags"]
    assert tags == [{"TagKey": "team", "TagValue": "core"}]
    assert kms.get_key_policy(KeyId=meta["KeyId"], PolicyName="default")["Policy"] == policy


def test_default_key_policy_delegates_to_iam(kms: Any, key_id: str) -> None:
    import json

    policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
    assert policy["Id"] == "key-default-1"
    statement = policy["Statement"][0]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"}
    assert statement["Action"] == "kms:*"
    assert kms.list_key_policies(KeyId=key_id)["PolicyNames"] == ["default"]


def test_list_keys_paginates(kms: Any) -> None:
    created = {kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(5)}
    seen: list[str] = []
    marker = None
    while True:
        kwargs = {"Limit": 2} | ({"Marker": marker} if marker else {})
        page = kms.list_keys(**kwargs)
        assert len(page["Keys"]) <= 2
        seen += [k["KeyId"] for k in page["Keys"]]
        if not page["Truncated"]:
            break
        marker = page["NextMarker"]
    assert created <= set(seen)
    assert len(seen) == len(set(seen))
    with pytest.raises(ClientError) as exc:
        kms.list_keys(Marker="bm90LWEtbWFya2Vy")
    assert error_code(exc) == "InvalidMarkerException"


def test_enable_disable_and_description(kms: Any, key_id: str) -> None:
    kms.disable_key(KeyId=key_id)
    meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["KeyState"] == "Disabled" and meta["Enabled"] is False
    with pytest.raises(ClientError) as exc:
        kms.encrypt(KeyId=key_id, Plaintext=b"x")
    assert error_code(exc) == "DisabledException"
    assert exc.value.response["Error"]["Message"].endswith("is disabled.")
    kms.update_key_description(KeyId=key_id, Description="renamed")
    kms.enable_key(KeyId=key_id)
    meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["KeyState"] == "Enabled" and meta["Description"] == "renamed"
    kms.encrypt(KeyId=key_id, Plaintext=b"x")


def test_schedule_and_cancel_deletion(kms: Any, raw_kms: Any, key_id: str) -> None:
    with pytest.raises(ClientError) as exc:
        kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=6)
    assert error_code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        raw_kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=31)
    assert error_code(exc) == "ValidationException"
    out = kms.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert out["KeyState"] == "PendingDeletion" and out["PendingWindowInDays"] == 7
    meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["KeyState"] == "PendingDeletion" and meta["PendingDeletionWindowInDays"] == 7
    assert "DeletionDate" in meta
    for call in (
        lambda: kms.encrypt(KeyId=key_id, Plaintext=b"x"),
        lambda: kms.enable_key(KeyId=key_id),
        lambda: kms.schedule_key_deletion(KeyId=key_id),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_code(exc) == "KMSInvalidStateException"
        assert "is pending deletion" in exc.value.response["Error"]["Message"]
    kms.cancel_key_deletion(KeyId=key_id)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"
    with pytest.raises(ClientError) as exc:
        kms.cancel_key_deletion(KeyId=key_id)
    assert error_code(exc) == "KMSInvalidStateException"


def test_aliases(kms: Any, key_id: str) -> None:
    other = kms.create_key()["KeyMetadata"]["KeyId"]
    name = f"alias/app-{key_id[:8]}"
    kms.create_alias(AliasName=name, TargetKeyId=key_id)
    with pytest.raises(ClientError) as exc:
        kms.create_alias(AliasName=name, TargetKeyId=other)
    assert error_code(exc) == "AlreadyExistsException"
    listed = kms.list_aliases(KeyId=key_id)["Aliases"]
    assert [a["AliasName"] for a in listed] == [name]
    assert listed[0]["AliasArn"] == f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:{name}"
    kms.update_alias(AliasName=name, TargetKeyId=other)
    assert kms.describe_key(KeyId=name)["KeyMetadata"]["KeyId"] == other
    kms.delete_alias(AliasName=name)
    with pytest.raises(ClientError) as exc:
        kms.describe_key(KeyId=name)
    assert error_code(exc) == "NotFoundException"
    with pytest.raises(ClientError) as exc:
        kms.delete_alias(AliasName=name)
    assert error_code(exc) == "NotFoundException"


@pytest.mark.parametrize(
    ("alias", "code"),
    [
        ("no-prefix", "ValidationException"),
        ("alias/aws/mine", "NotAuthorizedException"),
        ("alias/bad name", "ValidationException"),
    ],
)
def test_alias_name_rules(kms: Any, key_id: str, alias: str, code: str) -> None:
    with pytest.raises(ClientError) as exc:
        kms.create_alias(AliasName=alias, TargetKeyId=key_id)
    assert error_code(exc) == code


def test_list_keys_pages_hold_100_keys_by_default(kms: Any) -> None:
    """AWS: "If you do not include a value, it defaults to 100." """
    while len(kms.list_keys(Limit=1000)["Keys"]) <= 100:
        kms.create_key(Description="one more for the default page")
    page = kms.list_keys()
    assert len(page["Keys"]) == 100 and page["Truncated"] is True
    rest = kms.list_keys(Marker=page["NextMarker"], Limit=1000)["Keys"]
    assert {k["KeyId"] for k in page["Keys"]}.isdisjoint(k["KeyId"] for k in rest) and rest


def test_list_aliases_paginates(kms: Any, key_id: str) -> None:
    names = {f"alias/page-{key_id[:8]}-{i}" for i in range(5)}
    for name in names:
        kms.create_alias(AliasName=name, TargetKeyId=key_id)
    seen: list[str] = []
    paginator = kms.get_paginator("list_aliases")
    for page in paginator.paginate(KeyId=key_id, PaginationConfig={"PageSize": 2}):
        seen += [a["AliasName"] for a in page["Aliases"]]
    assert set(seen) == names and len(seen) == 5


def test_aws_managed_key_created_on_first_use(kms: Any) -> None:
    meta = kms.describe_key(KeyId="alias/aws/ssm")["KeyMetadata"]
    assert meta["KeyManager"] == "AWS"
    assert (
        meta["Description"]
        == "Default key that protects my SSM parameters when no other key is defined"
    )
    again = kms.describe_key(KeyId="alias/aws/ssm")["KeyMetadata"]
    assert again["KeyId"] == meta["KeyId"]
    assert kms.get_key_rotation_status(KeyId=meta["KeyId"])["KeyRotationEnabled"] is True
    for call in (
        lambda: kms.disable_key(KeyId=meta["KeyId"]),
        lambda: kms.schedule_key_deletion(KeyId=meta["KeyId"]),
        lambda: kms.encrypt(KeyId="alias/aws/ssm", Plaintext=b"x"),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert error_code(exc) == "AccessDeniedException"
    with pytest.raises(ClientError) as exc:
        kms.delete_alias(AliasName="alias/aws/ssm")
    assert error_code(exc) == "NotAuthorizedException"


def test_tags(kms: Any, key_id: str) -> None:
    kms.tag_resource(
        KeyId=key_id, Tags=[{"TagKey": "a", "TagValue": "1"}, {"TagKey": "b", "TagValue": "2"}]
    )
    kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "a", "TagValue": "3"}])
    kms.untag_resource(KeyId=key_id, TagKeys=["b"])
    assert kms.list_resource_tags(KeyId=key_id)["Tags"] == [{"TagKey": "a", "TagValue": "3"}]
    with pytest.raises(ClientError) as exc:
        kms.tag_resource(KeyId=key_id, Tags=[{"TagKey": "aws:reserved", "TagValue": "x"}])
    assert error_code(exc) == "TagException"
    too_many = [{"TagKey": f"k{i}", "TagValue": "v"} for i in range(50)]
    with pytest.raises(ClientError) as exc:
        kms.tag_resource(KeyId=key_id, Tags=too_many)
    assert error_code(exc) == "TagException"  # AWS: "Too many tags"


def test_rotation(kms: Any, raw_kms: Any, key_id: str) -> None:
    status = kms.get_key_rotation_status(KeyId=key_id)
    assert status["KeyRotationEnabled"] is False
    with pytest.raises(ClientError) as exc:
        raw_kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=89)
    assert error_code(exc) == "ValidationException"
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    status = kms.get_key_rotation_status(KeyId=key_id)
    assert status["KeyRotationEnabled"] is True and status["RotationPeriodInDays"] == 90
    assert "NextRotationDate" in status
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"before rotation")["CiphertextBlob"]
    before = kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
    kms.rotate_key_on_demand(KeyId=key_id)
    after = kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
    assert before != after
    rotations = kms.list_key_rotations(KeyId=key_id)["Rotations"]
    assert [r["RotationType"] for r in rotations] == ["ON_DEMAND"]
    assert rotations[0]["KeyMaterialId"] == after
    everything = kms.list_key_rotations(KeyId=key_id, IncludeKeyMaterial="ALL_KEY_MATERIAL")
    assert {r["KeyMaterialId"] for r in everything["Rotations"]} == {before, after}
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"before rotation"
    kms.disable_key_rotation(KeyId=key_id)
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is False
    kms.disable_key(KeyId=key_id)
    with pytest.raises(ClientError) as exc:
        kms.enable_key_rotation(KeyId=key_id)
    assert error_code(exc) == "DisabledException"


def test_operations_reject_aliases_where_aws_does(kms: Any, key_id: str) -> None:
    kms.create_alias(AliasName=f"alias/mgmt-{key_id[:8]}", TargetKeyId=key_id)
    with pytest.raises(ClientError) as exc:
        kms.disable_key(KeyId=f"alias/mgmt-{key_id[:8]}")
    assert error_code(exc) == "NotFoundException"


def test_other_region_does_not_see_keys(server: Any, key_id: str) -> None:
    west = server.client("kms", region_name="eu-west-1")
    with pytest.raises(ClientError) as exc:
        west.describe_key(KeyId=key_id)
    assert error_code(exc) == "NotFoundException"
    assert key_id not in {k["KeyId"] for k in west.list_keys()["Keys"]}


def test_operations_not_yet_served_say_so(kms: Any, key_id: str) -> None:
    with pytest.raises(ClientError) as exc:
        kms.decapsulate(
            KeyId=key_id, SharedSecretCiphertextBlob=b"x" * 32, EncapsulationAlgorithm="ML_KEM"
        )
    assert error_code(exc) == "UnsupportedOperationException"
    assert "Decapsulate" in exc.value.response["Error"]["Message"]
