"""A store of many keys, aliases and parameters, fast: initialised by the service layer
(the file seal, the account, the admin), then written straight through the storage layer
in large transactions. Each key has its own material, wrapped as the key resolver wraps it
(AES-256-GCM under the keyring key, bound to the key's ARN and version), so every key the
filler makes encrypts and decrypts. Used by ``backup_bench.py`` and ``scale.py``.
"""

from __future__ import annotations

import base64
import os
import secrets
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.server import postgres_database  # noqa: E402

from cofre.config import Settings  # noqa: E402
from cofre.container import Services  # noqa: E402
from cofre.core.crypto import Cipher, key_version_aad, wrap  # noqa: E402
from cofre.core.kms.default_policy import default_key_policy  # noqa: E402
from cofre.core.kms.keys import Alias, Key, KeyManager, KeyState, KeyVersion, Origin  # noqa: E402
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
from cofre.stores import open_storage  # noqa: E402

ACCOUNT, REGION = "111122223333", "us-east-1"
# the bench admin of run.py (bench/run.py ACCESS_KEY, SECRET_KEY): its clients sign with it
ADMIN_KEY_ID, ADMIN_SECRET = "AKIACOFREBENCH000001", "cofre-bench-secret-key-0000000000000000"
CHUNK = 5000  # rows per transaction while filling
# As AWS allows: 10,000 standard parameters per account and Region, the rest advanced
# (one standard slot is left for the parameter a benchmark puts through the API).
STANDARD_FILL = 9_999


@dataclass(frozen=True)
class Filled:
    keys: int
    aliases: int
    params: int
    seconds: float


def new_root_key() -> str:
    return base64.b64encode(secrets.token_bytes(32)).decode()


def server_env(root_key: str) -> dict[str, str]:
    """The environment a ``cofre`` command needs for the filled store."""
    # quotas off as bench/run.py's servers: AWS's 40 GetParameter a second would be measured
    return {"COFRE_QUOTAS": "off", **os.environ, "COFRE_ROOT_KEY": root_key,
            "COFRE_ACCOUNT_ID": ACCOUNT, "COFRE_ADMIN_ACCESS_KEY_ID": ADMIN_KEY_ID,
            "COFRE_ADMIN_SECRET_ACCESS_KEY": ADMIN_SECRET}  # fmt: skip


@contextmanager
def database(backend: str) -> Iterator[str | None]:
    if backend == "postgres":
        with postgres_database() as url:
            yield url
    else:
        yield None


def initialise(data_dir: Path, url: str | None, root_key: str) -> bytes:
    """A new store on the file seal (``root_key``), with its account and admin; its keyring
    key, to wrap what the filler writes."""
    os.environ.update(server_env(root_key))
    data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    settings = Settings.with_environment(data_dir=data_dir, database=url)
    services = Services.build(settings)
    try:
        bootstrap_admin(services.accounts, services.storage, data_dir, ACCOUNT,
                        settings.admin_access_key_id, settings.admin_secret_access_key)  # fmt: skip
        return services.keyring.key()
    finally:
        services.close()


def fill(
    data_dir: Path, url: str | None, keyring_key: bytes, keys: int, params: int,
    aliases: int = 0,
) -> Filled:  # fmt: skip
    """``keys`` keys (the first ``aliases`` of them with an alias each) and ``params``
    String parameters, 1,000 to a path (``/bench/gNNN/pNNNNNN``)."""
    clock = SystemClock()
    storage = open_storage(url or f"sqlite:///{data_dir / 'cofre.db'}", clock)
    keyring = Cipher(keyring_key)
    policy = default_key_policy(ACCOUNT)
    admin = f"arn:aws:iam::{ACCOUNT}:root"
    started = time.monotonic()
    try:
        for first in range(0, keys, CHUNK):
            now = clock.now()
            with storage.write() as tx:
                for n in range(first, min(keys, first + CHUNK)):
                    key_id = str(uuid.uuid4())
                    arn = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{key_id}"
                    version_id = secrets.token_bytes(32)
                    aad = key_version_aad(arn, version_id)
                    wrapped = wrap(keyring, secrets.token_bytes(32), aad, secrets.token_bytes)
                    key = Key(key_id, ACCOUNT, REGION, arn, now, "bench", "SYMMETRIC_DEFAULT",
                              "ENCRYPT_DECRYPT", Origin.AWS_KMS, KeyManager.CUSTOMER,
                              KeyState.ENABLED, policy, version_id)  # fmt: skip
                    tx.insert_key(key, KeyVersion(key_id, version_id, wrapped, now, None))
                    if n < aliases:
                        tx.insert_alias(Alias(ACCOUNT, REGION, f"alias/bench/k{n:06d}", key_id,
                                              now, now))  # fmt: skip
        for first in range(0, params, CHUNK):
            now = clock.now()
            with storage.write() as tx:
                for n in range(first, min(params, first + CHUNK)):
                    pid = ParamId(ACCOUNT, REGION, f"/bench/g{n // 1000:03d}/p{n:06d}")
                    tier = Tier.STANDARD if n < STANDARD_FILL else Tier.ADVANCED
                    version = ParamVersion(pid, 1, ParameterType.STRING,
                                           f"value {n} {secrets.token_hex(16)}".encode(),
                                           ValueFormat.TEXT, None, None, None, tier,
                                           "text", None, now, admin)  # fmt: skip
                    tx.insert_param(ParamHead(pid, 1, tier, now), version)
    finally:
        storage.close()
    return Filled(keys, min(aliases, keys), params, time.monotonic() - started)
