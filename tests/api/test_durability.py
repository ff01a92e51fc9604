"""Crash durability: every write the server acknowledged survives a SIGKILL mid-load.

A real server with two workers takes CreateKey and Encrypt from several threads; the
whole process tree is SIGKILLed in the middle of the load and a new server is started on
the same data directory / database with the same root key. Every key whose CreateKey was
answered must exist, and every ciphertext that was returned must decrypt to its
plaintext. Requests that got no answer may or may not have taken effect: not asserted.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from tests.conftest import BACKENDS
from tests.support.backends import backend_database
from tests.support.server import CofreServer

THREADS = 4
KILL_AFTER = 1.5  # seconds of load before the SIGKILL
LOAD_DEADLINE = 3.0  # no thread sends anything after this, killed or not
ENCRYPTS_PER_KEY = 3


@dataclass
class Ledger:
    """What the server acknowledged, and anything unexpected that happened before the kill."""

    keys: list[str] = field(default_factory=list)
    ciphertexts: list[tuple[str, bytes, bytes, dict[str, str]]] = field(default_factory=list)
    errors_before_kill: list[str] = field(default_factory=list)
    unanswered: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def load(kms: Any, ledger: Ledger, killed: threading.Event, deadline: float, worker: int) -> None:
    """CreateKey, then a few Encrypts under it, until the server goes away or time is up."""
    serial = 0
    while time.monotonic() < deadline:
        try:
            key_id = kms.create_key(Description=f"durability {worker}")["KeyMetadata"]["KeyId"]
            with ledger.lock:
                ledger.keys.append(key_id)
            for _ in range(ENCRYPTS_PER_KEY):
                serial += 1
                plaintext = os.urandom(1 + serial % 200)
                context = {"worker": str(worker), "serial": str(serial)}
                blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext, EncryptionContext=context)[
                    "CiphertextBlob"
                ]
                with ledger.lock:
                    ledger.ciphertexts.append((key_id, blob, plaintext, context))
        except (BotoCoreError, ClientError) as exc:
            with ledger.lock:
                if killed.is_set():
                    ledger.unanswered += 1
                else:
                    ledger.errors_before_kill.append(f"{type(exc).__name__}: {exc}")
            if killed.is_set():
                return
            time.sleep(0.05)


def quick_client(server: CofreServer) -> Any:
    """A client that gives up fast once the server is gone."""
    return server.client(
        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10)
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_acknowledged_writes_survive_sigkill(backend: str, tmp_path: Path) -> None:
    with backend_database(backend) as database:
        data_dir = tmp_path / "data"
        first = CofreServer(data_dir, database=database, workers=2).start()
        second: CofreServer | None = None
        try:
            ledger = Ledger()
            killed = threading.Event()
            clients = [quick_client(first) for _ in range(THREADS)]
            deadline = time.monotonic() + LOAD_DEADLINE
            threads = [
                threading.Thread(
                    target=load, args=(clients[i], ledger, killed, deadline, i), daemon=True
                )
                for i in range(THREADS)
            ]
            for thread in threads:
                thread.start()
            time.sleep(KILL_AFTER)
            with ledger.lock:
                before_kill = (len(ledger.keys), len(ledger.ciphertexts))
            killed.set()
            first.kill()
            for thread in threads:
                thread.join(timeout=30)
            assert not any(thread.is_alive() for thread in threads), "load threads hung"
            print(
                f"\n[{backend}] acknowledged before kill: {before_kill[0]} keys,"
                f" {before_kill[1]} ciphertexts; total acknowledged: {len(ledger.keys)} keys,"
                f" {len(ledger.ciphertexts)} ciphertexts; unanswered: {ledger.unanswered}"
            )
            assert ledger.errors_before_kill == []
            assert before_kill[0] >= THREADS and before_kill[1] >= THREADS, (
                "the kill did not land in the middle of a load"
            )

            second = CofreServer(
                data_dir, database=database, workers=1, root_key=first.root_key
            ).start()
            kms = second.client()

            def check_key(key_id: str) -> None:
                meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
                assert meta["KeyId"] == key_id
                assert meta["KeyState"] == "Enabled"

            def check_blob(item: tuple[str, bytes, bytes, dict[str, str]]) -> None:
                key_id, blob, plaintext, context = item
                out = kms.decrypt(CiphertextBlob=blob, EncryptionContext=context)
                assert out["Plaintext"] == plaintext
                assert out["KeyId"].endswith(f":key/{key_id}")

            with ThreadPoolExecutor(max_workers=4) as pool:
                list(pool.map(check_key, ledger.keys, timeout=60))
                list(pool.map(check_blob, ledger.ciphertexts, timeout=60))

            # The restarted server is fully usable, also for keys made before the crash.
            key_id = ledger.keys[0]
            blob = kms.encrypt(KeyId=key_id, Plaintext=b"after restart")["CiphertextBlob"]
            assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"after restart"
        finally:
            first.kill()
            if second is not None:
                second.stop()
