"""``cofre encrypt`` / ``cofre decrypt`` with AWS KMS wrapping keys against a real server."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import aws_encryption_sdk
import botocore.session
import pytest
from aws_encryption_sdk.identifiers import CommitmentPolicy

from tests.esdk.test_cli import cofre
from tests.support.server import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, CofreServer


@pytest.fixture
def aws_env(server: CofreServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Credentials and endpoint for the subprocess and for the official SDK in-process."""
    env = {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_MAX_ATTEMPTS": "1",
        "AWS_ENDPOINT_URL_KMS": server.url,
    }
    if server.tls_cafile is not None:
        env["AWS_CA_BUNDLE"] = str(server.tls_cafile)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return env


def test_kms_wrapping_keys_and_official_interop(
    tmp_path: Path, kms: Any, aws_env: dict[str, str], server: CofreServer
) -> None:
    arn = str(kms.create_key(Description="cli")["KeyMetadata"]["Arn"])
    kms.create_alias(AliasName="alias/cofre-cli", TargetKeyId=arn)
    plain = tmp_path / "doc.txt"
    plain.write_bytes(os.urandom(20_000))
    meta = tmp_path / "meta.jsonl"

    # an alias encrypts (the EDK records the key ARN); --endpoint-url instead of the variable
    env = {**aws_env, "AWS_ENDPOINT_URL_KMS": ""}
    result = cofre("encrypt", "-i", str(plain), "-o", str(tmp_path), "-w", "key=alias/cofre-cli",
                   f"region={REGION}", "--endpoint-url", server.url, "-c", "purpose=kms",
                   "--metadata-output", str(meta), env=env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    encrypted = tmp_path / "doc.txt.encrypted"
    [edk] = json.loads(meta.read_text())["header"]["encrypted_data_keys"]
    assert edk["key_provider"]["provider_id"] == "YXdzLWttcw=="  # base64 of aws-kms

    for wrapping in (f"key={arn}", "discovery=true"):
        out = tmp_path / f"out-{wrapping[:3]}"
        result = cofre("decrypt", "-i", str(encrypted), "-o", str(out), "-w", wrapping,
                       "-c", "purpose=kms", "-S", env=aws_env)  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert out.read_bytes() == plain.read_bytes()

    provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(
        key_ids=[arn], botocore_session=botocore.session.Session()
    )
    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    )
    assert client.decrypt(source=encrypted.read_bytes(), key_provider=provider)[0] == (
        plain.read_bytes()
    )
    theirs = tmp_path / "theirs.encrypted"
    theirs.write_bytes(client.encrypt(source=b"official", key_provider=provider)[0])
    result = cofre("decrypt", "-i", str(theirs), "-o", "-", "-w", f"key={arn}", "-S", env=aws_env)
    assert (result.returncode, result.stdout) == (0, b"official")


def test_kms_errors_are_one_line(tmp_path: Path, aws_env: dict[str, str]) -> None:
    plain = tmp_path / "p"
    plain.write_bytes(b"x")
    missing = f"arn:aws:kms:{REGION}:111122223333:key/00000000-0000-0000-0000-000000000000"
    result = cofre("encrypt", "-i", str(plain), "-o", str(tmp_path / "o"), "-w", f"key={missing}",
                   "-S", env=aws_env)  # fmt: skip
    assert result.returncode == 1
    assert result.stderr.startswith(b"cofre encrypt: ") and result.stderr.count(b"\n") == 1
    assert b"GenerateDataKey failed" in result.stderr
    assert not (tmp_path / "o").exists()
    result = cofre("decrypt", "-i", str(plain), "-o", "-", "-w", "region=us-east-1", "-S",
                   env=aws_env)  # fmt: skip
    assert result.returncode == 2 and b"discovery=true" in result.stderr
