"""Secrets at rest: nothing secret is written in the clear, to the database, files or logs.

After real traffic (data keys, encryptions, key creation) every file in the data dir
(SQLite database, -wal, -shm and anything else) and, on PostgreSQL, every row of every
table is scanned for the data key plaintexts, the plaintexts, the admin secret access key
and the root key, raw and in the usual text encodings. The server log is scanned too.
Generated secrets (root.key, admin-credentials.json) live in 0600 files.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import psycopg
import pytest
from botocore.exceptions import ClientError
from psycopg import sql

from tests.conftest import BACKENDS
from tests.support.backends import backend_database
from tests.support.server import ACCOUNT_ID, SECRET_ACCESS_KEY, CofreServer

LOG_LEVEL = ("--log-level", "debug")  # the most talkative the server gets
BLANK_SECRETS_ENV = {
    "COFRE_ADMIN_ACCESS_KEY_ID": "",
    "COFRE_ADMIN_SECRET_ACCESS_KEY": "",
    "COFRE_ROOT_KEY": "",
}


def forms(secret: bytes) -> dict[str, bytes]:
    """The ways a secret could be written down: raw, base64 (both alphabets), hex."""
    b64 = base64.b64encode(secret)
    return {
        "raw": secret,
        "base64": b64,
        "base64-unpadded": b64.rstrip(b"="),
        "base64url": base64.urlsafe_b64encode(secret).rstrip(b"="),
        "hex": secret.hex().encode(),
        "HEX": secret.hex().upper().encode(),
    }


def find_secrets(haystack: bytes, secrets: dict[str, bytes]) -> list[str]:
    """Names (and forms) of the secrets that occur in ``haystack``."""
    return [
        f"{name} ({form})"
        for name, secret in secrets.items()
        for form, needle in forms(secret).items()
        if needle in haystack
    ]


def files_under(directory: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def postgres_dump(url: str) -> bytes:
    """Every row of every table (outside the system schemas), as raw values and as text."""
    parts: list[bytes] = []
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables"
            " WHERE table_type = 'BASE TABLE'"
            " AND table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
        assert tables, "no tables found in the PostgreSQL database"
        for schema, table in tables:
            name = sql.Identifier(schema, table)
            for row in conn.execute(sql.SQL("SELECT * FROM {}").format(name)):
                for value in row:
                    if isinstance(value, bytes | bytearray | memoryview):
                        parts.append(bytes(value))
                    else:
                        parts.append(str(value).encode())
            for (text,) in conn.execute(sql.SQL("SELECT t::text FROM {} AS t").format(name)):
                parts.append(text.encode())
    return b"\n".join(parts)


def assert_nothing_found(where: dict[str, bytes], secrets: dict[str, bytes]) -> None:
    leaks = {name: found for name, data in where.items() if (found := find_secrets(data, secrets))}
    assert leaks == {}, f"secrets found at rest: {leaks}"


def make_traffic(kms: Any) -> tuple[dict[str, bytes], list[str]]:
    """Data keys, encryptions and keys; the secrets that went over the wire, the key ids."""
    secrets: dict[str, bytes] = {}
    key_ids = [kms.create_key(Description="at rest")["KeyMetadata"]["KeyId"] for _ in range(3)]
    for i, key_id in enumerate(key_ids):
        for spec in ({"KeySpec": "AES_256"}, {"KeySpec": "AES_128"}, {"NumberOfBytes": 64}):
            out = kms.generate_data_key(KeyId=key_id, EncryptionContext={"n": str(i)}, **spec)
            secrets[f"data key {i} {spec}"] = out["Plaintext"]
            opened = kms.decrypt(
                CiphertextBlob=out["CiphertextBlob"], EncryptionContext={"n": str(i)}
            )
            assert opened["Plaintext"] == out["Plaintext"]
        plaintext = f"COFRE-AT-REST-PLAINTEXT-{i}-{os.urandom(12).hex()}".encode()
        secrets[f"plaintext {i}"] = plaintext
        blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext)["CiphertextBlob"]
        assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == plaintext
        binary = os.urandom(48)
        secrets[f"binary plaintext {i}"] = binary
        blob = kms.encrypt(KeyId=key_id, Plaintext=binary)["CiphertextBlob"]
        assert kms.re_encrypt(CiphertextBlob=blob, DestinationKeyId=key_ids[0])["KeyId"]
    kms.rotate_key_on_demand(KeyId=key_ids[0])  # a second version of wrapped material
    secrets["random bytes"] = kms.generate_random(NumberOfBytes=64)["Plaintext"]
    return secrets, key_ids


def storage_contents(server: CofreServer) -> dict[str, bytes]:
    where = {f"data dir: {name}": data for name, data in files_under(server.data_dir).items()}
    if server.database:
        where["postgres dump"] = postgres_dump(server.database)
    return where


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_secret_at_rest(backend: str, tmp_path: Path) -> None:
    with backend_database(backend) as database:
        server = CofreServer(tmp_path / "data", database=database, extra_args=LOG_LEVEL).start()
        try:
            secrets, key_ids = make_traffic(server.client())
            secrets["admin secret access key"] = SECRET_ACCESS_KEY.encode()
            secrets["root key"] = base64.b64decode(server.root_key)
            running = storage_contents(server)  # with SQLite's -wal and -shm in place
        finally:
            server.stop()
        stopped = storage_contents(server)
        print(f"\n[{backend}] scanned: {sorted(running)} (running), {sorted(stopped)} (stopped)")

        # The scan looks at the real store: the (non-secret) key ids are in it.
        everything = b"".join([*running.values(), *stopped.values()])
        assert all(key_id.encode() in everything for key_id in key_ids)
        # The root key came from the environment: no copy of it in the data dir.
        assert not (server.data_dir / "root.key").exists()
        assert not (server.data_dir / "admin-credentials.json").exists()
        assert_nothing_found(running, secrets)
        assert_nothing_found(stopped, secrets)
        assert_nothing_found({"server log": server.log.read_bytes()}, secrets)
        assert server.data_dir.stat().st_mode & 0o077 == 0, "data dir open to group/others"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def generated_credentials(server: CofreServer) -> dict[str, str]:
    path = server.data_dir / "admin-credentials.json"
    assert mode(path) == 0o600
    document: dict[str, str] = json.loads(path.read_text())
    assert set(document) >= {"account_id", "access_key_id", "secret_access_key"}
    return document


def client_with(server: CofreServer, document: dict[str, str]) -> Any:
    return server.client(
        aws_access_key_id=document["access_key_id"],
        aws_secret_access_key=document["secret_access_key"],
    )


def use(kms: Any, account_id: str) -> None:
    meta = kms.create_key()["KeyMetadata"]
    assert meta["AWSAccountId"] == account_id
    blob = kms.encrypt(KeyId=meta["KeyId"], Plaintext=b"generated")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"generated"


def scan_logs(paths: Iterable[Path]) -> dict[str, bytes]:
    return {f"log {path.name}": path.read_bytes() for path in paths}


@pytest.mark.parametrize("backend", BACKENDS)
def test_generated_secrets_are_private_files(backend: str, tmp_path: Path) -> None:
    with backend_database(backend) as database:
        data_dir = tmp_path / "data"
        server = CofreServer(
            data_dir, database=database, env=BLANK_SECRETS_ENV, extra_args=LOG_LEVEL
        ).start()
        try:
            root_file = data_dir / "root.key"
            assert mode(root_file) == 0o600
            root_key = root_file.read_bytes()
            assert len(root_key) == 32
            document = generated_credentials(server)
            assert document["account_id"] == ACCOUNT_ID  # COFRE_ACCOUNT_ID is still set
            assert document["secret_access_key"] != SECRET_ACCESS_KEY
            use(client_with(server, document), document["account_id"])
            # The fixed test credentials are not configured on this server.
            with pytest.raises(ClientError) as refused:
                server.client().list_keys()
            assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"
        finally:
            server.stop()
        first_log = server.log

        # A restart reuses both files; the credentials still work.
        server.port = 0
        server.start()
        try:
            assert root_file.read_bytes() == root_key
            assert generated_credentials(server) == document
            use(client_with(server, document), document["account_id"])
        finally:
            server.stop()

        secrets = {
            "generated secret access key": document["secret_access_key"].encode(),
            "generated root key": root_key,
        }
        assert_nothing_found(scan_logs({first_log, server.log}), secrets)
        store = storage_contents(server)
        del store["data dir: root.key"], store["data dir: admin-credentials.json"]
        assert_nothing_found(store, secrets)


def test_root_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    server = CofreServer(tmp_path / "data", env=BLANK_SECRETS_ENV).start()
    server.stop()
    root_file = server.data_dir / "root.key"
    root_file.chmod(0o644)
    server.port = 0
    with pytest.raises(RuntimeError, match="exited"):
        server.start()
    server.stop()
    assert "root.key" in server.log.read_text()
