"""SecureString through Cofre's own KMS, on SQLite and PostgreSQL: the AWS managed key
alias/aws/ssm, customer keys, the PARAMETER_ARN encryption context (the stored Standard-tier
ciphertext opens with ``kms decrypt``), the Advanced-tier envelope, the KMS permissions a
caller needs, disabled keys, and no plaintext at rest or in the log."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import pytest

from cofre.core.params.envelope import parse_envelope
from tests.api.test_secrets_at_rest import assert_nothing_found, storage_contents
from tests.support.iam import allow, make_user
from tests.support.server import CofreServer
from tests.support.ssm import arn, fails, unique_path


@pytest.fixture
def ssm(server: CofreServer) -> Any:
    return server.client("ssm")


def stored(ssm: Any, name: str) -> bytes:
    """What the database holds for the current version: WithDecryption=false gives it."""
    return base64.b64decode(ssm.get_parameter(Name=name)["Parameter"]["Value"])


def test_default_key_is_the_aws_managed_alias_aws_ssm(ssm: Any, kms: Any) -> None:
    name = unique_path()
    ssm.put_parameter(Name=name, Value="s3cret", Type="SecureString")
    got = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
    assert (got["Type"], got["Value"]) == ("SecureString", "s3cret")
    meta = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])
    assert meta["Parameters"][0]["KeyId"] == "alias/aws/ssm"
    key = kms.describe_key(KeyId="alias/aws/ssm")["KeyMetadata"]
    assert key["KeyManager"] == "AWS"
    assert key["Description"] == (
        "Default key that protects my SSM parameters when no other key is defined"
    )
    blob = stored(ssm, name)
    assert blob != b"s3cret" and b"s3cret" not in blob
    # An AWS managed key is used only through its service: not even the root decrypts
    # directly, as in AWS.
    fails(
        "AccessDeniedException",
        kms.decrypt,
        CiphertextBlob=blob,
        EncryptionContext={"PARAMETER_ARN": arn(name)},
    )


def test_standard_ciphertext_opens_with_kms_decrypt(
    ssm: Any, kms: Any, server: CofreServer, tmp_path: Path
) -> None:
    key = kms.create_key(Description="params")["KeyMetadata"]
    alias = f"alias/params-{os.urandom(4).hex()}"
    kms.create_alias(AliasName=alias, TargetKeyId=key["KeyId"])
    base = unique_path()
    for suffix, key_id in (("by-id", key["KeyId"]), ("by-arn", key["Arn"]), ("by-alias", alias)):
        name = f"{base}/{suffix}"
        ssm.put_parameter(Name=name, Value=f"value-{suffix}", Type="SecureString", KeyId=key_id)
        blob = stored(ssm, name)
        opened = kms.decrypt(CiphertextBlob=blob, EncryptionContext={"PARAMETER_ARN": arn(name)})
        assert opened["Plaintext"] == f"value-{suffix}".encode()
        assert opened["KeyId"] == key["Arn"]
        fails("InvalidCiphertextException", kms.decrypt, CiphertextBlob=blob)  # context needed
        meta = ssm.describe_parameters(ParameterFilters=[{"Key": "Name", "Values": [name]}])
        assert meta["Parameters"][0]["KeyId"] == key_id  # as given
    # The same with the AWS CLI's `kms decrypt`.
    name = f"{base}/by-id"
    blob_file = tmp_path / "blob"
    blob_file.write_bytes(stored(ssm, name))
    out = server.aws_cli(
        "kms",
        "decrypt",
        "--ciphertext-blob",
        f"fileb://{blob_file}",
        "--encryption-context",
        f"PARAMETER_ARN={arn(name)}",
        "--query",
        "Plaintext",
        "--output",
        "text",
    )
    assert base64.b64decode(out.stdout.strip()) == b"value-by-id"
    # An update without KeyId keeps the parameter's key.
    ssm.put_parameter(Name=name, Value="next", Overwrite=True)
    opened = kms.decrypt(
        CiphertextBlob=stored(ssm, name), EncryptionContext={"PARAMETER_ARN": arn(name)}
    )
    assert opened["KeyId"] == key["Arn"]


def test_advanced_values_use_an_envelope(ssm: Any, kms: Any) -> None:
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    name = unique_path() + "/big"
    value = "é" * 3000  # 6,000 bytes: more than one KMS Encrypt takes
    out = ssm.put_parameter(
        Name=name, Value=value, Type="SecureString", KeyId=key_id, Tier="Intelligent-Tiering"
    )
    assert out["Tier"] == "Advanced"
    assert ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"] == value
    envelope = parse_envelope(stored(ssm, name))
    data_key = kms.decrypt(
        CiphertextBlob=envelope.encrypted_key, EncryptionContext={"PARAMETER_ARN": arn(name)}
    )
    assert len(data_key["Plaintext"]) == 32
    # Every version keeps its own format; history decrypts each.
    ssm.put_parameter(Name=name, Value="small now", Overwrite=True)
    history = ssm.get_parameter_history(Name=name, WithDecryption=True)["Parameters"]
    assert [(h["Value"], h["Tier"]) for h in history] == [
        (value, "Advanced"),
        ("small now", "Advanced"),
    ]
    found = ssm.get_parameters_by_path(Path=name.rsplit("/", 1)[0], WithDecryption=True)
    assert found["Parameters"][0]["Value"] == "small now"


def test_key_errors(ssm: Any, kms: Any) -> None:
    base = unique_path()
    missing = "11111111-2222-3333-4444-555555555555"
    msg = fails(
        "InvalidKeyId",
        ssm.put_parameter,
        Name=f"{base}/a",
        Value="v",
        Type="SecureString",
        KeyId=missing,
    )
    assert missing in msg
    fails(
        "InvalidKeyId",
        ssm.put_parameter,
        Name=f"{base}/a",
        Value="v",
        Type="SecureString",
        KeyId="alias/nope",
    )
    rsa = kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]
    fails(
        "InvalidKeyId",
        ssm.put_parameter,
        Name=f"{base}/a",
        Value="v",
        Type="SecureString",
        KeyId=rsa["KeyId"],
    )
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    for tier in ("Standard", "Advanced"):
        name = f"{base}/{tier}"
        ssm.put_parameter(Name=name, Value="v", Type="SecureString", KeyId=key_id, Tier=tier)
    kms.disable_key(KeyId=key_id)
    try:
        for tier in ("Standard", "Advanced"):
            name = f"{base}/{tier}"
            msg = fails("InvalidKeyId", ssm.get_parameter, Name=name, WithDecryption=True)
            assert "disabled" in msg
            stored(ssm, name)  # without decryption nothing needs the key
            fails("InvalidKeyId", ssm.put_parameter, Name=name, Value="w", Overwrite=True)
            fails("InvalidKeyId", ssm.get_parameters_by_path, Path=base, WithDecryption=True)
    finally:
        kms.enable_key(KeyId=key_id)
    assert (
        ssm.get_parameter(Name=f"{base}/Advanced", WithDecryption=True)["Parameter"]["Value"] == "v"
    )


def test_decrypting_needs_kms_decrypt(server: CofreServer, ssm: Any, kms: Any) -> None:
    key = kms.create_key()["KeyMetadata"]
    base = unique_path("/perm")
    ssm.put_parameter(Name=f"{base}/custom", Value="c", Type="SecureString", KeyId=key["KeyId"])
    ssm.put_parameter(Name=f"{base}/managed", Value="m", Type="SecureString")
    reader = make_user(server, allow(["ssm:GetParameter", "ssm:PutParameter"]))
    rssm = reader.client(server, "ssm")
    # The stored ciphertext needs no KMS permission.
    rssm.get_parameter(Name=f"{base}/custom")
    msg = fails(
        "AccessDeniedException", rssm.get_parameter, Name=f"{base}/custom", WithDecryption=True
    )
    assert reader.arn in msg and "kms:Decrypt" in msg and key["Arn"] in msg
    fails(
        "AccessDeniedException",
        rssm.put_parameter,
        Name=f"{base}/new",
        Value="x",
        Type="SecureString",
        KeyId=key["KeyId"],
    )  # needs kms:Encrypt
    # The AWS managed key lets any principal of the account use it through SSM.
    assert (
        rssm.get_parameter(Name=f"{base}/managed", WithDecryption=True)["Parameter"]["Value"] == "m"
    )
    rssm.put_parameter(Name=f"{base}/mine", Value="x", Type="SecureString")
    decrypter = make_user(server, allow("ssm:GetParameter"), allow("kms:Decrypt", key["Arn"]))
    dssm = decrypter.client(server, "ssm")
    assert (
        dssm.get_parameter(Name=f"{base}/custom", WithDecryption=True)["Parameter"]["Value"] == "c"
    )


def test_no_plaintext_at_rest_or_in_the_log(server: CofreServer, ssm: Any, kms: Any) -> None:
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    base = unique_path("/rest")
    secrets: dict[str, bytes] = {}
    for i, (tier, size) in enumerate([("Standard", 64), ("Advanced", 6000)]):
        for version in range(2):
            mark = f"COFRE-SSM-PLAINTEXT-{i}-{version}-{os.urandom(8).hex()}"
            value = (mark * (size // len(mark) + 1))[:size]
            secrets[f"{tier} v{version}"] = mark.encode()
            for key in (None, key_id):
                name = f"{base}/{tier}-{'custom' if key else 'managed'}"
                extra = {"KeyId": key} if key else {}
                ssm.put_parameter(
                    Name=name, Value=value, Type="SecureString", Tier=tier, Overwrite=True, **extra
                )
                got = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
                assert got == value
    contents = storage_contents(server)
    assert any(base.encode() in data for data in contents.values())  # the real store
    assert_nothing_found(contents, secrets)
    assert_nothing_found({"server log": server.log.read_bytes()}, secrets)


def test_no_plaintext_in_a_verbose_log(tmp_path: Path) -> None:
    server = CofreServer(tmp_path / "data", extra_args=("--log-level", "debug")).start()
    try:
        ssm = server.client("ssm")
        mark = f"COFRE-SSM-LOGGED-{os.urandom(8).hex()}"
        ssm.put_parameter(Name="/log/secret", Value=mark, Type="SecureString")
        ssm.get_parameter(Name="/log/secret", WithDecryption=True)
        fails(
            "ParameterPatternMismatchException",
            ssm.put_parameter,
            Name="/log/p",
            Value=mark,
            Type="SecureString",
            AllowedPattern="[0-9]+",
        )
    finally:
        server.stop()
    assert_nothing_found({"server log": server.log.read_bytes()}, {"value": mark.encode()})
