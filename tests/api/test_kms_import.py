"""Imported key material (BYOK), done as the KMS Developer Guide shows it: the AWS CLI for
the API calls and the openssl command line to make and wrap the material."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.server import CofreServer

OPENSSL = shutil.which("openssl")
pytestmark = pytest.mark.skipif(OPENSSL is None, reason="the openssl command line is needed")


def run(*args: str, cwd: Path) -> None:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"{args}: {done.stderr}"


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def aws(server: CofreServer, *args: str) -> Any:
    return json.loads(server.aws_cli("kms", *args).stdout or "{}")


def wrap_with_openssl(work: Path, algorithm: str) -> None:
    """EncryptedKeyMaterial.bin from PlaintextKeyMaterial.bin and WrappingPublicKey.bin."""
    oaep = ["-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha256",
            "-pkeyopt", "rsa_mgf1_md:sha256"]  # fmt: skip
    assert OPENSSL is not None
    if algorithm == "RSAES_OAEP_SHA_256":
        run(OPENSSL, "pkeyutl", "-encrypt", "-in", "PlaintextKeyMaterial.bin",
            "-out", "EncryptedKeyMaterial.bin", "-inkey", "WrappingPublicKey.bin",
            "-keyform", "DER", "-pubin", *oaep, cwd=work)  # fmt: skip
        return
    run(OPENSSL, "rand", "-out", "aes-key.bin", "32", cwd=work)
    aes_hex = (work / "aes-key.bin").read_bytes().hex()
    run(
        OPENSSL,
        "enc",
        "-id-aes256-wrap-pad",
        "-K",
        aes_hex,
        "-iv",
        "A65959A6",
        "-in",
        "PlaintextKeyMaterial.bin",
        "-out",
        "key-material-wrapped.bin",
        cwd=work,
    )
    run(
        OPENSSL,
        "pkeyutl",
        "-encrypt",
        "-in",
        "aes-key.bin",
        "-out",
        "aes-key-wrapped.bin",
        "-inkey",
        "WrappingPublicKey.bin",
        "-keyform",
        "DER",
        "-pubin",
        *oaep,
        cwd=work,
    )
    (work / "EncryptedKeyMaterial.bin").write_bytes(
        (work / "aes-key-wrapped.bin").read_bytes()
        + (work / "key-material-wrapped.bin").read_bytes()
    )


def import_material(
    server: CofreServer, key_id: str, work: Path, algorithm: str, *extra: str
) -> dict[str, Any]:
    params = aws(server, "get-parameters-for-import", "--key-id", key_id,
                 "--wrapping-algorithm", algorithm, "--wrapping-key-spec", "RSA_3072")  # fmt: skip
    (work / "WrappingPublicKey.bin").write_bytes(base64.b64decode(params["PublicKey"]))
    (work / "ImportToken.bin").write_bytes(base64.b64decode(params["ImportToken"]))
    wrap_with_openssl(work, algorithm)
    return dict(aws(server, "import-key-material", "--key-id", key_id,
                    "--encrypted-key-material", f"fileb://{work / 'EncryptedKeyMaterial.bin'}",
                    "--import-token", f"fileb://{work / 'ImportToken.bin'}", *extra))  # fmt: skip


@pytest.mark.parametrize("algorithm", ["RSAES_OAEP_SHA_256", "RSA_AES_KEY_WRAP_SHA_256"])
def test_byok_flow_with_openssl(
    server: CofreServer, kms: Any, tmp_path: Path, algorithm: str
) -> None:
    assert OPENSSL is not None
    created = aws(server, "create-key", "--origin", "EXTERNAL", "--description", "byok")
    meta = created["KeyMetadata"]
    assert (meta["Origin"], meta["KeyState"]) == ("EXTERNAL", "PendingImport")
    key_id = meta["KeyId"]
    with pytest.raises(ClientError) as exc:
        kms.encrypt(KeyId=key_id, Plaintext=b"x")
    assert code(exc) == "KMSInvalidStateException"
    run(OPENSSL, "rand", "-out", "PlaintextKeyMaterial.bin", "32", cwd=tmp_path)
    imported = import_material(server, key_id, tmp_path, algorithm,
                               "--expiration-model", "KEY_MATERIAL_DOES_NOT_EXPIRE")  # fmt: skip
    described = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert described["KeyState"] == "Enabled"
    assert described["ExpirationModel"] == "KEY_MATERIAL_DOES_NOT_EXPIRE"
    assert described["CurrentKeyMaterialId"] == imported["KeyMaterialId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"brought my own key")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"brought my own key"

    # Deleting the material makes ciphertexts undecryptable until it is imported again.
    kms.delete_imported_key_material(KeyId=key_id)
    assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "PendingImport"
    with pytest.raises(ClientError) as exc:
        kms.decrypt(CiphertextBlob=blob)
    assert code(exc) == "KMSInvalidStateException"
    again = import_material(server, key_id, tmp_path, algorithm,
                            "--expiration-model", "KEY_MATERIAL_DOES_NOT_EXPIRE")  # fmt: skip
    assert again["KeyMaterialId"] == imported["KeyMaterialId"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"brought my own key"

    # Other material is refused: the key keeps the one it was born with.
    run(OPENSSL, "rand", "-out", "PlaintextKeyMaterial.bin", "32", cwd=tmp_path)
    failed = server.aws_cli(
        "kms",
        "get-parameters-for-import",
        "--key-id",
        key_id,
        "--wrapping-algorithm",
        algorithm,
        "--wrapping-key-spec",
        "RSA_2048",
    )
    params = json.loads(failed.stdout)
    (tmp_path / "WrappingPublicKey.bin").write_bytes(base64.b64decode(params["PublicKey"]))
    wrap_with_openssl(tmp_path, algorithm)
    with pytest.raises(ClientError) as exc:
        kms.import_key_material(
            KeyId=key_id,
            ImportToken=base64.b64decode(params["ImportToken"]),
            EncryptedKeyMaterial=(tmp_path / "EncryptedKeyMaterial.bin").read_bytes(),
            ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE",
        )
    assert code(exc) == "IncorrectKeyMaterialException"


def test_import_errors(server: CofreServer, kms: Any, key_id: str, tmp_path: Path) -> None:
    external = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as exc:
        kms.get_parameters_for_import(KeyId=key_id, WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                      WrappingKeySpec="RSA_2048")  # fmt: skip
    assert code(exc) == "UnsupportedOperationException"
    params = kms.get_parameters_for_import(KeyId=external, WrappingAlgorithm="RSAES_OAEP_SHA_1",
                                           WrappingKeySpec="RSA_2048")  # fmt: skip
    assert params["ParametersValidTo"] > datetime.now(UTC) + timedelta(hours=23)
    other = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    with pytest.raises(ClientError) as exc:
        kms.import_key_material(KeyId=other, ImportToken=params["ImportToken"],
                                EncryptedKeyMaterial=b"x" * 256,
                                ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")  # fmt: skip
    assert code(exc) == "InvalidImportTokenException"
    with pytest.raises(ClientError) as exc:
        kms.import_key_material(KeyId=external, ImportToken=params["ImportToken"],
                                EncryptedKeyMaterial=b"x" * 256,
                                ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")  # fmt: skip
    assert code(exc) == "InvalidCiphertextException"
    with pytest.raises(ClientError) as exc:
        kms.import_key_material(KeyId=external, ImportToken=params["ImportToken"],
                                EncryptedKeyMaterial=b"x" * 256,
                                ExpirationModel="KEY_MATERIAL_EXPIRES")  # fmt: skip
    assert code(exc) == "ValidationException"
    with server.clock_offset(25 * 3600):
        with pytest.raises(ClientError) as exc:
            kms.import_key_material(KeyId=external, ImportToken=params["ImportToken"],
                                    EncryptedKeyMaterial=b"x" * 256,
                                    ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")  # fmt: skip
        assert code(exc) == "ExpiredImportTokenException"


def test_imported_material_expires_when_due(server: CofreServer, kms: Any, tmp_path: Path) -> None:
    assert OPENSSL is not None
    key_id = kms.create_key(Origin="EXTERNAL")["KeyMetadata"]["KeyId"]
    run(OPENSSL, "rand", "-out", "PlaintextKeyMaterial.bin", "32", cwd=tmp_path)
    valid_to = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    import_material(
        server,
        key_id,
        tmp_path,
        "RSAES_OAEP_SHA_256",
        "--expiration-model",
        "KEY_MATERIAL_EXPIRES",
        "--valid-to",
        valid_to,
    )
    meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
    assert meta["ExpirationModel"] == "KEY_MATERIAL_EXPIRES"
    assert meta["ValidTo"] > datetime.now(UTC)
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"short-lived")["CiphertextBlob"]
    with server.clock_offset(2 * 3600):
        deadline = time.monotonic() + 15  # the background jobs run every 5 s
        while kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] != "PendingImport":
            assert time.monotonic() < deadline, "the material did not expire"
            time.sleep(0.5)
    with pytest.raises(ClientError) as exc:
        kms.decrypt(CiphertextBlob=blob)
    assert code(exc) == "KMSInvalidStateException"
    # The same material brings the key back.
    import_material(server, key_id, tmp_path, "RSAES_OAEP_SHA_256",
                    "--expiration-model", "KEY_MATERIAL_DOES_NOT_EXPIRE")  # fmt: skip
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"short-lived"
