"""The seals that open by themselves, with real processes: ``pkcs11`` (SoftHSM2: the key is
made in a fresh token, the server unseals itself at every start, a wrong PIN or a missing
key leaves it sealed with a clear error, and the key cannot be read out of the HSM) and
``kms`` (one Cofre unseals another; with the unsealing key disabled the second stays
sealed with a clear error, and serves again once it is enabled). For both, a byte scan of
the data directory and the log finds neither the root key, the keyring key nor a data key."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tests.support.seals import Token, admin_env, operator, scan, softhsm_token, status
from tests.support.server import (
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    CofreServer,
)


def _pkcs11_args(token: Token, key_label: str = "cofre-root") -> list[str]:
    return ["--pkcs11-library", token.module, "--pkcs11-pin-file", str(token.pin_file),
            "--pkcs11-token-label", token.label, "--pkcs11-key-label", key_label]  # fmt: skip


def _serve_args(token: Token) -> tuple[str, ...]:
    return ("--pkcs11-library", token.module, "--pkcs11-pin-file", str(token.pin_file))


def test_the_pkcs11_seal_unseals_itself_and_keeps_its_key_in_the_hsm(tmp_path: Path) -> None:
    with softhsm_token() as token:
        data_dir = tmp_path / "data"
        env = admin_env(**token.env())
        done = operator("init", "--data-dir", str(data_dir), "--seal", "pkcs11",
                        *_pkcs11_args(token), env=env)  # fmt: skip
        assert json.loads(done.stdout)["seal"] == "pkcs11"
        assert not (data_dir / "root.key").exists()
        server = CofreServer(data_dir, root_key="", env=token.env(),
                             extra_args=_serve_args(token)).start()  # fmt: skip
        try:
            assert status(server)["sealed"] is False  # it unsealed itself
            kms = server.client("kms")
            key_id = kms.create_key()["KeyMetadata"]["KeyId"]
            blob = kms.encrypt(KeyId=key_id, Plaintext=b"behind an HSM")["CiphertextBlob"]
            server.stop()
            server.start()  # and again at the next start
            assert (
                server.client("kms").decrypt(CiphertextBlob=blob)["Plaintext"] == b"behind an HSM"
            )
            data_key = server.client("kms").generate_data_key(KeyId=key_id, KeySpec="AES_256")
        finally:
            server.stop()
        _assert_not_extractable(token)
        root = _hsm_open_root(token, _seal_record(data_dir))
        secrets = {"root key": root, "keyring key": _keyring(root, _seal_record(data_dir)),
                   "data key": data_key["Plaintext"]}  # fmt: skip
        found = scan([data_dir, server.log], secrets)
        assert found == [], found

        wrong_pin = tmp_path / "wrong-pin"
        wrong_pin.write_text("0000\n")
        wrong = CofreServer(data_dir, root_key="", env=token.env(),
                            extra_args=("--pkcs11-library", token.module, "--pkcs11-pin-file",
                                        str(wrong_pin))).start(probe="/health/live")  # fmt: skip
        try:
            state = status(wrong)
            assert state["sealed"] is True and "PIN" in state["error"]
            health = httpx.get(f"{wrong.url}/health", timeout=30)
            assert health.status_code == 503 and health.json()["sealed"] is True
        finally:
            wrong.stop()


def test_a_missing_hsm_key_leaves_the_server_sealed(tmp_path: Path) -> None:
    with softhsm_token() as token:
        data_dir = tmp_path / "data"
        env = admin_env(**token.env())
        operator("init", "--data-dir", str(data_dir), "--seal", "pkcs11",
                 *_pkcs11_args(token), env=env)  # fmt: skip
    with softhsm_token() as fresh:  # the same label, a new token: the key is not there
        server = CofreServer(data_dir, root_key="", env=fresh.env(),
                             extra_args=_serve_args(fresh)).start(probe="/health/live")  # fmt: skip
        try:
            state = status(server)
            assert state["sealed"] is True and "no AES key" in state["error"]
        finally:
            server.stop()


def _assert_not_extractable(token: Token) -> None:
    """Through PKCS#11 itself (a process of its own: SoftHSM2 reads its configuration once):
    the key is sensitive and not extractable, and reading its value is refused."""
    probe = f"""
import pkcs11, sys
from pkcs11 import Attribute, KeyType, ObjectClass
from pkcs11.exceptions import AttributeSensitive
lib = pkcs11.lib({token.module!r})
with lib.get_token(token_label={token.label!r}).open(user_pin="1234") as session:
    key = session.get_key(label="cofre-root", key_type=KeyType.AES,
                          object_class=ObjectClass.SECRET_KEY)
    assert key[Attribute.SENSITIVE] is True and key[Attribute.EXTRACTABLE] is False
    assert key[Attribute.NEVER_EXTRACTABLE] is True
    try:
        key[Attribute.VALUE]
    except AttributeSensitive:
        print("refused")
"""
    done = subprocess.run([sys.executable, "-c", probe], env={**os.environ, **token.env()},
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0 and done.stdout.strip() == "refused", done.stderr


def _hsm_open_root(token: Token, record: dict[str, object]) -> bytes:
    """R, decrypted by the HSM itself (a process of its own, python-pkcs11 directly,
    following docs/formats/seal.md): what a byte scan looks for."""
    sealed = base64.b64decode(str(record["sealed_root"]))
    probe = f"""
