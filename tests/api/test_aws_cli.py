"""The real AWS CLI (v1) against a running server, SQLite and PostgreSQL.

CLI v1 prints blobs (CiphertextBlob, Plaintext) base64-encoded and reads ``fileb://``
arguments as raw bytes.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from tests.support.server import ACCOUNT_ID, REGION, CofreServer


def cli_json(server: CofreServer, *args: str) -> Any:
    result = server.aws_cli(*args)
    return json.loads(result.stdout) if result.stdout.strip() else {}


def cli_fails(server: CofreServer, *args: str) -> str:
    result = server.aws_cli(*args, check=False)
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr
    return result.stderr


def new_key(server: CofreServer, description: str = "cli test") -> str:
    """Set-up through boto3 (one CLI process costs about a second); create-key has its test."""
    meta = server.client("kms").create_key(Description=description)["KeyMetadata"]
    return str(meta["KeyId"])


def arn_of(key_id: str) -> str:
    return f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/{key_id}"


def test_create_describe_list(server: CofreServer) -> None:
    meta = cli_json(server, "kms", "create-key", "--description", "made by the CLI")["KeyMetadata"]
    key_id = meta["KeyId"]
    assert meta["Description"] == "made by the CLI"
    assert meta["Arn"] == arn_of(key_id)
    assert meta["KeyState"] == "Enabled" and meta["KeyUsage"] == "ENCRYPT_DECRYPT"
    described = cli_json(server, "kms", "describe-key", "--key-id", key_id)["KeyMetadata"]
    assert described["KeyId"] == key_id and described["Description"] == "made by the CLI"
    assert described["CreationDate"] == meta["CreationDate"]
    listed = cli_json(server, "kms", "list-keys")["Keys"]
    assert {"KeyId": key_id, "KeyArn": arn_of(key_id)} in listed


def test_aliases(server: CofreServer) -> None:
    key_id = new_key(server)
    alias = f"alias/cli-{key_id[:8]}"
    out = server.aws_cli("kms", "create-alias", "--alias-name", alias, "--target-key-id", key_id)
    assert out.stdout.strip() == ""
    aliases = cli_json(server, "kms", "list-aliases", "--key-id", key_id)["Aliases"]
    assert [(a["AliasName"], a["TargetKeyId"]) for a in aliases] == [(alias, key_id)]
    assert aliases[0]["AliasArn"] == f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:{alias}"
    everything = cli_json(server, "kms", "list-aliases")["Aliases"]
    assert alias in {a["AliasName"] for a in everything}
    described = cli_json(server, "kms", "describe-key", "--key-id", alias)["KeyMetadata"]
    assert described["KeyId"] == key_id


def test_encrypt_decrypt_files(server: CofreServer, tmp_path: Path) -> None:
    key_id = new_key(server)
    alias = f"alias/files-{key_id[:8]}"
    server.aws_cli("kms", "create-alias", "--alias-name", alias, "--target-key-id", key_id)
    plaintext = bytes(range(256)) + os.urandom(100)
    source = tmp_path / "plain.bin"
    source.write_bytes(plaintext)
    out = cli_json(server, "kms", "encrypt", "--key-id", alias, "--plaintext", f"fileb://{source}")
    assert out["KeyId"] == arn_of(key_id)
    blob = tmp_path / "blob.bin"
    blob.write_bytes(base64.b64decode(out["CiphertextBlob"]))
    text = server.aws_cli(
        "kms",
        "decrypt",
        "--ciphertext-blob",
        f"fileb://{blob}",
        "--output",
        "text",
        "--query",
        "Plaintext",
    ).stdout
    assert base64.b64decode(text.strip()) == plaintext
    full = cli_json(
        server, "kms", "decrypt", "--ciphertext-blob", f"fileb://{blob}", "--key-id", key_id
    )
    assert full["KeyId"] == arn_of(key_id)
    assert full["EncryptionAlgorithm"] == "SYMMETRIC_DEFAULT"


def test_encrypt_plain_string_argument(server: CofreServer, tmp_path: Path) -> None:
    """CLI v1 sends a non-file blob argument as its text bytes."""
    key_id = new_key(server)
    out = cli_json(server, "kms", "encrypt", "--key-id", key_id, "--plaintext", "hello cli")
    blob = tmp_path / "blob.bin"
    blob.write_bytes(base64.b64decode(out["CiphertextBlob"]))
    text = server.aws_cli(
        "kms",
        "decrypt",
        "--ciphertext-blob",
        f"fileb://{blob}",
        "--output",
        "text",
        "--query",
        "Plaintext",
    ).stdout
    assert base64.b64decode(text.strip()) == b"hello cli"


def test_encryption_context(server: CofreServer, tmp_path: Path) -> None:
    key_id = new_key(server)
    source = tmp_path / "plain.bin"
    source.write_bytes(b"context-bound secret")
    out = cli_json(
        server,
        "kms",
        "encrypt",
        "--key-id",
        key_id,
        "--plaintext",
        f"fileb://{source}",
        "--encryption-context",
        "purpose=test,team=core",
    )
    blob = tmp_path / "blob.bin"
    blob.write_bytes(base64.b64decode(out["CiphertextBlob"]))
    text = server.aws_cli(
        "kms",
        "decrypt",
        "--ciphertext-blob",
        f"fileb://{blob}",
        "--encryption-context",
        "team=core,purpose=test",
        "--output",
        "text",
        "--query",
        "Plaintext",
    ).stdout
    assert base64.b64decode(text.strip()) == b"context-bound secret"
    for extra in (
        [],
        ["--encryption-context", "purpose=test"],
        ["--encryption-context", "purpose=Test,team=core"],
    ):
        stderr = cli_fails(server, "kms", "decrypt", "--ciphertext-blob", f"fileb://{blob}", *extra)
        assert "InvalidCiphertextException" in stderr
        assert "context-bound secret" not in stderr


def test_generate_data_key(server: CofreServer, tmp_path: Path) -> None:
    key_id = new_key(server)
    out = cli_json(server, "kms", "generate-data-key", "--key-id", key_id, "--key-spec", "AES_256")
    assert out["KeyId"] == arn_of(key_id)
    data_key = base64.b64decode(out["Plaintext"])
    assert len(data_key) == 32
    blob = tmp_path / "key.bin"
    blob.write_bytes(base64.b64decode(out["CiphertextBlob"]))
    text = server.aws_cli(
        "kms",
        "decrypt",
        "--ciphertext-blob",
        f"fileb://{blob}",
        "--output",
        "text",
        "--query",
        "Plaintext",
    ).stdout
    assert base64.b64decode(text.strip()) == data_key


def test_disable_key_then_encrypt_fails(server: CofreServer) -> None:
    key_id = new_key(server)
    assert server.aws_cli("kms", "disable-key", "--key-id", key_id).stdout.strip() == ""
    meta = cli_json(server, "kms", "describe-key", "--key-id", key_id)["KeyMetadata"]
    assert meta["KeyState"] == "Disabled" and meta["Enabled"] is False
    stderr = cli_fails(server, "kms", "encrypt", "--key-id", key_id, "--plaintext", "x")
    assert "DisabledException" in stderr
    assert f"{arn_of(key_id)} is disabled." in stderr


def test_schedule_key_deletion(server: CofreServer) -> None:
    key_id = new_key(server)
    out = cli_json(
        server, "kms", "schedule-key-deletion", "--key-id", key_id, "--pending-window-in-days", "7"
    )
    assert out["KeyId"] == arn_of(key_id)
    assert out["KeyState"] == "PendingDeletion" and out["PendingWindowInDays"] == 7
    assert "DeletionDate" in out
    meta = cli_json(server, "kms", "describe-key", "--key-id", key_id)["KeyMetadata"]
    assert meta["KeyState"] == "PendingDeletion"
    stderr = cli_fails(server, "kms", "encrypt", "--key-id", key_id, "--plaintext", "x")
    assert "KMSInvalidStateException" in stderr


def test_tags(server: CofreServer) -> None:
    key_id = new_key(server)
    server.aws_cli(
        "kms",
        "tag-resource",
        "--key-id",
        key_id,
        "--tags",
        "TagKey=team,TagValue=core",
        "TagKey=env,TagValue=dev",
    )
    tags = cli_json(server, "kms", "list-resource-tags", "--key-id", key_id)
    assert sorted((t["TagKey"], t["TagValue"]) for t in tags["Tags"]) == [
        ("env", "dev"),
        ("team", "core"),
    ]


def test_rotation(server: CofreServer) -> None:
    key_id = new_key(server)
    status = cli_json(server, "kms", "get-key-rotation-status", "--key-id", key_id)
    assert status["KeyRotationEnabled"] is False
    assert server.aws_cli("kms", "enable-key-rotation", "--key-id", key_id).stdout.strip() == ""
    status = cli_json(server, "kms", "get-key-rotation-status", "--key-id", key_id)
    assert status["KeyRotationEnabled"] is True
    assert status["RotationPeriodInDays"] == 365
    assert status["KeyId"] == arn_of(key_id)


def test_generate_random(server: CofreServer) -> None:
    count = "32"
    first = base64.b64decode(
        cli_json(server, "kms", "generate-random", "--number-of-bytes", count)["Plaintext"]
    )
    assert len(first) == int(count)
    second = base64.b64decode(
        cli_json(server, "kms", "generate-random", "--number-of-bytes", count)["Plaintext"]
    )
    assert first != second
