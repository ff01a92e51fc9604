"""Helpers for the root-of-trust tests: ``cofre operator`` as a subprocess, a private
SoftHSM2 token, and an independent reading of a Shamir store (from the documented
formats, with pycryptodome directly) that recovers its keys for byte scans."""

from __future__ import annotations

import base64
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from Crypto.Protocol.SecretSharing import Shamir
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tests.support.server import ACCESS_KEY_ID, ACCOUNT_ID, COFRE, SECRET_ACCESS_KEY, CofreServer

SOFTHSM_MODULES = ("/usr/lib/softhsm/libsofthsm2.so",
                   "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so")  # fmt: skip


def admin_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COFRE_", "AWS_"))}
    env.update(
        COFRE_ADMIN_ACCESS_KEY_ID=ACCESS_KEY_ID,
        COFRE_ADMIN_SECRET_ACCESS_KEY=SECRET_ACCESS_KEY,
        COFRE_ACCOUNT_ID=ACCOUNT_ID,
    )
    env.update(extra)
    return env


def operator(
    *args: str, env: dict[str, str] | None = None, stdin: str = "", check: bool = True
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [COFRE, "operator", *args], input=stdin, env=env or admin_env(),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if check and done.returncode != 0:
        raise AssertionError(f"cofre operator {' '.join(args)}: {done.stdout}{done.stderr}")
    return done


def unseal(server: CofreServer, share: str) -> dict[str, Any]:
    done = operator("unseal", "--endpoint-url", server.url, stdin=share + "\n")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def status(server: CofreServer) -> dict[str, Any]:
    result: dict[str, Any] = httpx.get(f"{server.url}/cofre/operator/status", timeout=30).json()
    return result


# Independent reading of a shamir store --------------------------------------------------------
@dataclass
class StoreKeys:
    unseal_key: bytes
    root: bytes
    keyring: bytes


def _record(data_dir: Path, database: str | None) -> dict[str, Any]:
    if database:
        with psycopg.connect(database) as conn:
            row = conn.execute("SELECT value FROM meta WHERE name = 'seal'").fetchone()
    else:
        with sqlite3.connect(data_dir / "cofre.db") as conn:
            row = conn.execute("SELECT value FROM meta WHERE name = 'seal'").fetchone()
    assert row is not None
    document: dict[str, Any] = json.loads(row[0])
    return document


def _unwrap(key: bytes, wrapped: bytes, aad: bytes) -> bytes:
    assert wrapped[0] == 1
    return AESGCM(key).decrypt(wrapped[1:13], wrapped[13:], aad)


def recover_shamir_keys(data_dir: Path, database: str | None, shares: list[str]) -> StoreKeys:
    """U, R and K of a shamir store from ``threshold`` of its unseal keys, following
    docs/formats/seal.md with pycryptodome and AESGCM directly (not Cofre's code)."""
    record = _record(data_dir, database)
    points = []
    for text in shares:
        raw = base64.b64decode(text)
        index, set_id, y = raw[2], raw[3:11], raw[11:43]
        points.append((index, y))
    low = Shamir.combine([(i, y[:16]) for i, y in points])
    high = Shamir.combine([(i, y[16:]) for i, y in points])
    unseal_key = low + high
    set_id = base64.b64decode(record["shamir"]["set_id"])
    aad = b"cofre/sealed-root/v1\x00shamir\x00" + set_id
    root = _unwrap(unseal_key, base64.b64decode(record["sealed_root"]), aad)
    keyring = _unwrap(root, base64.b64decode(record["keyring"]), b"cofre/keyring/v1")
    return StoreKeys(unseal_key, root, keyring)


def scan(paths: list[Path], secrets: dict[str, bytes]) -> list[str]:
    """Which ``secrets`` (name -> bytes, raw and base64) appear in the files under
    ``paths``: ``name in path``."""
    found = []
    for root in paths:
        files = [root] if root.is_file() else [p for p in root.rglob("*") if p.is_file()]
        for path in files:
            data = path.read_bytes()
            for name, secret in secrets.items():
                forms = (secret, base64.b64encode(secret), secret.hex().encode())
                if any(form in data for form in forms):
                    found.append(f"{name} in {path}")
    return found


def postgres_dump(database: str) -> bytes:
    """Every row of every table, as text (for a byte scan of a PostgreSQL store)."""
    parts = []
    with psycopg.connect(database) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")]  # fmt: skip
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, (bytes, memoryview)):
                        parts.append(bytes(value))
                    else:
                        parts.append(str(value).encode())
    return b"\n".join(parts)


# SoftHSM2 -------------------------------------------------------------------------------------
@dataclass
class Token:
    module: str
    conf: Path
    label: str
    pin_file: Path

    def env(self) -> dict[str, str]:
        return {"SOFTHSM2_CONF": str(self.conf)}


def softhsm_missing() -> str | None:
    if shutil.which("softhsm2-util") is None or not any(os.path.exists(m) for m in SOFTHSM_MODULES):
        return (
            "SoftHSM2 is not installed (Debian package softhsm2; ./scripts/bootstrap installs it)"
        )
    try:
        import pkcs11  # noqa: F401
    except ImportError:
        return "python-pkcs11 is not installed"
    return None


@contextmanager
def softhsm_token(label: str = "cofre-test", pin: str = "1234") -> Iterator[Token]:
    why = softhsm_missing()
    if why is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"SoftHSM2 is required in CI: {why}")
        pytest.skip(why)
    module = next(m for m in SOFTHSM_MODULES if os.path.exists(m))
    base = Path(tempfile.mkdtemp(prefix="cofre-softhsm-"))
    try:
        tokens = base / "tokens"
        tokens.mkdir(mode=0o700)
        conf = base / "softhsm2.conf"
        conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\n"
                        "log.level = ERROR\nslots.removable = false\n")  # fmt: skip
        subprocess.run(
            ["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin,
             "--so-pin", "5678"],
            env={**os.environ, "SOFTHSM2_CONF": str(conf)}, check=True,
            capture_output=True, timeout=60,
        )  # fmt: skip
        pin_file = base / "pin"
        pin_file.write_text(pin + "\n")
        pin_file.chmod(0o600)
        yield Token(module, conf, label, pin_file)
    finally:
        shutil.rmtree(base, ignore_errors=True)
