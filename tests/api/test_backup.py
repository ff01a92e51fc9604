"""``cofre backup`` of a serving store under a write load, ``cofre backup verify``, and
``cofre restore`` into a new data directory and into PostgreSQL (both ways), checked by
real servers opened on the restored stores.

Each source backend gets one store with a bit of everything (keys of each kind with
aliases, tags and grants, an IAM user and policy, parameters with versions and labels, a
SecureString, a webhook with undelivered notifications, the audit trail) and one backup
taken while a thread keeps creating keys and parameters.
"""

from __future__ import annotations

import base64
import os
import secrets
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from cofre.config import Settings
from cofre.core.backup.rows import Row
from cofre.service.backup.read import read_backup
from cofre.storage.migrate import migrations
from cofre.stores import open_snapshot
from tests.conftest import BACKENDS, require_postgres
from tests.support.iam import allow, document
from tests.support.server import COFRE, CofreServer, free_port, postgres_database
from tests.support.webhooks import create_hook

pytestmark = pytest.mark.timeout(600)


@dataclass
class Source:
    server: CofreServer
    backend: str
    backup: Path
    output: str
    keys_before: list[str]  # created and acknowledged before the backup started
    params_before: list[str]
    ciphertexts: dict[bytes, bytes] = field(default_factory=dict)  # blob -> plaintext
    during: int = 0  # writes acknowledged while the backup ran

    def cofre(self, *args: str, root_key: str | None = None) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "COFRE_ROOT_KEY": self.server.root_key if root_key is None else root_key,
        }
        return subprocess.run([COFRE, *args], env=env, capture_output=True, text=True, timeout=300)


