"""``cofre encrypt`` / ``cofre decrypt``: the real command, run as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from cofre import esdk
from tests.esdk import official

COFRE = str(Path(sys.executable).with_name("cofre"))
P = esdk.CommitmentPolicy


def cofre(
    *args: str, input: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [COFRE, *args], input=input, capture_output=True, timeout=120,
        env={**os.environ, **(env or {})}, check=False,
    )  # fmt: skip


@pytest.fixture
def keys(tmp_path: Path, aes_key: bytes, rsa_key: rsa.RSAPrivateKey, rsa_pem: bytes) -> Any:
    (tmp_path / "aes.key").write_bytes(aes_key)
    (tmp_path / "rsa.pem").write_bytes(rsa_pem)
    public = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (tmp_path / "rsa.pub").write_bytes(public)

    def spec(provider: str, file: str, name: str) -> list[str]:
        return ["-w", f"provider={provider}", f"key-file={tmp_path / file}",
                "key-namespace=cofre-test", f"key-name={name}"]  # fmt: skip

    return SimpleNamespace(
        aes=spec("raw-aes", "aes.key", "aes-1"),
        rsa_public=spec("raw-rsa", "rsa.pub", "rsa-1"),
        rsa_private=spec("raw-rsa", "rsa.pem", "rsa-1"),
    )


def leftovers(directory: Path) -> list[str]:
    return [p.name for p in directory.iterdir() if p.name.endswith(".partial")]


def test_raw_aes_files_metadata_and_official_interop(
    tmp_path: Path, keys: Any, aes_key: bytes
) -> None:
    plain = tmp_path / "data.bin"
    plain.write_bytes(os.urandom(10_000))
    meta = tmp_path / "meta.jsonl"
    result = cofre("encrypt", "-i", str(plain), "-o", str(tmp_path), *keys.aes,
                   "-c", "purpose=cli", "tenant=acme", "--metadata-output", str(meta))  # fmt: skip
    assert result.returncode == 0, result.stderr
    encrypted = tmp_path / "data.bin.encrypted"
    record = json.loads(meta.read_text())
    assert record["mode"] == "encrypt" and record["output"] == str(encrypted)
    assert record["header"]["algorithm"] == "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384"
    assert record["header"]["encryption_context"]["tenant"] == "acme"
    # the official SDK decrypts what cofre encrypt wrote ...
    client = official.client(P.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)
    provider = official.aes_master_key("cofre-test", "aes-1", aes_key)
    decrypted, _ = client.decrypt(source=encrypted.read_bytes(), key_provider=provider)
    assert decrypted == plain.read_bytes()
    # ... and cofre decrypt reads what the official SDK wrote
    theirs = tmp_path / "theirs.encrypted"
    theirs.write_bytes(client.encrypt(source=plain.read_bytes(), key_provider=provider,
                                      encryption_context={"purpose": "cli"})[0])  # fmt: skip
    out = tmp_path / "theirs.out"
    result = cofre("decrypt", "-i", str(theirs), "-o", str(out), *keys.aes, "-c", "purpose=cli",
                   "--metadata-output", str(meta))  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == plain.read_bytes()
    assert oct(out.stat().st_mode & 0o777) == "0o600"  # plaintext is private
    assert json.loads(meta.read_text().splitlines()[1])["mode"] == "decrypt"
    assert leftovers(tmp_path) == []


def test_raw_rsa_public_encrypts_private_decrypts(tmp_path: Path, keys: Any) -> None:
    plain = tmp_path / "rsa.txt"
    plain.write_bytes(b"rsa message")
    result = cofre("encrypt", "-i", str(plain), "-o", str(tmp_path / "rsa.enc"),
                   *keys.rsa_public, "-S", "--algorithm", "AES_256_GCM_HKDF_SHA512_COMMIT_KEY",
                   "--frame-length", "0")  # fmt: skip
    assert result.returncode == 0, result.stderr
    result = cofre("decrypt", "-i", str(tmp_path / "rsa.enc"), "-o", "-", *keys.rsa_private, "-S")
    assert (result.returncode, result.stdout) == (0, b"rsa message")
    result = cofre("decrypt", "-i", str(tmp_path / "rsa.enc"), "-o", "-", *keys.rsa_public, "-S")
    assert result.returncode == 2 and b"private key" in result.stderr


def test_directory_recursion(tmp_path: Path, keys: Any) -> None:
    src = tmp_path / "src"
    files = {"a.txt": b"a" * 10, "sub/b.bin": os.urandom(5000), "sub/deeper/c": b""}
    for name, data in files.items():
        (src / name).parent.mkdir(parents=True, exist_ok=True)
        (src / name).write_bytes(data)
    result = cofre("encrypt", "-r", "-i", str(src), "-o", str(tmp_path / "enc"), *keys.aes, "-S",
                   "--caching", "capacity=10", "max_age=60")  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "enc" / "sub" / "b.bin.encrypted").is_file()
    result = cofre("decrypt", "-r", "-i", str(tmp_path / "enc"), "-o", str(tmp_path / "dec"),
                   *keys.aes, "--metadata-output", "-", "--suffix")  # fmt: skip
    assert result.returncode == 0, result.stderr
    for name, data in files.items():
        assert (tmp_path / "dec" / (name + ".encrypted")).read_bytes() == data
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == 3
    # --caching: one data key for all three files
    assert len({json.dumps(r["header"]["encrypted_data_keys"]) for r in records}) == 1
    result = cofre("encrypt", "-i", str(src), "-o", str(tmp_path / "x"), *keys.aes, "-S")
    assert result.returncode == 2 and b"--recursive" in result.stderr


def test_stdin_and_stdout(keys: Any) -> None:
    data = os.urandom(70_000)
    enc = cofre("encrypt", "-i", "-", "-o", "-", *keys.aes, "-S", "--frame-length", "1024",
                "--algorithm", "0x0478", input=data)  # fmt: skip
    assert enc.returncode == 0, enc.stderr
    dec = cofre("decrypt", "-i", "-", "-o", "-", *keys.aes, "-S", input=enc.stdout)
    assert (dec.returncode, dec.stdout) == (0, data)
    trailing = cofre("decrypt", "-i", "-", "-o", "-", *keys.aes, "-S", input=enc.stdout + b"x")
    assert trailing.returncode == 1 and trailing.stdout == b""
    assert b"trailing bytes" in trailing.stderr


def test_refuses_to_overwrite(tmp_path: Path, keys: Any) -> None:
    plain, target = tmp_path / "p", tmp_path / "p.enc"
    plain.write_bytes(b"new")
    target.write_bytes(b"precious")
    result = cofre("encrypt", "-i", str(plain), "-o", str(target), *keys.aes, "-S")
    assert result.returncode == 1 and b"exists (use --overwrite)" in result.stderr
    assert target.read_bytes() == b"precious" and leftovers(tmp_path) == []
    assert result.stderr.count(b"\n") == 1 and b"Traceback" not in result.stderr
    result = cofre("encrypt", "-i", str(plain), "-o", str(target), *keys.aes, "-S",
                   "--no-overwrite")  # fmt: skip
    assert result.returncode == 0 and target.read_bytes() == b"precious"
    result = cofre("encrypt", "-i", str(plain), "-o", str(target), *keys.aes, "-S", "--overwrite")
    assert result.returncode == 0 and target.read_bytes() != b"precious"
    result = cofre("encrypt", "-i", str(plain), "-o", str(target), *keys.aes, "-S",
                   "--overwrite", "--no-overwrite")  # fmt: skip
    assert result.returncode == 2


@pytest.mark.parametrize("algorithm", ["0x0478", "0x0578"])
def test_tampered_message_leaves_no_output(tmp_path: Path, keys: Any, algorithm: str) -> None:
    plain = tmp_path / "big"
    plain.write_bytes(os.urandom(3 << 20))  # several batches of frames
    enc = tmp_path / "big.enc"
    result = cofre("encrypt", "-i", str(plain), "-o", str(enc), *keys.aes, "-S",
                   "--algorithm", algorithm)  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = bytearray(enc.read_bytes())
    data[-200] ^= 1  # in the last frames: earlier batches verify first
    enc.write_bytes(bytes(data))
    for target in (tmp_path / "out", Path("-")):
        result = cofre("decrypt", "-i", str(enc), "-o", str(target), *keys.aes, "-S")
        assert result.returncode == 1
        assert b"authentication failed" in result.stderr and result.stdout == b""
        assert not (tmp_path / "out").exists() and leftovers(tmp_path) == []


def test_decrypt_requires_context(tmp_path: Path, keys: Any) -> None:
    plain, enc, out = tmp_path / "p", tmp_path / "p.enc", tmp_path / "p.out"
    plain.write_bytes(b"ctx")
    assert cofre("encrypt", "-i", str(plain), "-o", str(enc), *keys.aes, "-S",
                 "-c", "purpose=test").returncode == 0  # fmt: skip
    for context in (["purpose=other"], ["purpose", "tenant"], ["tenant=acme"]):
        result = cofre("decrypt", "-i", str(enc), "-o", str(out), *keys.aes, "-S", "-c", *context)
        assert result.returncode == 1, context
        assert not out.exists() and leftovers(tmp_path) == []
    assert (
        b"lacks required keys: tenant"
        in cofre(
            "decrypt", "-i", str(enc), "-o", str(out), *keys.aes, "-S", "-c", "purpose", "tenant"
        ).stderr
    )
    result = cofre("decrypt", "-i", str(enc), "-o", str(out), *keys.aes, "-S", "-c", "purpose")
    assert result.returncode == 0 and out.read_bytes() == b"ctx"


def test_usage_errors(tmp_path: Path, keys: Any) -> None:
    plain = tmp_path / "p"
    plain.write_bytes(b"x")
    for args in (
        [],  # neither --metadata-output nor -S
        ["-S", "--metadata-output", "-"],
        ["-S", "--algorithm", "ROT13"],
        ["-S", "-c", "novalue"],
    ):
        result = cofre("encrypt", "-i", str(plain), "-o", str(tmp_path / "o"), *keys.aes, *args)
        assert result.returncode == 2, args
    result = cofre("encrypt", "-i", str(plain), "-o", "-", "-S", "-w", "provider=raw-aes",
                   "key-file=/nonexistent", "key-namespace=n", "key-name=k")  # fmt: skip
    assert result.returncode == 2 and b"cannot read /nonexistent" in result.stderr


def test_bad_signature_leaves_no_output(tmp_path: Path, keys: Any) -> None:
    """A signed message's frames go straight to the temporary output file (no second copy
    held back); a signature that fails at the very end still leaves nothing behind."""
    plain = tmp_path / "big"
    plain.write_bytes(os.urandom(3 << 20))
    enc = tmp_path / "big.enc"
    result = cofre("encrypt", "-i", str(plain), "-o", str(enc), *keys.aes, "-S")
    assert result.returncode == 0, result.stderr
    data = bytearray(enc.read_bytes())
    data[-5] ^= 1  # in the footer's signature: every frame authenticates
    enc.write_bytes(bytes(data))
    out = tmp_path / "out"
    result = cofre("decrypt", "-i", str(enc), "-o", str(out), *keys.aes, "-S")
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(b"cofre decrypt: ") and result.stderr.count(b"\n") == 1
    assert not out.exists() and leftovers(tmp_path) == []
