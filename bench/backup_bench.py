"""How long ``cofre backup``, ``cofre backup verify`` and ``cofre restore`` take on a store
of 100,000 keys and 100,000 parameters (the issue's target: the backup under a minute).

The store is initialised by the service layer (root key, account, admin), a few real
calls are made through it, then the keys and parameters are written straight through the
storage layer in large transactions, each key with its own freshly wrapped material (the
resolver's wrapping: AES-256-GCM under the root key, bound to the key's ARN and version).
The three commands are then run as an operator would run them, and timed; the machine's
load average is printed before and after.

    .venv/bin/python bench/backup_bench.py --backend sqlite
    .venv/bin/python bench/backup_bench.py --backend postgres --keys 100000 --params 100000
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.server import postgres_database  # noqa: E402

from cofre.config import Settings  # noqa: E402
from cofre.container import Services  # noqa: E402
from cofre.stores import open_storage  # noqa: E402
from cofre.core.crypto import Cipher, key_version_aad, wrap  # noqa: E402
from cofre.core.kms.default_policy import default_key_policy  # noqa: E402
from cofre.core.kms.keys import Key, KeyManager, KeyState, KeyVersion, Origin  # noqa: E402
from cofre.core.params.parameters import (  # noqa: E402
    ParameterType,
    ParamHead,
    ParamId,
    ParamVersion,
    Tier,
    ValueFormat,
)
from cofre.service.clock import SystemClock  # noqa: E402
from cofre.service.iam.accounts import bootstrap_admin  # noqa: E402

ACCOUNT, REGION = "111122223333", "us-east-1"
COFRE = str(Path(sys.executable).with_name("cofre"))
CHUNK = 5000  # rows per transaction while filling


@contextmanager
def database(backend: str) -> Iterator[str | None]:
    if backend == "postgres":
        with postgres_database() as url:
            yield url
    else:
        yield None


def initialise(data_dir: Path, url: str | None, root_key: str) -> None:
    os.environ.update(
        COFRE_ROOT_KEY=root_key,
        COFRE_ACCOUNT_ID=ACCOUNT,
        COFRE_ADMIN_ACCESS_KEY_ID="AKIACOFREBENCHADMIN1",
        COFRE_ADMIN_SECRET_ACCESS_KEY="bench-secret-access-key-0123456789",
    )
    settings = Settings.with_environment(data_dir=data_dir, database=url)
    services = Services.build(settings)
    try:
        bootstrap_admin(services.accounts, services.storage, data_dir, ACCOUNT,
                        settings.admin_access_key_id, settings.admin_secret_access_key)  # fmt: skip
    finally:
        services.close()


def fill(data_dir: Path, url: str | None, root_key: str, keys: int, params: int) -> float:
    clock = SystemClock()
    storage = open_storage(url or f"sqlite:///{data_dir / 'cofre.db'}", clock)
    root = Cipher(base64.b64decode(root_key))
    policy = default_key_policy(ACCOUNT)
    admin = f"arn:aws:iam::{ACCOUNT}:root"
    started = time.monotonic()
    try:
        for first in range(0, keys, CHUNK):
            now = clock.now()
            with storage.write() as tx:
                for _ in range(first, min(keys, first + CHUNK)):
                    key_id = str(uuid.uuid4())
                    arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"
                    version_id = secrets.token_bytes(32)
                    aad = key_version_aad(arn, version_id)
                    wrapped = wrap(root, secrets.token_bytes(32), aad, secrets.token_bytes)
                    key = Key(key_id, ACCOUNT, REGION, arn, now, "bench", "SYMMETRIC_DEFAULT",
                              "ENCRYPT_DECRYPT", Origin.AWS_KMS, KeyManager.CUSTOMER,
                              KeyState.ENABLED, policy, version_id)  # fmt: skip
                    tx.insert_key(key, KeyVersion(key_id, version_id, wrapped, now, None))
        for first in range(0, params, CHUNK):
            now = clock.now()
            with storage.write() as tx:
                for n in range(first, min(params, first + CHUNK)):
                    pid = ParamId(ACCOUNT, REGION, f"/bench/g{n // 1000:03d}/p{n:06d}")
                    version = ParamVersion(pid, 1, ParameterType.STRING,
                                           f"value {n} {secrets.token_hex(16)}".encode(),
                                           ValueFormat.TEXT, None, None, None, Tier.STANDARD,
                                           "text", None, now, admin)  # fmt: skip
                    tx.insert_param(ParamHead(pid, 1, Tier.STANDARD, now), version)
    finally:
        storage.close()
    return time.monotonic() - started


def timed(args: Sequence[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.monotonic()
    done = subprocess.run([COFRE, *args], env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"cofre {' '.join(args)} failed: {done.stdout}{done.stderr}")
    return elapsed, done.stdout


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--params", type=int, default=100_000)
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="cofre-backup-bench-"))
    root_key = base64.b64encode(secrets.token_bytes(32)).decode()
    env = {**os.environ, "COFRE_ROOT_KEY": root_key}
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs,"
          f" load average {os.getloadavg()}")  # fmt: skip
    try:
        with database(args.backend) as url, database(args.backend) as target_url:
            data = tmp / "data"
            initialise(data, url, root_key)
            took = fill(data, url, root_key, args.keys, args.params)
            print(f"filled {args.keys} keys and {args.params} parameters in {took:.1f}s")
            db = ["--database", url] if url else []
            backup = tmp / "store.cbk"
            spent, out = timed(["backup", "--data-dir", str(data), *db, "--output", str(backup)],
                               env)  # fmt: skip
            print(f"backup:  {spent:6.1f}s  {backup.stat().st_size / 2**20:.1f} MiB")
            print("   " + out.splitlines()[0])
            spent, _ = timed(["backup", "verify", str(backup)], env)
            print(f"verify:  {spent:6.1f}s")
            target = ["--database", target_url] if target_url else []
            spent, _ = timed(["restore", "--input", str(backup), "--data-dir",
                              str(tmp / "restored"), *target], env)  # fmt: skip
            print(f"restore: {spent:6.1f}s  ({args.backend} to {args.backend})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
