"""Storage faults against real servers: a full disk under SQLite, connections killed and a
PostgreSQL restart under load. Calls fail with an AWS-shaped error that says what failed
and whether to retry; the log names the real cause; ``/health`` tells the truth; nothing
acknowledged is lost; the server recovers by itself."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from cofre.errors import StorageFaultError, StorageUnavailableError
from cofre.storage.faults import from_sqlite
from tests.conftest import require_postgres
from tests.support.pgcluster import private_cluster
from tests.support.server import CofreServer, postgres_database

RETRYING = Config(retries={"mode": "standard", "max_attempts": 10}, connect_timeout=5,
                  read_timeout=30)  # fmt: skip


def _fails(call: Callable[..., Any], **params: Any) -> ClientError:
    with pytest.raises(ClientError) as caught:
        call(**params)
    return caught.value


def _health(server: CofreServer) -> tuple[int, dict[str, Any]]:
    response = httpx.get(f"{server.url}/health", timeout=30)
    return response.status_code, response.json()


def _disk_trouble(message: str) -> bool:
    return "disk is full" in message or "I/O error" in message


def _until(predicate: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}")
        time.sleep(0.2)


# SQLite ----------------------------------------------------------------------------------------
def test_a_full_disk_fails_calls_clearly_and_the_server_recovers(tmp_path: Path) -> None:
    server = CofreServer(tmp_path / "data", log_through_pipe=True).start()
    try:
        kms, ssm = server.client("kms"), server.client("ssm")
        acknowledged = [kms.create_key()["KeyMetadata"]["KeyId"] for _ in range(3)]
        assert _health(server)[0] == 200
        with server.full_disk():
            error = _fails(kms.create_key)
            assert error.response["Error"]["Code"] == "KMSInternalException"
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 500
            # a write past a file's end fails with EFBIG here, which SQLite reports as an
            # I/O error; a disk without space (ENOSPC) as "disk is full": both say so
            message = error.response["Error"]["Message"]
            assert _disk_trouble(message) and "retrying will not help" in message
            error = _fails(ssm.put_parameter, Name="/full/p", Value="v", Type="String")
            assert error.response["Error"]["Code"] == "InternalServerError"
            assert _disk_trouble(error.response["Error"]["Message"])
            _until(lambda: _health(server)[0] == 503, "health says the disk failed")
            assert _disk_trouble(_health(server)[1]["storage"])
            live = httpx.get(f"{server.url}/health/live", timeout=10)
            assert live.status_code == 200  # alive, only not ready
        _until(lambda: _health(server)[0] == 200, "health recovers")
        created = kms.create_key()["KeyMetadata"]["KeyId"]
        for key_id in [*acknowledged, created]:
            assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] == "Enabled"
        log = server.log.read_text()
        assert "disk I/O error" in log or "disk is full" in log  # the real cause, logged
        assert "cannot rollback" not in log
    finally:
        server.stop()


def test_sqlite_failures_are_classified_by_their_own_codes(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    sqlite3.connect(path).execute("CREATE TABLE t (x)").connection.commit()
    read_only = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as caught:
        read_only.execute("INSERT INTO t VALUES (1)")
    error = from_sqlite(caught.value, "in a test")
    assert isinstance(error, StorageFaultError) and "read-only" in error.message
    for code, kind, words in (
        (5, StorageUnavailableError, "busy"),
        (13, StorageFaultError, "disk is full"),
        (10, StorageFaultError, "I/O error"),
        (266, StorageFaultError, "I/O error"),  # SQLITE_IOERR_READ: an extended code
    ):
        raw = sqlite3.OperationalError("raw")
        raw.sqlite_errorcode = code  # type: ignore[attr-defined]
        mapped = from_sqlite(raw, "in a test")
        assert type(mapped) is kind and words in mapped.message, (code, mapped.message)


# PostgreSQL ----------------------------------------------------------------------------------
class Load:
    """Threads that create keys and encrypt, with the SDK's standard retries, counting
    what was acknowledged and what failed after every retry."""

    def __init__(self, server: CofreServer, threads: int = 2) -> None:
        self.kms = server.client("kms", config=RETRYING)
        self.key = self.kms.create_key()["KeyMetadata"]["KeyId"]
        self.acknowledged: list[str] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, daemon=True) for _ in range(threads)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(120)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                key_id = self.kms.create_key()["KeyMetadata"]["KeyId"]
                self.acknowledged.append(key_id)
                self.kms.encrypt(KeyId=self.key, Plaintext=b"x")
            except ClientError as error:
                self.failures.append(f"{error.response['Error']['Code']}: {error}")

    def wait_for(self, count: int) -> None:
        _until(lambda: len(self.acknowledged) >= count, f"{count} acknowledged writes")


def _all_there(server: CofreServer, key_ids: list[str]) -> None:
    kms = server.client("kms", config=RETRYING)
    for key_id in key_ids:
        assert kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyId"] == key_id


def test_connections_killed_mid_load_lose_nothing(tmp_path: Path) -> None:
    require_postgres()
    with postgres_database() as url:
        server = CofreServer(tmp_path / "data", database=url).start()
        name = url.rsplit("/", 1)[1]
        try:
            with Load(server) as load:
                load.wait_for(5)
                for _ in range(3):  # every connection of Cofre's, mid-whatever it does
                    with psycopg.connect(
                        url.rsplit("/", 1)[0] + "/postgres", autocommit=True
                    ) as db:
                        db.execute(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                            " WHERE datname = %s AND pid <> pg_backend_pid()", (name,)
                        )  # fmt: skip
                    before = len(load.acknowledged)
                    load.wait_for(before + 5)  # it goes on, without a restart of Cofre
            assert load.failures == []
            _all_there(server, load.acknowledged)
            assert "database failure" in server.log.read_text()  # the cause, logged
        finally:
            server.stop()


@pytest.fixture
def cluster() -> Iterator[Any]:
    with private_cluster() as made:
        yield made


def test_a_postgres_restart_under_load_needs_no_cofre_restart(tmp_path: Path, cluster: Any) -> None:
    server = CofreServer(tmp_path / "data", database=cluster.url).start()
    try:
        assert server.process is not None
        pid = server.process.pid
        with Load(server) as load:
            load.wait_for(5)
            cluster.stop()  # unreachable for a while
            _until(lambda: _health(server)[0] == 503, "health says the database is away")
            assert "retried" in _health(server)[1]["storage"]
            cluster.start()
            _until(lambda: _health(server)[0] == 200, "health recovers")
            before = len(load.acknowledged)
            load.wait_for(before + 5)
            cluster.restart()  # and a restart, under load
            load.wait_for(len(load.acknowledged) + 5)
        assert load.failures == []
        assert server.process is not None and server.process.pid == pid
        _all_there(server, load.acknowledged)
        log = server.log.read_text()
        assert "database failure" in log and "Traceback" not in log
    finally:
        server.stop()