def _workload(server: CofreServer) -> dict[bytes, bytes]:
    kms, ssm, iam = server.client("kms"), server.client("ssm"), server.client("iam")
    ciphertexts: dict[bytes, bytes] = {}
    symmetric = kms.create_key(Description="backed up", Tags=[{"TagKey": "team", "TagValue": "a"}])
    key_id = symmetric["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName="alias/backed-up", TargetKeyId=key_id)
    kms.create_grant(KeyId=key_id, GranteePrincipal="arn:aws:iam::111122223333:root",
                     Operations=["Decrypt"], Name="g1")  # fmt: skip
    kms.enable_key_rotation(KeyId=key_id)
    for n in range(3):
        plaintext = secrets.token_bytes(32 + n)
        ciphertexts[kms.encrypt(KeyId=key_id, Plaintext=plaintext)["CiphertextBlob"]] = plaintext
    kms.rotate_key_on_demand(KeyId=key_id)
    plaintext = b"after the rotation"
    ciphertexts[kms.encrypt(KeyId="alias/backed-up", Plaintext=plaintext)["CiphertextBlob"]] = (
        plaintext
    )
    kms.create_key(KeySpec="RSA_2048", KeyUsage="ENCRYPT_DECRYPT")
    kms.create_key(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    iam.create_user(UserName="alice")
    iam.put_user_policy(UserName="alice", PolicyName="p", PolicyDocument=document(allow("kms:*")))
    iam.create_access_key(UserName="alice")
    ssm.put_parameter(Name="/app/db", Value="v1", Type="String")
    ssm.put_parameter(Name="/app/db", Value="v2", Type="String", Overwrite=True)
    ssm.label_parameter_version(Name="/app/db", ParameterVersion=1, Labels=["old"])
    ssm.put_parameter(Name="/app/secret", Value="s3cr3t", Type="SecureString", KeyId=key_id)
    create_hook(server, f"http://127.0.0.1:{free_port()}/nobody-listens")
    ssm.put_parameter(Name="/app/notified", Value="x", Type="String")  # an undelivered event
    return ciphertexts


class WriteLoad:
    """A thread creating keys and parameters until stopped; what it had acknowledged, when."""

    def __init__(self, server: CofreServer) -> None:
        self.kms, self.ssm = server.client("kms"), server.client("ssm")
        self.acked: list[tuple[float, str, str]] = []  # (monotonic time, kind, id)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set() and n < 2000:
            key = self.kms.create_key(Description=f"load {n}")["KeyMetadata"]["KeyId"]
            self.acked.append((time.monotonic(), "key", key))
            self.ssm.put_parameter(Name=f"/load/{n}", Value=str(n), Type="String")
            self.acked.append((time.monotonic(), "param", f"/load/{n}"))
            n += 1

    def __enter__(self) -> WriteLoad:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


@contextmanager
def _database(backend: str) -> Iterator[str | None]:
    if backend == "postgres":
        require_postgres()
        with postgres_database() as url:
            yield url
    else:
        yield None


@pytest.fixture(scope="module", params=BACKENDS)
def source(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Source]:
    tmp = tmp_path_factory.mktemp(f"backup-{request.param}")
    with _database(request.param) as url:
        server = CofreServer(tmp / "data", database=url).start()
        try:
            ciphertexts = _workload(server)
            backup = tmp / "store.cbk"
            with WriteLoad(server) as load:
                while len(load.acked) < 20:
                    time.sleep(0.05)
                started = time.monotonic()
                args = ["backup", "--data-dir", str(server.data_dir), "--output", str(backup)]
                if url:
                    args += ["--database", url]
                env = {**os.environ, "COFRE_ROOT_KEY": server.root_key}
                done = subprocess.run([COFRE, *args], env=env, capture_output=True, text=True,
                                      timeout=300)  # fmt: skip
                ended = time.monotonic()
            assert done.returncode == 0, done.stderr
            before = [(kind, ident) for at, kind, ident in load.acked if at < started]
            yield Source(
                server, request.param, backup, done.stdout,
                keys_before=[i for k, i in before if k == "key"],
                params_before=[i for k, i in before if k == "param"],
                ciphertexts=ciphertexts,
                during=sum(1 for at, _, _ in load.acked if started <= at < ended),
            )  # fmt: skip
        finally:
            server.stop()


def _table_rows(settings: Settings) -> dict[str, list[Row]]:
    """Every row of every table of a store, in key order, through a snapshot."""
    with open_snapshot(settings) as snapshot:
        return {
            t.name: [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                     for batch in snapshot.rows(t, 1000) for row in batch]
            for t in snapshot.tables()
        }  # fmt: skip


def _backup_rows(path: Path) -> dict[str, list[Row]]:
    seen: dict[str, list[Row]] = {}
    with open(path, "rb") as read:
        summary = read_backup(
            read.read, on_rows=lambda t, rows: seen.setdefault(t.name, []).extend(rows)
        )
    return {name: seen.get(name, []) for name in summary.tables}


def _schema_tables(dialect: str) -> set[str]:
    """The tables the migrations leave, read from their SQL (not from a database)."""
    tables: set[str] = set()
    for migration in migrations(dialect):
        for statement in migration.statements():
            words = statement.split()
            if words[:2] == ["CREATE", "TABLE"]:
                tables.add(words[2 + (words[2:5] == ["IF", "NOT", "EXISTS"]) * 3].split("(")[0])
            elif words[:2] == ["DROP", "TABLE"]:
                tables.discard(words[-1])
    return tables


def test_backup_says_what_it_wrote_and_verifies(source: Source) -> None:
    assert source.during > 0  # the backup ran while writes went on
    assert "backup written to" in source.output
    assert "audit chain head: seq" in source.output
    checked = source.cofre("backup", "verify", str(source.backup))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.startswith("backup intact:")
    assert checked.stdout.splitlines()[1:] == source.output.splitlines()[1:3]


def test_every_table_of_the_schema_is_in_the_backup(source: Source) -> None:
    dialect = "postgresql" if source.backend == "postgres" else "sqlite"
    expected = _schema_tables(dialect)
    assert len(expected) > 20
    assert set(_backup_rows(source.backup)) == expected


@pytest.mark.parametrize("target", BACKENDS)
def test_restore_rebuilds_a_store_a_server_serves(
    source: Source, target: str, tmp_path: Path
) -> None:
    with _database(target) as url:
        data_dir = tmp_path / "restored"
        args = ["restore", "--input", str(source.backup), "--data-dir", str(data_dir)]
        done = source.cofre(*args, *(["--database", url] if url else []))
        assert done.returncode == 0, done.stdout + done.stderr
        assert "the root key found here opens the restored store" in done.stdout
        settings = Settings(data_dir=data_dir, database=url)
        assert _table_rows(settings) == _backup_rows(source.backup)  # every row, every table

        verified = subprocess.run(
            [COFRE, "audit", "verify", "--data-dir", str(data_dir),
             *(["--database", url] if url else [])],
            env={**os.environ, "COFRE_ROOT_KEY": source.server.root_key},
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert verified.returncode == 0, verified.stdout + verified.stderr

        server = CofreServer(data_dir, database=url, root_key=source.server.root_key).start()
        try:
            kms, ssm = server.client("kms"), server.client("ssm")
            for blob, plaintext in source.ciphertexts.items():
                assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == plaintext
            for key_id in source.keys_before:
                assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["Enabled"]
            names = source.params_before
            for at in range(0, len(names), 10):
                found = ssm.get_parameters(Names=names[at : at + 10])
                assert found["InvalidParameters"] == []
            secret = ssm.get_parameter(Name="/app/secret", WithDecryption=True)["Parameter"]
            assert secret["Value"] == "s3cr3t"
            history = ssm.get_parameter_history(Name="/app/db")["Parameters"]
            assert [(p["Value"], p["Labels"]) for p in history] == [("v1", ["old"]), ("v2", [])]
            assert kms.list_aliases(KeyId=kms.describe_key(KeyId="alias/backed-up")
                                    ["KeyMetadata"]["KeyId"])["Aliases"]  # fmt: skip
            users = server.client("iam").list_users()["Users"]
            assert [u["UserName"] for u in users] == ["alice"]
            # the restored store takes new writes (sequences moved past the rows loaded)
            kms.create_key(Description="after the restore")
            ssm.put_parameter(Name="/app/db", Value="v3", Type="String", Overwrite=True)
        finally:
            server.stop()


def test_a_damaged_backup_is_refused_with_its_place_named(source: Source, tmp_path: Path) -> None:
    blob = source.backup.read_bytes()
    flipped = bytearray(blob)
    flipped[len(blob) // 2] ^= 0x20
    damaged = tmp_path / "flipped.cbk"
    damaged.write_bytes(bytes(flipped))
    checked = source.cofre("backup", "verify", str(damaged))
    assert checked.returncode == 1
    assert checked.stdout.startswith("backup DAMAGED: byte offset ")
    assert "table " in checked.stdout  # the middle of the file is inside some table

    truncated = tmp_path / "truncated.cbk"
    truncated.write_bytes(blob[: len(blob) - 100])
    checked = source.cofre("backup", "verify", str(truncated))
    assert checked.returncode == 1 and "truncated" in checked.stdout

    target = tmp_path / "never"
    done = source.cofre("restore", "--input", str(damaged), "--data-dir", str(target))
    assert done.returncode == 1 and "byte offset" in done.stderr
    with sqlite3.connect(target / "cofre.db") as conn:  # rolled back whole: no table left
        assert conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone() == (0,)


def test_restore_refuses_a_store_that_is_not_empty(source: Source) -> None:
    args = ["restore", "--input", str(source.backup), "--data-dir", str(source.server.data_dir)]
    if source.backend == "postgres":
        args += ["--database", str(source.server.database)]
    done = source.cofre(*args)
    assert done.returncode == 1
    assert "already holds" in done.stderr and "restore needs an empty store" in done.stderr


def test_restore_checks_the_root_key_and_can_copy_it(source: Source, tmp_path: Path) -> None:
    other = base64.b64encode(secrets.token_bytes(32)).decode()
    wrong = source.cofre("restore", "--input", str(source.backup), "--data-dir",
                         str(tmp_path / "wrong"), root_key=other)  # fmt: skip
    assert wrong.returncode == 1 and "not the one this backup" in wrong.stderr

    key_file = tmp_path / "root.key"
    key_file.write_bytes(base64.b64decode(source.server.root_key))
    key_file.chmod(0o600)
    target = tmp_path / "with-key"
    done = source.cofre("restore", "--input", str(source.backup), "--data-dir", str(target),
                        "--root-key-file", str(key_file), root_key="")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (target / "root.key").read_bytes() == key_file.read_bytes()
    assert (target / "root.key").stat().st_mode & 0o777 == 0o600
    server = CofreServer(target, root_key=source.server.root_key, env={"COFRE_ROOT_KEY": ""})
    server.start()  # opens with the copied file alone
    try:
        blob, plaintext = next(iter(source.ciphertexts.items()))
        assert server.client("kms").decrypt(CiphertextBlob=blob)["Plaintext"] == plaintext
    finally:
        server.stop()
