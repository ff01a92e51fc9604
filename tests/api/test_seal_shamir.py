"""The shamir seal with real processes: init prints the unseal keys once and stores
nothing that rebuilds them; the server starts sealed (health 503, every call a retryable
503 that says so); unseal key by key (below the threshold it stays sealed, a wrong key is
refused and not counted); restart seals it again; old ciphertexts decrypt; the operator
seals a running node; seal and unseal are audit events; rekey and rotate-root; and a
byte scan of the store and the log finds no key in the clear."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError

from tests.support.seals import admin_env, operator, recover_shamir_keys, scan, status, unseal
from tests.support.server import ACCESS_KEY_ID, SECRET_ACCESS_KEY, CofreServer


def _code(error: ClientError) -> tuple[str, int]:
    return error.response["Error"]["Code"], error.response["ResponseMetadata"]["HTTPStatusCode"]


def _flip(share: str) -> str:
    raw = bytearray(base64.b64decode(share))
    raw[20] ^= 0x01  # inside y: the checksum catches it
    return base64.b64encode(bytes(raw)).decode()


@pytest.fixture
def shamir_store(tmp_path: Path) -> tuple[Path, list[str]]:
    data_dir = tmp_path / "data"
    done = operator("init", "--data-dir", str(data_dir), "--key-shares", "5",
                    "--key-threshold", "3")  # fmt: skip
    out = json.loads(done.stdout)
    assert out["threshold"] == 3 and len(out["unseal_keys"]) == 5
    assert not (data_dir / "root.key").exists()  # nothing rebuilds the root key
    return data_dir, out["unseal_keys"]


def _server(data_dir: Path) -> CofreServer:
    return CofreServer(data_dir, root_key="", env={}).start(probe="/health/live")


def test_a_shamir_store_starts_sealed_and_unseals_with_a_quorum(
    shamir_store: tuple[Path, list[str]],
) -> None:
    data_dir, shares = shamir_store
    server = _server(data_dir)
    try:
        health = httpx.get(f"{server.url}/health", timeout=30)
        assert health.status_code == 503 and health.json()["sealed"] is True
        assert status(server) == {"type": "shamir", "sealed": True, "threshold": 3,
                                  "shares": 5, "progress": 0}  # fmt: skip
        kms = server.client("kms")
        with pytest.raises(ClientError) as caught:
            kms.list_keys()
        assert _code(caught.value) == ("DependencyTimeoutException", 503)
        assert "sealed" in caught.value.response["Error"]["Message"]
        ssm = server.client("ssm")
        with pytest.raises(ClientError) as caught:
            ssm.get_parameter(Name="/x")
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503

        assert unseal(server, shares[0]) == {"sealed": True, "progress": 1, "threshold": 3}
        refused = operator("unseal", "--endpoint-url", server.url,
                           stdin=_flip(shares[1]) + "\n", check=False)  # fmt: skip
        assert refused.returncode != 0 and "checksum" in refused.stderr
        assert status(server)["progress"] == 1  # a refused key is not counted
        again = operator("unseal", "--endpoint-url", server.url, stdin=shares[0] + "\n",
                         check=False)  # fmt: skip
        assert again.returncode != 0 and "given already" in again.stderr
        assert unseal(server, shares[1]) == {"sealed": True, "progress": 2, "threshold": 3}
        assert unseal(server, shares[4]) == {"sealed": False, "progress": 0, "threshold": 3}
        assert httpx.get(f"{server.url}/health", timeout=30).status_code == 200

        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        blob = kms.encrypt(KeyId=key_id, Plaintext=b"under shamir")["CiphertextBlob"]
        data_key = kms.generate_data_key(KeyId=key_id, KeySpec="AES_256")
        server.stop()

        server = _server(data_dir)  # a restart: sealed again
        assert status(server)["sealed"] is True
        for share in shares[2:5]:
            unseal(server, share)
        assert kms_of(server).decrypt(CiphertextBlob=blob)["Plaintext"] == b"under shamir"

        env = _signing_env()
        sealed = json.loads(operator("seal", "--endpoint-url", server.url, env=env).stdout)
        assert sealed["sealed"] is True
        with pytest.raises(ClientError) as caught:
            kms_of(server).decrypt(CiphertextBlob=blob)
        assert _code(caught.value)[1] == 503
        for share in shares[:3]:
            unseal(server, share)
        events = _event_names(server)
        assert {"Unseal", "Seal"} <= set(events)
        failed = [e for e in _events(server) if e["eventName"] == "Unseal" and "errorCode" in e]
        assert failed and all("requestParameters" not in e or e["requestParameters"] is None
                              for e in failed)  # fmt: skip

        keys = recover_shamir_keys(data_dir, None, shares[:3])
        server.stop()
        secrets = {"unseal key": keys.unseal_key, "root key": keys.root,
                   "keyring key": keys.keyring, "data key": data_key["Plaintext"]}  # fmt: skip
        found = scan([data_dir, server.log], secrets)
        assert found == [], found
        for share in shares:
            assert scan([data_dir, server.log], {"share": base64.b64decode(share)}) == []
    finally:
        server.stop()


def test_rekey_issues_new_unseal_keys_and_retires_the_old(
    shamir_store: tuple[Path, list[str]],
) -> None:
    data_dir, shares = shamir_store
    done = operator("rekey", "--data-dir", str(data_dir), "--key-shares", "3",
                    "--key-threshold", "2", stdin="\n".join(shares[1:4]) + "\n")  # fmt: skip
    new = json.loads(done.stdout)
    assert new["threshold"] == 2 and len(new["unseal_keys"]) == 3
    too_few = operator("rekey", "--data-dir", str(data_dir), "--key-shares", "3",
                       "--key-threshold", "2", stdin=new["unseal_keys"][0] + "\n",
                       check=False)  # fmt: skip
    assert too_few.returncode != 0 and "needs 2" in too_few.stderr
    server = _server(data_dir)
    try:
        old = operator("unseal", "--endpoint-url", server.url, stdin=shares[0] + "\n",
                       check=False)  # fmt: skip
        assert old.returncode != 0 and "another set" in old.stderr
        assert unseal(server, new["unseal_keys"][2])["progress"] == 1
        assert unseal(server, new["unseal_keys"][0])["sealed"] is False
        assert "Keys" in kms_of(server).list_keys()
    finally:
        server.stop()


def test_rotate_root_rewraps_the_keyring_only(shamir_store: tuple[Path, list[str]]) -> None:
    data_dir, shares = shamir_store
    server = _server(data_dir)
    try:
        for share in shares[:3]:
            unseal(server, share)
        kms = kms_of(server)
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        blob = kms.encrypt(KeyId=key_id, Plaintext=b"before rotation")["CiphertextBlob"]
        before = recover_shamir_keys(data_dir, None, shares[:3])
        env = _signing_env()
        rotated = json.loads(operator("rotate-root", "--endpoint-url", server.url, env=env).stdout)
        assert rotated["sealed"] is False
        after = recover_shamir_keys(data_dir, None, shares[2:5])
        assert after.root != before.root  # new root key material
        assert after.keyring == before.keyring and after.unseal_key == before.unseal_key
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"before rotation"
        server.stop()
        server = _server(data_dir)
        for share in shares[1:4]:
            unseal(server, share)
        assert kms_of(server).decrypt(CiphertextBlob=blob)["Plaintext"] == b"before rotation"
    finally:
        server.stop()


def kms_of(server: CofreServer) -> Any:
    return server.client("kms")


def _signing_env() -> dict[str, str]:
    """The bootstrap admin's credentials, for the signed operator commands."""
    return admin_env(AWS_ACCESS_KEY_ID=ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET_ACCESS_KEY,
                     AWS_DEFAULT_REGION="us-east-1")  # fmt: skip


def _events(server: CofreServer) -> list[dict[str, Any]]:
    trail = server.client("cloudtrail")
    events: list[dict[str, Any]] = []
    for page in trail.get_paginator("lookup_events").paginate():
        events += [json.loads(e["CloudTrailEvent"]) for e in page["Events"]]
    return events


def _event_names(server: CofreServer) -> list[str]:
    return [e["eventName"] for e in _events(server)]
