"""The root of trust around the seals: a store written by the release before it is
adopted (its root key becomes the keyring key; HKDF from then on) and keeps everything --
ciphertexts, MACs, signatures, imported material, parameters, credentials, grants, an
audit trail that verifies -- also after moving to the shamir seal; the data directory
and its files are private; a server holding keys is not dumpable and keeps no root key
in its environment; test hooks need development mode; several nodes on PostgreSQL are
each unsealed; sealing, rotating the root key and reissuing the unseal keys under load
lose nothing acknowledged."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding

from tests.conftest import require_postgres
from tests.support.seals import admin_env, operator, status, unseal
from tests.support.server import (
    ACCESS_KEY_ID,
    CLOCK_ENV,
    COFRE,
    SECRET_ACCESS_KEY,
    CofreServer,
    postgres_database,
)
from tests.support.vectors import VECTORS

LEGACY = VECTORS / "legacy-store-v1"


def _legacy_copy(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    data_dir = tmp_path / "data"
    data_dir.mkdir(mode=0o700)
    for name in ("cofre.db", "root.key"):
        shutil.copy(LEGACY / name, data_dir / name)
        (data_dir / name).chmod(0o600)
    return data_dir, json.loads((LEGACY / "manifest.json").read_text())


def _client(server: CofreServer, manifest: dict[str, Any], service: str = "kms",
            key: tuple[str, str] | None = None) -> Any:  # fmt: skip
    access, secret = key or (manifest["access_key_id"], manifest["secret_access_key"])
    return boto3.client(service, endpoint_url=server.url, region_name="us-east-1",
                        aws_access_key_id=access, aws_secret_access_key=secret,
                        config=Config(retries={"max_attempts": 1}))  # fmt: skip


def _check_legacy(server: CofreServer, manifest: dict[str, Any]) -> None:
    kms = _client(server, manifest)
    for item in manifest["ciphertexts"]:
        opened = kms.decrypt(CiphertextBlob=base64.b64decode(item["ciphertext"]),
                             EncryptionContext=item["context"])  # fmt: skip
        assert opened["Plaintext"] == item["plaintext"].encode()
    mac = manifest["hmac"]
    expected = base64.b64decode(mac["mac"])
    checked = kms.verify_mac(KeyId=mac["key"], Message=mac["message"].encode(),
                             MacAlgorithm="HMAC_SHA_256", Mac=expected)  # fmt: skip
    assert checked["MacValid"]
    signed = manifest["signature"]
    checked = kms.verify(KeyId=signed["key"], Message=signed["message"].encode(),
                         SigningAlgorithm="ECDSA_SHA_256",
                         Signature=base64.b64decode(signed["signature"]))  # fmt: skip
    assert checked["SignatureValid"]
    imported = manifest["imported"]
    opened = kms.decrypt(CiphertextBlob=base64.b64decode(imported["ciphertext"]))
    assert opened["Plaintext"] == imported["plaintext"].encode()
    ssm = _client(server, manifest, "ssm")
    for name, value in manifest["parameters"].items():
        assert ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"] == value
    user = manifest["user_key"]
    sts = _client(server, manifest, "sts", (user["id"], user["secret"]))
    assert sts.get_caller_identity()["Arn"].endswith(":user/legacy-user")
    as_user = _client(server, manifest, "kms", (user["id"], user["secret"]))
    as_user.encrypt(KeyId=manifest["symmetric_key"], Plaintext=b"by grant",
                    GrantTokens=[manifest["grant"]["token"]])  # fmt: skip


def test_a_store_of_the_earlier_release_is_adopted_and_moves_to_shamir(tmp_path: Path) -> None:
    data_dir, manifest = _legacy_copy(tmp_path)
    server = CofreServer(data_dir, root_key="", env={}).start()
    try:
        _check_legacy(server, manifest)
        kms = _client(server, manifest)
        # the same imported material again (its id from the earlier key derivation)
        imported = manifest["imported"]
        params = kms.get_parameters_for_import(KeyId=imported["key"],
                                               WrappingAlgorithm="RSAES_OAEP_SHA_256",
                                               WrappingKeySpec="RSA_2048")  # fmt: skip
        public = serialization.load_der_public_key(params["PublicKey"])
        wrapped = public.encrypt(  # type: ignore[union-attr]
            base64.b64decode(imported["material"]),
            padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None),
        )
        kms.import_key_material(KeyId=imported["key"], ImportToken=params["ImportToken"],
                                EncryptedKeyMaterial=wrapped,
                                ExpirationModel="KEY_MATERIAL_DOES_NOT_EXPIRE")  # fmt: skip
        new_blob = kms.encrypt(KeyId=manifest["symmetric_key"], Plaintext=b"after adoption")
    finally:
        server.stop()
    verified = _audit_verify(data_dir)
    assert verified.returncode == 0 and "intact" in verified.stdout, verified.stdout
    moved = operator("migrate-seal", "--data-dir", str(data_dir), "--to", "shamir",
                     "--key-shares", "3", "--key-threshold", "2")  # fmt: skip
    shares = json.loads(moved.stdout)["unseal_keys"]
    assert not (data_dir / "root.key").exists()
    server = CofreServer(data_dir, root_key="", env={}).start(probe="/health/live")
    try:
        assert status(server)["type"] == "shamir" and status(server)["sealed"] is True
        unseal(server, shares[0])
        unseal(server, shares[2])
        _check_legacy(server, manifest)
        opened = _client(server, manifest).decrypt(CiphertextBlob=new_blob["CiphertextBlob"])
        assert opened["Plaintext"] == b"after adoption"
    finally:
        server.stop()


def _audit_verify(data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([COFRE, "audit", "verify", "--data-dir", str(data_dir)],
                          env=admin_env(), capture_output=True, text=True, timeout=120)  # fmt: skip


def test_the_data_directory_is_private_and_the_process_hardened(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = CofreServer(data_dir).start()
    try:
        server.client("kms").create_key()
        server.client("kms").list_keys()
        assert server.process is not None
        pid = server.process.pid
        assert data_dir.stat().st_mode & 0o777 == 0o700
        loose = [f"{p} {p.stat().st_mode & 0o777:o}" for p in data_dir.rglob("*")
                 if p.stat().st_mode & 0o077]  # fmt: skip
        assert loose == []  # the database, its WAL and shm, the journal: 0600
        environ = Path(f"/proc/{pid}/environ").read_bytes()
        assert server.root_key.encode() not in environ  # read, then overwritten
        limits = Path(f"/proc/{pid}/limits").read_text()
        core = next(line for line in limits.splitlines() if line.startswith("Max core file size"))
        assert core.split()[4:6] == ["0", "0"]
    finally:
        server.stop()
    data_dir.chmod(0o755)
    with pytest.raises(RuntimeError, match="can be read by others"):
        CofreServer(data_dir).start()


def test_a_clock_offset_is_honoured_in_development_mode_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    offset = tmp_path / "offset"
    offset.write_text(str(365 * 86400))  # a year ahead
    monkeypatch.setenv(CLOCK_ENV, str(offset))  # inherited, without --dev
    plain = CofreServer(tmp_path / "plain").start()
    try:
        created = plain.client("kms").create_key()["KeyMetadata"]["CreationDate"]
    finally:
        plain.stop()
    assert abs((created - datetime.now(UTC)).days) < 2  # the hook was ignored
    dev = CofreServer(tmp_path / "dev", env={CLOCK_ENV: str(offset)}).start()  # adds --dev
    try:
        created = dev.client("kms").create_key()["KeyMetadata"]["CreationDate"]
    finally:
        dev.stop()
    assert (created - datetime.now(UTC)).days > 300


def test_two_postgres_nodes_are_each_unsealed(tmp_path: Path) -> None:
    require_postgres()
    with postgres_database() as url:
        done = operator("init", "--data-dir", str(tmp_path / "a"), "--database", url,
                        "--key-shares", "3", "--key-threshold", "2")  # fmt: skip
        shares = json.loads(done.stdout)["unseal_keys"]
        a = CofreServer(tmp_path / "a", database=url, root_key="", env={})
        b = CofreServer(tmp_path / "b", database=url, root_key="", env={})
        a.start(probe="/health/live")
        b.start(probe="/health/live")
        try:
            unseal(a, shares[0])
            unseal(a, shares[1])
            assert status(a)["sealed"] is False and status(b)["sealed"] is True
            key_id = a.client("kms").create_key()["KeyMetadata"]["KeyId"]
            blob = a.client("kms").encrypt(KeyId=key_id, Plaintext=b"two nodes")["CiphertextBlob"]
            with pytest.raises(ClientError):
                b.client("kms").decrypt(CiphertextBlob=blob)
            unseal(b, shares[2])
            unseal(b, shares[0])
            assert b.client("kms").decrypt(CiphertextBlob=blob)["Plaintext"] == b"two nodes"
        finally:
            a.stop()
            b.stop()


def test_sealing_under_load_loses_nothing_acknowledged(tmp_path: Path) -> None:
    done = operator("init", "--data-dir", str(tmp_path / "d"), "--key-shares", "1",
                    "--key-threshold", "1")  # fmt: skip
    share = json.loads(done.stdout)["unseal_keys"][0]
    server = CofreServer(tmp_path / "d", root_key="", env={}, workers=2)
    server.start(probe="/health/live")
    try:
        unseal(server, share)
        kms = server.client("kms", config=Config(retries={"mode": "standard", "max_attempts": 10}))
        acknowledged: list[str] = []
        stop = threading.Event()

        def load() -> None:
            while not stop.is_set():
                try:
                    acknowledged.append(kms.create_key()["KeyMetadata"]["KeyId"])
                except ClientError:
                    pass  # sealed: retried by the SDK, then given up; not acknowledged

        thread = threading.Thread(target=load, daemon=True)
        thread.start()
        _until(lambda: len(acknowledged) >= 5)
        env = admin_env(AWS_ACCESS_KEY_ID=ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET_ACCESS_KEY,
                        AWS_DEFAULT_REGION="us-east-1")  # fmt: skip
        operator("seal", "--endpoint-url", server.url, env=env)
        assert status(server)["sealed"] is True  # every worker, not only the one asked
        sealed_at = len(acknowledged)
        unseal(server, share)
        _until(lambda: len(acknowledged) >= sealed_at + 5)
        stop.set()
        thread.join(60)
        for key_id in acknowledged:
            assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyId"] == key_id
    finally:
        server.stop()


def test_rotate_root_and_rekey_under_load_lose_nothing(tmp_path: Path) -> None:
    """Under a steady Encrypt load on two workers: the root key is rotated twice online and
    the unseal keys are reissued; no call fails, every ciphertext decrypts, a rotation by a
    node that unsealed with the retired keys is refused (the new keys would not open its
    root key), and after a restart the new keys unseal and the old ones are refused."""
    data_dir = tmp_path / "d"
    done = operator("init", "--data-dir", str(data_dir), "--key-shares", "3",
                    "--key-threshold", "2")  # fmt: skip
    shares = json.loads(done.stdout)["unseal_keys"]
    server = CofreServer(data_dir, root_key="", env={}, workers=2)
    server.start(probe="/health/live")
    try:
        unseal(server, shares[0])
        unseal(server, shares[1])
        kms = server.client("kms", config=Config(retries={"max_attempts": 1}))
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        sealed: list[tuple[bytes, bytes]] = []
        failures: list[str] = []
        stop = threading.Event()

        def load() -> None:
            n = 0
            while not stop.is_set():
                n += 1
                plaintext = f"under load {n}".encode()
                try:
                    blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext)["CiphertextBlob"]
                    sealed.append((blob, plaintext))
                    first = sealed[0]
                    assert kms.decrypt(CiphertextBlob=first[0])["Plaintext"] == first[1]
                except (ClientError, AssertionError) as exc:
                    failures.append(repr(exc))

        thread = threading.Thread(target=load, daemon=True)
        thread.start()
        env = admin_env(AWS_ACCESS_KEY_ID=ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET_ACCESS_KEY,
                        AWS_DEFAULT_REGION="us-east-1")  # fmt: skip
        for _ in range(2):
            _until(lambda: len(sealed) >= 5)
            count = len(sealed)
            operator("rotate-root", "--endpoint-url", server.url, env=env)
            _until(lambda: len(sealed) >= count + 5)  # noqa: B023
        rekeyed = operator("rekey", "--data-dir", str(data_dir), "--key-shares", "2",
                           "--key-threshold", "2", stdin=f"{shares[2]}\n{shares[0]}\n")  # fmt: skip
        new = json.loads(rekeyed.stdout)["unseal_keys"]
        stale = operator("rotate-root", "--endpoint-url", server.url, env=env, check=False)
        assert stale.returncode != 0 and "reissued" in stale.stderr
        count = len(sealed)
        _until(lambda: len(sealed) >= count + 5)
        stop.set()
        thread.join(60)
        assert failures == []
        server.stop()

        server.start(probe="/health/live")
        refused = operator("unseal", "--endpoint-url", server.url, stdin=shares[1] + "\n",
                           check=False)  # fmt: skip
        assert refused.returncode != 0 and "another set" in refused.stderr
        unseal(server, new[1])
        assert unseal(server, new[0])["sealed"] is False
        operator("rotate-root", "--endpoint-url", server.url, env=env)  # with the new keys
        kms = server.client("kms")
        for blob, plaintext in sealed:
            assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == plaintext
    finally:
        server.stop()


def _until(predicate: Any, timeout: float = 60.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_offline_tools_read_an_auto_sealed_store(tmp_path: Path) -> None:
    """cofre audit verify opens a file-sealed store the way the server does."""
    server = CofreServer(tmp_path / "data", root_key="", env={}).start()
    try:
        server.client("kms").create_key()
    finally:
        server.stop()
    result = _audit_verify(tmp_path / "data")
    assert result.returncode == 0, result.stdout + result.stderr
