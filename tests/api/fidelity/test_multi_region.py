"""Multi-Region keys through boto3, one server serving two Regions, SQLite and PostgreSQL.

What AWS does, from its documentation and recorded responses (ADR 16 has the model):
related keys share the key id, key material and rotation; each has its own ARN, policy,
aliases, tags and state; a ciphertext made in one Region decrypts in the other.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.fidelity.conftest import FAST_JOBS, OTHER_REGION, wait_for_state
from tests.conftest import BACKENDS
from tests.support.backends import backend_database
from tests.support.server import ACCOUNT_ID, CLOCK_ENV, REGION, CofreServer
from tests.support.wrapping import NEVER, import_into

THIRD_REGION = "ap-southeast-2"
DAY = 24 * 3600


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CofreServer]:
    tmp = tmp_path_factory.mktemp(f"mrk-{request.param}")
    env = {**FAST_JOBS, CLOCK_ENV: str(tmp / "clock-offset")}
    with backend_database(request.param) as url:
        srv = CofreServer(tmp / "data", database=url, env=env).start()
        try:
            yield srv
        finally:
            srv.stop()


@pytest.fixture(scope="module")
def here(server: CofreServer) -> Any:
    return server.client("kms")


@pytest.fixture(scope="module")
def there(server: CofreServer) -> Any:
    return server.client("kms", region_name=OTHER_REGION)


def arn(region: str, key_id: str) -> str:
    return f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/{key_id}"


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def replicated(here: Any, there: Any, **create: Any) -> str:
    """A new multi-Region primary here, replicated there and Enabled (or PendingImport)."""
    key_id = str(here.create_key(MultiRegion=True, **create)["KeyMetadata"]["KeyId"])
    here.replicate_key(KeyId=key_id, ReplicaRegion=OTHER_REGION)
    expected = "PendingImport" if create.get("Origin") == "EXTERNAL" else "Enabled"
    assert wait_for_state(there, key_id, expected)["KeyState"] == expected
    return key_id


def test_create_and_replicate(here: Any, there: Any) -> None:
    created = here.create_key(MultiRegion=True, Description="primary")["KeyMetadata"]
    key_id = created["KeyId"]
    assert key_id.startswith("mrk-") and len(key_id) == 36
    assert created["MultiRegion"] is True
    # SNAP test_create_multi_region_key; CLI create-key.rst Example 6
    assert created["MultiRegionConfiguration"] == {
        "MultiRegionKeyType": "PRIMARY",
        "PrimaryKey": {"Arn": arn(REGION, key_id), "Region": REGION},
        "ReplicaKeys": [],
    }
    assert len(created["CurrentKeyMaterialId"]) == 64

    out = here.replicate_key(KeyId=key_id, ReplicaRegion=OTHER_REGION)
    replica = out["ReplicaKeyMetadata"]
    # SNAP test_replicate_key / replicate-key: Creating, not yet Enabled, no ReplicaTags
    assert "ReplicaTags" not in out
    assert (replica["KeyState"], replica["Enabled"]) == ("Creating", False)
    assert (replica["KeyId"], replica["Arn"]) == (key_id, arn(OTHER_REGION, key_id))
    assert replica["Description"] == ""
    replica_member = {"Arn": arn(OTHER_REGION, key_id), "Region": OTHER_REGION}
    assert replica["MultiRegionConfiguration"] == {
        "MultiRegionKeyType": "REPLICA",
        "PrimaryKey": {"Arn": arn(REGION, key_id), "Region": REGION},
        "ReplicaKeys": [replica_member],
    }
    assert json.loads(out["ReplicaPolicy"])["Id"] == "key-default-1"
    # the primary lists its replica at once (SNAP / describe-key-from-region)
    primary = here.describe_key(KeyId=key_id)["KeyMetadata"]
    assert primary["MultiRegionConfiguration"]["ReplicaKeys"] == [replica_member]
    meta = wait_for_state(there, key_id, "Enabled")
    assert meta["KeyState"] == "Enabled"
    assert meta["CurrentKeyMaterialId"] == primary["CurrentKeyMaterialId"]
    assert key_id in {k["KeyId"] for k in there.list_keys(Limit=1000)["Keys"]}
    # a Region with no related key (SNAP test_replicate_key / describe-key-from-different-region)
    with pytest.raises(ClientError) as exc:
        here.describe_key(KeyId=arn(THIRD_REGION, key_id))
    assert code(exc) == "NotFoundException"


def test_replica_with_tags_description_and_policy(here: Any, there: Any) -> None:
    key_id = here.create_key(MultiRegion=True)["KeyMetadata"]["KeyId"]
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}
            ],
        }
    )
    out = here.replicate_key(
        KeyId=key_id,
        ReplicaRegion=OTHER_REGION,
        Description="replica",
        Policy=policy,
        Tags=[{"TagKey": "team", "TagValue": "eu"}],
    )
    assert out["ReplicaTags"] == [{"TagKey": "team", "TagValue": "eu"}]
    assert out["ReplicaPolicy"] == policy
    assert there.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"] == policy
    assert json.loads(here.get_key_policy(KeyId=key_id)["Policy"])["Id"] == "key-default-1"
    assert there.list_resource_tags(KeyId=key_id)["Tags"] == [{"TagKey": "team", "TagValue": "eu"}]
    assert here.list_resource_tags(KeyId=key_id)["Tags"] == []
    assert there.describe_key(KeyId=key_id)["KeyMetadata"]["Description"] == "replica"


def test_ciphertexts_cross_regions(here: Any, there: Any) -> None:
    key_id = replicated(here, there)
    blob = here.encrypt(KeyId=key_id, Plaintext=b"from us", EncryptionContext={"k": "v"})
    assert blob["CiphertextBlob"][0] == 2  # format 2: a multi-Region key id
    opened = there.decrypt(CiphertextBlob=blob["CiphertextBlob"], EncryptionContext={"k": "v"})
    assert opened["Plaintext"] == b"from us"
    assert opened["KeyId"] == arn(OTHER_REGION, key_id)
    data_key = there.generate_data_key(KeyId=key_id, KeySpec="AES_256")
    assert (
        here.decrypt(CiphertextBlob=data_key["CiphertextBlob"])["Plaintext"]
        == (data_key["Plaintext"])
    )
    moved = there.re_encrypt(CiphertextBlob=blob["CiphertextBlob"], SourceEncryptionContext={
        "k": "v"}, DestinationKeyId=key_id)  # fmt: skip
    assert here.decrypt(CiphertextBlob=moved["CiphertextBlob"])["Plaintext"] == b"from us"


def test_state_aliases_and_tags_are_per_region(here: Any, there: Any) -> None:
    key_id = replicated(here, there)
    there.create_alias(AliasName="alias/eu-only", TargetKeyId=key_id)
    assert there.encrypt(KeyId="alias/eu-only", Plaintext=b"x")["KeyId"].endswith(key_id)
    with pytest.raises(ClientError) as exc:
        here.encrypt(KeyId="alias/eu-only", Plaintext=b"x")
    assert code(exc) == "NotFoundException"
    there.disable_key(KeyId=key_id)
    with pytest.raises(ClientError) as exc:
        there.encrypt(KeyId=key_id, Plaintext=b"x")
    assert code(exc) == "DisabledException"
    assert here.encrypt(KeyId=key_id, Plaintext=b"x")["KeyId"] == arn(REGION, key_id)
    here.tag_resource(KeyId=key_id, Tags=[{"TagKey": "only", "TagValue": "here"}])
    assert there.list_resource_tags(KeyId=key_id)["Tags"] == []
    [alias] = there.list_aliases(KeyId=key_id)["Aliases"]
    assert (alias["AliasName"], alias["TargetKeyId"]) == ("alias/eu-only", key_id)
    grantee = f"arn:aws:iam::{ACCOUNT_ID}:user/app"
    grant_id = there.create_grant(KeyId=key_id, GranteePrincipal=grantee,
                                  Operations=["Encrypt"])["GrantId"]  # fmt: skip
    [grant] = there.list_grants(KeyId=key_id)["Grants"]
    assert (grant["GrantId"], grant["KeyId"]) == (grant_id, arn(OTHER_REGION, key_id))
    assert here.list_grants(KeyId=key_id)["Grants"] == []
    there.retire_grant(KeyId=key_id, GrantId=grant_id)
    assert there.list_grants(KeyId=key_id)["Grants"] == []


def test_rotation_is_shared_and_goes_through_the_primary(here: Any, there: Any) -> None:
    key_id = replicated(here, there)
    old = here.encrypt(KeyId=key_id, Plaintext=b"old")["CiphertextBlob"]
    rotated = here.rotate_key_on_demand(KeyId=key_id)
    assert rotated["KeyId"] == arn(REGION, key_id)
    current = {
        region: kms.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
        for region, kms in ((REGION, here), (OTHER_REGION, there))
    }
    assert current[REGION] == current[OTHER_REGION] != old[17:49].hex()
    new = there.encrypt(KeyId=key_id, Plaintext=b"new")["CiphertextBlob"]
    assert new[17:49].hex() == current[REGION]
    assert here.decrypt(CiphertextBlob=new)["Plaintext"] == b"new"
    assert there.decrypt(CiphertextBlob=old)["Plaintext"] == b"old"
    rotations = there.list_key_rotations(KeyId=key_id)["Rotations"]
    assert [r["RotationType"] for r in rotations] == ["ON_DEMAND"]
    here.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=90)
    status = there.get_key_rotation_status(KeyId=key_id)
    assert (status["KeyRotationEnabled"], status["RotationPeriodInDays"]) == (True, 90)
    with pytest.raises(ClientError) as exc:
        there.disable_key_rotation(KeyId=key_id)
    assert code(exc) == "UnsupportedOperationException"
    with pytest.raises(ClientError) as exc:
        there.rotate_key_on_demand(KeyId=key_id)
    assert code(exc) == "UnsupportedOperationException"


def test_update_primary_region(here: Any, there: Any) -> None:
    key_id = replicated(here, there)
    assert here.update_primary_region(KeyId=key_id, PrimaryRegion=OTHER_REGION)
    # both keys are Updating for a moment; they still encrypt and decrypt meanwhile
    blob = here.encrypt(KeyId=key_id, Plaintext=b"during")["CiphertextBlob"]
    assert there.decrypt(CiphertextBlob=blob)["Plaintext"] == b"during"
    new_primary = wait_for_state(there, key_id, "Enabled")
    assert wait_for_state(here, key_id, "Enabled")["KeyState"] == "Enabled"
    assert new_primary["MultiRegionConfiguration"]["MultiRegionKeyType"] == "PRIMARY"
    old_primary = here.describe_key(KeyId=key_id)["KeyMetadata"]
    assert old_primary["MultiRegionConfiguration"] == {
        "MultiRegionKeyType": "REPLICA",
        "PrimaryKey": {"Arn": arn(OTHER_REGION, key_id), "Region": OTHER_REGION},
        "ReplicaKeys": [{"Arn": arn(REGION, key_id), "Region": REGION}],
    }
    # the new primary replicates; the old one no longer does
    with pytest.raises(ClientError) as exc:
        here.replicate_key(KeyId=key_id, ReplicaRegion=THIRD_REGION)
    assert code(exc) == "UnsupportedOperationException"
    there.replicate_key(KeyId=key_id, ReplicaRegion=THIRD_REGION)
    third = arn(THIRD_REGION, key_id)
    assert third in {
        r["Arn"] for r in here.describe_key(KeyId=key_id)["KeyMetadata"][
            "MultiRegionConfiguration"]["ReplicaKeys"]
    }  # fmt: skip


def test_primary_waits_for_its_replicas_to_be_deleted(
    server: CofreServer, here: Any, there: Any
) -> None:
    """DG multi-region-keys-delete.md: PendingReplicaDeletion, no deletion date until the
    last replica is deleted; then the primary's own waiting period starts (14 days at least
    in all)."""
    key_id = replicated(here, there)
    scheduled = here.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    assert scheduled["KeyState"] == "PendingReplicaDeletion" and "DeletionDate" not in scheduled
    assert scheduled["PendingWindowInDays"] == 7
    meta = here.describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["PendingDeletionWindowInDays"] == 7 and "DeletionDate" not in meta
    with pytest.raises(ClientError) as exc:
        here.encrypt(KeyId=key_id, Plaintext=b"x")
    assert code(exc) == "KMSInvalidStateException"
    assert there.encrypt(KeyId=key_id, Plaintext=b"x")  # the replica is unaffected
    there.schedule_key_deletion(KeyId=key_id, PendingWindowInDays=7)
    with server.clock_offset(8 * DAY):
        meta = wait_for_state(here, key_id, "PendingDeletion")
        assert meta["KeyState"] == "PendingDeletion" and "DeletionDate" in meta
        with pytest.raises(ClientError) as exc:
            there.describe_key(KeyId=key_id)
        assert code(exc) == "NotFoundException"
        assert here.describe_key(KeyId=key_id)["KeyMetadata"]["MultiRegionConfiguration"][
            "ReplicaKeys"] == []  # fmt: skip
    assert here.cancel_key_deletion(KeyId=key_id)["KeyId"] == arn(REGION, key_id)
    assert here.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Disabled"


def test_asymmetric_key_has_one_public_key_everywhere(here: Any, there: Any) -> None:
    key_id = replicated(here, there, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    assert (
        here.get_public_key(KeyId=key_id)["PublicKey"]
        == (there.get_public_key(KeyId=key_id)["PublicKey"])
    )
    signature = here.sign(KeyId=key_id, Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
    verified = there.verify(KeyId=key_id, Message=b"m", Signature=signature["Signature"],
                            SigningAlgorithm="ECDSA_SHA_256")  # fmt: skip
    assert verified["SignatureValid"] is True
    assert "CurrentKeyMaterialId" not in there.describe_key(KeyId=key_id)["KeyMetadata"]


def test_replica_is_created_in_the_audit_trail_of_its_region(
    server: CofreServer, here: Any, there: Any
) -> None:
    key_id = replicated(here, there)
    trail = server.client("cloudtrail", region_name=OTHER_REGION)
    deadline = time.monotonic() + 10
    names: set[str] = set()
    while "CreateKey" not in names and time.monotonic() < deadline:
        events = trail.lookup_events(
            LookupAttributes=[
                {"AttributeKey": "ResourceName", "AttributeValue": arn(OTHER_REGION, key_id)}
            ]
        )["Events"]
        names = {e["EventName"] for e in events}
        time.sleep(0.2)
    assert "CreateKey" in names  # AWS: ReplicateKey here, CreateKey in the replica's Region


def test_with_the_aws_cli(server: CofreServer, tmp_path: Any) -> None:
    """The Developer Guide's CLI steps: create-key --multi-region, replicate-key, and AWS's
    error text for replicating a replica (SNAP test_replicate_replica_key_should_fail)."""

    def cli(region: str, *args: str, check: bool = True) -> Any:
        return server.aws_cli("kms", "--region", region, *args, check=check)

    key_id = json.loads(cli(REGION, "create-key", "--multi-region").stdout)["KeyMetadata"]["KeyId"]
    out = json.loads(
        cli(REGION, "replicate-key", "--key-id", key_id, "--replica-region", OTHER_REGION).stdout
    )
    replica_arn = out["ReplicaKeyMetadata"]["Arn"]
    failed = cli(OTHER_REGION, "replicate-key", "--key-id", key_id, "--replica-region",
                 THIRD_REGION, check=False)  # fmt: skip
    assert failed.returncode != 0
    assert (
        "An error occurred (UnsupportedOperationException) when calling the ReplicateKey"
        f" operation: {replica_arn} is not a multi-region primary key."
    ) in failed.stderr
    described = json.loads(cli(OTHER_REGION, "describe-key", "--key-id", key_id).stdout)
    assert described["KeyMetadata"]["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"


def test_multi_region_condition_keys(here: Any) -> None:
    """kms:ReplicaRegion (ReplicateKey), kms:MultiRegion and kms:MultiRegionKeyType (DG,
    "Condition keys for AWS KMS") in a key policy."""
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "root", "Effect": "Allow",
             "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
             "Action": "kms:*", "Resource": "*"},
            {"Sid": "not-there", "Effect": "Deny", "Principal": {"AWS": "*"},
             "Action": "kms:ReplicateKey", "Resource": "*",
             "Condition": {"StringEquals": {"kms:ReplicaRegion": THIRD_REGION}}},
            {"Sid": "no-mrk-decrypt", "Effect": "Deny", "Principal": {"AWS": "*"},
             "Action": "kms:Decrypt", "Resource": "*",
             "Condition": {"Bool": {"kms:MultiRegion": "true"},
                           "StringEquals": {"kms:MultiRegionKeyType": "PRIMARY"}}},
        ],
    }  # fmt: skip
    key_id = here.create_key(MultiRegion=True, Policy=json.dumps(policy))["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as exc:
        here.replicate_key(KeyId=key_id, ReplicaRegion=THIRD_REGION)
    assert code(exc) == "AccessDeniedException"
    here.replicate_key(KeyId=key_id, ReplicaRegion=OTHER_REGION)
    blob = here.encrypt(KeyId=key_id, Plaintext=b"x")["CiphertextBlob"]
    with pytest.raises(ClientError) as exc:
        here.decrypt(CiphertextBlob=blob)
    assert code(exc) == "AccessDeniedException"


def test_imported_key_material_of_a_multi_region_key(here: Any, there: Any) -> None:
    """MODEL ReplicateKey: a replica of a primary with imported material is created with
    none, and the same material must be imported into it; new material goes into the
    primary only (ImportKeyMaterial)."""
    material = os.urandom(32)
    key_id = here.create_key(MultiRegion=True, Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    imported = import_into(here, key_id, material, "RSAES_OAEP_SHA_256", "RSA_2048",
                           ExpirationModel=NEVER)  # fmt: skip
    here.replicate_key(KeyId=key_id, ReplicaRegion=OTHER_REGION)
    assert wait_for_state(there, key_id, "PendingImport")["KeyState"] == "PendingImport"
    blob = here.encrypt(KeyId=key_id, Plaintext=b"imported")["CiphertextBlob"]
    with pytest.raises(ClientError) as exc:  # other material than the primary's
        import_into(there, key_id, os.urandom(32), "RSAES_OAEP_SHA_256", "RSA_2048",
                    ExpirationModel=NEVER)  # fmt: skip
    assert code(exc) == "IncorrectKeyMaterialException"
    with pytest.raises(ClientError) as exc:
        import_into(there, key_id, material, "RSAES_OAEP_SHA_256", "RSA_2048",
                    ExpirationModel=NEVER, ImportType="NEW_KEY_MATERIAL")  # fmt: skip
    assert code(exc) == "UnsupportedOperationException"
    again = import_into(there, key_id, material, "RSAES_OAEP_SHA_256", "RSA_2048",
                        ExpirationModel=NEVER)  # fmt: skip
    assert again["KeyMaterialId"] == imported["KeyMaterialId"]  # one material, one id
    meta = there.describe_key(KeyId=key_id)["KeyMetadata"]
    assert (meta["KeyState"], meta["CurrentKeyMaterialId"]) == ("Enabled", again["KeyMaterialId"])
    assert there.decrypt(CiphertextBlob=blob)["Plaintext"] == b"imported"
