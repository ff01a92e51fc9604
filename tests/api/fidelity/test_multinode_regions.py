"""A multi-Region key replicated between Regions served by two nodes on one PostgreSQL
database: node A serves us-east-1 only (``--regions us-east-1``), node B eu-west-1 only.
Driven with the AWS CLI, as the Developer Guide's examples do, and boto3.

The replica set lives in the shared database: what A replicates, B serves; a ciphertext
made on A decrypts on B; a rotation made on A reaches B's cache through the change feed.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.api.fidelity.conftest import FAST_JOBS, OTHER_REGION
from tests.conftest import require_postgres
from tests.support.server import REGION, CofreServer, postgres_database, random_root_key

PROPAGATION_LIMIT = 1.0  # seconds, as for every cached change (test_multinode.py)


@pytest.fixture(scope="module")
def nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CofreServer, CofreServer]]:
    require_postgres()
    tmp = tmp_path_factory.mktemp("regions")
    root_key = random_root_key()
    with postgres_database() as url:
        a = CofreServer(tmp / "a" / "data", database=url, root_key=root_key,
                        extra_args=("--regions", REGION), env=dict(FAST_JOBS)).start()  # fmt: skip
        try:
            b = CofreServer(tmp / "b" / "data", database=url, root_key=root_key,
                            extra_args=("--regions", OTHER_REGION),
                            env=dict(FAST_JOBS)).start()  # fmt: skip
            try:
                yield a, b
            finally:
                b.stop()
        finally:
            a.stop()


def cli(node: CofreServer, region: str, *args: str) -> dict[str, Any]:
    done = node.aws_cli("kms", "--region", region, *args)
    return dict(json.loads(done.stdout or "{}"))


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_each_node_serves_its_own_region(nodes: tuple[CofreServer, CofreServer]) -> None:
    a, b = nodes
    with pytest.raises(ClientError) as exc:
        a.client("kms", region_name=OTHER_REGION).list_keys()
    assert code(exc) == "UnrecognizedClientException"
    with pytest.raises(ClientError) as exc:
        b.client("kms", region_name=REGION).list_keys()
    assert code(exc) == "UnrecognizedClientException"


def test_replica_on_the_other_node(nodes: tuple[CofreServer, CofreServer], tmp_path: Path) -> None:
    a, b = nodes
    key_id = cli(a, REGION, "create-key", "--multi-region", "--description", "primary")[
        "KeyMetadata"]["KeyId"]  # fmt: skip
    assert key_id.startswith("mrk-")
    replica = cli(a, REGION, "replicate-key", "--key-id", key_id,
                  "--replica-region", OTHER_REGION)["ReplicaKeyMetadata"]  # fmt: skip
    assert replica["KeyState"] == "Creating"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        meta = cli(b, OTHER_REGION, "describe-key", "--key-id", key_id)["KeyMetadata"]
        if meta["KeyState"] == "Enabled":
            break
        time.sleep(0.2)
    assert meta["KeyState"] == "Enabled"
    assert meta["MultiRegionConfiguration"]["PrimaryKey"]["Region"] == REGION

    # encrypt on A (us-east-1), decrypt on B (eu-west-1), with the CLI
    (tmp_path / "plain.txt").write_bytes(b"crosses regions")
    plain, blob_file = tmp_path / "plain.txt", tmp_path / "blob.bin"
    sealed = cli(a, REGION, "encrypt", "--key-id", key_id, "--plaintext",
                 f"fileb://{plain}", "--encryption-context", "app=demo")  # fmt: skip
    blob_file.write_bytes(base64.b64decode(sealed["CiphertextBlob"]))
    opened = cli(b, OTHER_REGION, "decrypt", "--ciphertext-blob",
                 f"fileb://{blob_file}", "--encryption-context", "app=demo")  # fmt: skip
    assert base64.b64decode(opened["Plaintext"]) == b"crosses regions"
    assert opened["KeyId"] == replica["Arn"]

    # a rotation on A reaches B's cache within the propagation limit
    kms_a = a.client("kms")
    kms_b = b.client("kms", region_name=OTHER_REGION)
    assert kms_b.encrypt(KeyId=key_id, Plaintext=b"warm")  # B caches the key
    kms_a.rotate_key_on_demand(KeyId=key_id)
    started = time.monotonic()
    new = kms_a.describe_key(KeyId=key_id)["KeyMetadata"]["CurrentKeyMaterialId"]
    blob = b""
    while time.monotonic() - started < 3:
        blob = kms_b.encrypt(KeyId=key_id, Plaintext=b"after")["CiphertextBlob"]
        if blob[17:49].hex() == new:
            break
        time.sleep(0.05)
    delay = time.monotonic() - started
    print(f"\npropagation of a multi-Region rotation (A -> B): {delay * 1000:.0f} ms")
    assert blob[17:49].hex() == new and delay <= PROPAGATION_LIMIT
    assert kms_a.decrypt(CiphertextBlob=blob)["Plaintext"] == b"after"

    # per Region: B's replica disabled, A's primary still works
    kms_b.disable_key(KeyId=key_id)
    assert kms_a.encrypt(KeyId=key_id, Plaintext=b"still")["KeyId"].endswith(key_id)
    kms_b.enable_key(KeyId=key_id)

    # the primary moves to B's Region; B then replicates it
    cli(a, REGION, "update-primary-region", "--key-id", key_id, "--primary-region", OTHER_REGION)
    deadline = time.monotonic() + 10
    while kms_b.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] != "Enabled":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    config = kms_a.describe_key(KeyId=key_id)["KeyMetadata"]["MultiRegionConfiguration"]
    assert (config["MultiRegionKeyType"], config["PrimaryKey"]["Region"]) == (
        "REPLICA", OTHER_REGION)  # fmt: skip
    out = kms_b.replicate_key(KeyId=key_id, ReplicaRegion="ap-southeast-2")
    assert out["ReplicaKeyMetadata"]["MultiRegionConfiguration"]["PrimaryKey"]["Region"] == (
        OTHER_REGION
    )
