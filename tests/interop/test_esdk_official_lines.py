"""Messages move between Cofre and both official AWS Encryption SDK lines, both ways.

* 3.x through the official ``aws-encryption-cli`` 4.x (it pins aws-encryption-sdk 3.x),
  run from its own venv, against ``cofre encrypt`` / ``cofre decrypt``: whole directories
  of one file per size, each CLI with its own wrapping-key syntax.
* 4.x through the ``aws-encryption-sdk`` package of the main venv, in process, against
  ``cofre.esdk``.

Sizes around the frame length (4096, both sides' default): 0, 1, frame-1, frame, frame+1,
2 x frame and a large exact multiple; the 3.x line rejects a message whose final frame is
a full frame, so the exact multiples check that Cofre ends them with an empty one. Wrapping
keys: a raw AES key, and a KMS key of a running Cofre (the official CLI reaches it through
``AWS_ENDPOINT_URL``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aws_encryption_sdk
import botocore.session
import pytest
from aws_encryption_sdk.identifiers import CommitmentPolicy

from cofre import esdk
from tests.esdk import official as sdk4
from tests.esdk.test_cli import cofre
from tests.interop.official_cli import official, require_official_cli
from tests.support.server import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, CofreServer

FRAME = 4096
SIZES = [0, 1, FRAME - 1, FRAME, FRAME + 1, 2 * FRAME, 1024 * FRAME]
NAMESPACE, NAME = "cofre-interop", "aes-1"


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory with one file of random bytes per size."""
    directory = tmp_path_factory.mktemp("plain")
    for size in SIZES:
        (directory / f"size-{size}").write_bytes(os.urandom(size))
    return directory


@pytest.fixture(scope="module")
def aes_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "aes.key"
    path.write_bytes(os.urandom(32))
    return path


@pytest.fixture(scope="module")
def cofre_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CofreServer]:
    server = CofreServer(tmp_path_factory.mktemp("cofre") / "data").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def kms_arn(cofre_server: CofreServer) -> str:
    kms = cofre_server.client("kms")
    return str(kms.create_key(Description="interop")["KeyMetadata"]["Arn"])


@pytest.fixture
def aws_env(cofre_server: CofreServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The usual AWS_* variables, for both CLIs and for the official SDK in process."""
    env = {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": cofre_server.url,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_MAX_ATTEMPTS": "1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_KMS"):
        monkeypatch.delenv(name, raising=False)
    return env


def _wrapping(tool: str, kind: str, aes_file: Path, arn: str) -> list[str]:
    if kind == "kms":
        return ["-w", f"key={arn}"]
    if tool == "cofre":
        return ["-w", "provider=raw-aes", f"key-file={aes_file}",
                f"key-namespace={NAMESPACE}", f"key-name={NAME}"]  # fmt: skip
    return ["-w", "provider=raw-aes", f"key={NAME}", f"key-namespace={NAMESPACE}",
            f"key-file={aes_file}"]  # fmt: skip


def _run(tool: str, mode: str, source: Path, target: Path, wrapping: list[str]) -> None:
    """Encrypt or decrypt every file of ``source`` into ``target``, same names."""
    target.mkdir()
    args = [f"--{mode}" if tool == "official" else mode, "-r", "-i", str(source),
            "-o", str(target), "--suffix", "-S", *wrapping]  # fmt: skip
    if mode == "encrypt":
        args += ["--frame-length", str(FRAME), "-c", "purpose=interop"]
    result = official(*args) if tool == "official" else cofre(*args)
    assert result.returncode == 0, (tool, mode, result.stderr.decode())


@pytest.mark.parametrize("kind", ["raw-aes", "kms"])
@pytest.mark.parametrize(("encrypter", "decrypter"), [("cofre", "official"), ("official", "cofre")])
def test_official_cli_3x(
    encrypter: str,
    decrypter: str,
    kind: str,
    plain: Path,
    aes_file: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    require_official_cli()
    arn = ""
    if kind == "kms":
        request.getfixturevalue("aws_env")
        arn = request.getfixturevalue("kms_arn")
    encrypted, decrypted = tmp_path / "encrypted", tmp_path / "decrypted"
    _run(encrypter, "encrypt", plain, encrypted, _wrapping(encrypter, kind, aes_file, arn))
    _run(decrypter, "decrypt", encrypted, decrypted, _wrapping(decrypter, kind, aes_file, arn))
    for size in SIZES:
        name = f"size-{size}"
        assert (decrypted / name).read_bytes() == (plain / name).read_bytes(), name


def _sdk4_pair(kind: str, aes_file: Path, cofre_server: CofreServer, arn: str) -> tuple[Any, Any]:
    """(Cofre keyring, official 4.x master key provider) over the same wrapping key."""
    if kind == "raw-aes":
        key = aes_file.read_bytes()
        provider = sdk4.aes_master_key(NAMESPACE, NAME, key)
        return esdk.RawAesKeyring(NAMESPACE, NAME, key), provider
    provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(
        key_ids=[arn], botocore_session=botocore.session.Session()
    )
    return esdk.KmsKeyring(cofre_server.client("kms"), arn), provider


@pytest.mark.parametrize("kind", ["raw-aes", "kms"])
def test_official_sdk_4x(
    kind: str, plain: Path, aes_file: Path, request: pytest.FixtureRequest
) -> None:
    arn, server = "", request.getfixturevalue("cofre_server")
    if kind == "kms":
        request.getfixturevalue("aws_env")
        arn = request.getfixturevalue("kms_arn")
    keyring, provider = _sdk4_pair(kind, aes_file, server, arn)
    client = aws_encryption_sdk.EncryptionSDKClient(
        commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
    )
    for size in SIZES:
        data = (plain / f"size-{size}").read_bytes()
        ours, _ = esdk.encrypt(data, keyring, frame_length=FRAME)
        assert client.decrypt(source=ours, key_provider=provider)[0] == data, size
        theirs, _ = client.encrypt(source=data, key_provider=provider, frame_length=FRAME)
        assert esdk.decrypt(theirs, keyring)[0] == data, size
