"""A server per backend for the fidelity tests, and the keys the cases name.

The background jobs run every 0.2 s here, so that a new multi-Region replica leaves its
Creating state at once (AWS: "after a few seconds").
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.conftest import BACKENDS
from tests.support.backends import backend_database
from tests.support.server import ACCOUNT_ID, REGION, CofreServer

OTHER_REGION = "eu-west-1"
FAST_JOBS = {"COFRE_JOB_INTERVAL": "0.2"}


@pytest.fixture(scope="module", params=BACKENDS)
def fast_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[CofreServer]:
    """A server whose background jobs run every 0.2 s, on each backend."""
    tmp = tmp_path_factory.mktemp(f"fidelity-{request.param}")
    with backend_database(request.param) as url:
        server = CofreServer(tmp / "data", database=url, env=dict(FAST_JOBS)).start()
        try:
            yield server
        finally:
            server.stop()


def wait_for_state(kms: Any, key_id: str, state: str, timeout: float = 10.0) -> dict[str, Any]:
    """DescribeKey until the key is in ``state`` (a replica leaves Creating by itself)."""
    deadline = time.monotonic() + timeout
    while True:
        meta: dict[str, Any] = kms.describe_key(KeyId=key_id)["KeyMetadata"]
        if meta["KeyState"] == state or time.monotonic() > deadline:
            return meta
        time.sleep(0.1)


@dataclass
class World:
    """The keys and values the cases name: ``{name}`` and ``{name.arn}``."""

    keys: dict[str, tuple[str, str]] = field(default_factory=dict)  # name -> (id, arn)
    values: dict[str, Any] = field(default_factory=dict)

    def add_key(self, name: str, meta: dict[str, Any]) -> str:
        self.keys[name] = (meta["KeyId"], meta["Arn"])
        return str(meta["KeyId"])

    def text(self, template: str) -> str:
        names: dict[str, Any] = {k: v for k, v in self.values.items() if isinstance(v, str)}
        for name, (key_id, arn) in self.keys.items():
            names[name] = key_id
            names[f"{name}.arn"] = arn
        out = template
        for name, value in names.items():
            out = out.replace("{" + name + "}", value)
        return out

    def value(self, raw: Any) -> Any:
        """A case's parameter with the world's names filled in."""
        if isinstance(raw, str):
            if raw.startswith("{") and raw.endswith("}") and raw[1:-1] in self.values:
                return self.values[raw[1:-1]]
            return self.text(raw)
        if isinstance(raw, dict):
            return {k: self.value(v) for k, v in raw.items()}
        if isinstance(raw, list):
            return [self.value(v) for v in raw]
        return raw


def build_world(server: CofreServer) -> World:
    kms = server.client("kms")
    world = World()
    arn_prefix = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/"
    world.values.update(
        region=REGION,
        other_region=OTHER_REGION,
        arn_prefix=arn_prefix,
        alias_arn=f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:alias/sym",
        missing_alias_arn=f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:alias/missing",
        message=b"the message",
        plaintext_4097=b"x" * 4097,
        plaintext_1176=b"x" * 1176,
        bad_signature=b"\x30\x06\x02\x01\x01\x02\x01\x01",
        bad_mac=b"\x00" * 32,
    )

    def create(name: str, **params: Any) -> str:
        return world.add_key(name, kms.create_key(**params)["KeyMetadata"])

    sym = create("sym")
    kms.create_alias(AliasName="alias/sym", TargetKeyId=sym)
    create("rsa_sign", KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")
    create("rsa_enc", KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")
    create("ecc_sign", KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    create("hmac224", KeySpec="HMAC_224", KeyUsage="GENERATE_VERIFY_MAC")
    create("hmac256", KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    kms.disable_key(KeyId=create("disabled"))
    kms.schedule_key_deletion(KeyId=create("doomed"), PendingWindowInDays=7)
    external = create("external", Origin="EXTERNAL")
    world.values["import_token"] = kms.get_parameters_for_import(
        KeyId=external, WrappingAlgorithm="RSAES_OAEP_SHA_256", WrappingKeySpec="RSA_2048"
    )["ImportToken"]
    blob = kms.encrypt(KeyId=sym, Plaintext=b"secret", EncryptionContext={"a": "b"})
    world.values["sym_blob"] = blob["CiphertextBlob"]
    world.values["sym_blob_truncated"] = blob["CiphertextBlob"][:-1]
    world.values["sym_blob_appended"] = blob["CiphertextBlob"] + b"bad_data"
    peer = ec.generate_private_key(ec.SECP256R1()).public_key()
    world.values["peer_public"] = peer.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    there = server.client("kms", region_name=OTHER_REGION)
    world.add_key("elsewhere", there.create_key()["KeyMetadata"])
    mrk = create("mrk", MultiRegion=True)
    replica = kms.replicate_key(KeyId=mrk, ReplicaRegion=OTHER_REGION)["ReplicaKeyMetadata"]
    world.add_key("replica", replica)
    wait_for_state(there, replica["KeyId"], "Enabled")
    ssm = server.client("ssm")
    ssm.put_parameter(Name="/fidelity/exists", Value="v", Type="String")
    return world