import pkcs11, sys
from pkcs11 import KeyType, Mechanism, ObjectClass
from pkcs11.mechanisms import GCMParams
sealed = {sealed!r}
lib = pkcs11.lib({token.module!r})
with lib.get_token(token_label={token.label!r}).open(user_pin="1234") as session:
    key = session.get_key(label="cofre-root", key_type=KeyType.AES,
                          object_class=ObjectClass.SECRET_KEY)
    params = GCMParams(sealed[1:13], b"cofre/sealed-root/v1\\x00pkcs11\\x00", 128)
    sys.stdout.write(key.decrypt(sealed[13:], mechanism=Mechanism.AES_GCM,
                                 mechanism_param=params).hex())
"""
    done = subprocess.run([sys.executable, "-c", probe], env={**os.environ, **token.env()},
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return bytes.fromhex(done.stdout)


def _keyring(root: bytes, record: dict[str, object]) -> bytes:
    """K, unwrapped from the seal record under R (AES-GCM, docs/formats/seal.md)."""
    wrapped = base64.b64decode(str(record["keyring"]))
    assert wrapped[0] == 1
    return AESGCM(root).decrypt(wrapped[1:13], wrapped[13:], b"cofre/keyring/v1")


def test_one_cofre_unseals_another_through_its_kms(tmp_path: Path) -> None:
    keeper = CofreServer(tmp_path / "keeper").start()  # the KMS that holds the seal's key
    try:
        kms_a = keeper.client("kms")
        arn = kms_a.create_key(Description="seal of node B")["KeyMetadata"]["Arn"]
        aws = {"AWS_ACCESS_KEY_ID": ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
               "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
        data_dir = tmp_path / "b"
        done = operator("init", "--data-dir", str(data_dir), "--seal", "kms",
                        "--seal-kms-key-id", arn, "--seal-kms-endpoint-url", keeper.url,
                        env=admin_env(**aws))  # fmt: skip
        assert json.loads(done.stdout)["seal"] == "kms"
        node = CofreServer(data_dir, root_key="", env=aws)
        node.start()
        try:
            assert status(node)["sealed"] is False
            kms_b = node.client("kms")
            key_id = kms_b.create_key()["KeyMetadata"]["KeyId"]
            blob = kms_b.encrypt(KeyId=key_id, Plaintext=b"b's secret")["CiphertextBlob"]
            node.stop()
            kms_a.disable_key(KeyId=arn)
            node.start(probe="/health/live")
            state = status(node)
            assert state["sealed"] is True and "DisabledException" in state["error"]
            node.stop()
            kms_a.enable_key(KeyId=arn)
            node.start()
            assert node.client("kms").decrypt(CiphertextBlob=blob)["Plaintext"] == b"b's secret"
            data_key = node.client("kms").generate_data_key(KeyId=key_id, KeySpec="AES_256")
            record = _seal_record(data_dir)
            assert record["type"] == "kms"
        finally:
            node.stop()
        # R, as the keeper's KMS gives it back to whoever may decrypt under its key
        root = kms_a.decrypt(CiphertextBlob=base64.b64decode(str(record["sealed_root"])),
                             EncryptionContext={"cofre-seal": "root-key"})["Plaintext"]  # fmt: skip
        secrets = {"root key": root, "keyring key": _keyring(root, record),
                   "data key": data_key["Plaintext"]}  # fmt: skip
        found = scan([data_dir, node.log], secrets)
        assert found == [], found
    finally:
        keeper.stop()


def _seal_record(data_dir: Path) -> dict[str, object]:
    import sqlite3

    with sqlite3.connect(data_dir / "cofre.db") as conn:
        row = conn.execute("SELECT value FROM meta WHERE name = 'seal'").fetchone()
    assert row is not None
    result: dict[str, object] = json.loads(row[0])
    return result


@pytest.mark.parametrize("seal", ["pkcs11", "kms"])
def test_development_mode_refuses_a_real_seal(tmp_path: Path, seal: str) -> None:
    """The test hooks (a clock offset) are for stores on the file seal only."""
    if seal == "kms":
        keeper = CofreServer(tmp_path / "keeper").start()
        try:
            arn = keeper.client("kms").create_key()["KeyMetadata"]["Arn"]
            aws = {"AWS_ACCESS_KEY_ID": ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
                   "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
            operator("init", "--data-dir", str(tmp_path / "d"), "--seal", "kms",
                     "--seal-kms-key-id", arn, "--seal-kms-endpoint-url", keeper.url,
                     env=admin_env(**aws))  # fmt: skip
            node = CofreServer(tmp_path / "d", root_key="", env=aws, extra_args=("--dev",))
            with pytest.raises(RuntimeError, match="development mode"):
                node.start()
            node.stop()
        finally:
            keeper.stop()
        return
    with softhsm_token() as token:
        operator("init", "--data-dir", str(tmp_path / "d"), "--seal", "pkcs11",
                 *_pkcs11_args(token), env=admin_env(**token.env()))  # fmt: skip
        node = CofreServer(tmp_path / "d", root_key="", env=token.env(),
                           extra_args=(*_serve_args(token), "--dev"))  # fmt: skip
        with pytest.raises(RuntimeError, match="development mode"):
            node.start()
        node.stop()
