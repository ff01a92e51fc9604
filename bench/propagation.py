"""How soon a change made on one node is honoured on another (the design promises 1 s):
two ``cofre serve`` nodes on one fresh PostgreSQL database, and a DisableKey / EnableKey
on node A timed until node B's Encrypt answers accordingly. Prints each trial's delay and
the median and maximum against the promise; no pass/fail exit status.

::

    .venv/bin/python bench/propagation.py [--trials 20] [--pg-url postgresql://...]
"""

from __future__ import annotations

import argparse
import base64
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from run import (  # noqa: E402
    cofre_env,
    free_port,
    kms_client,
    postgres_database,
    start,
    wait_ready,
)

PROMISE = 1.0  # seconds


def _encrypt_ok(kms: Any, key_id: str) -> bool:
    from botocore.exceptions import ClientError

    try:
        kms.encrypt(KeyId=key_id, Plaintext=b"probe")
    except ClientError:
        return False
    return True


def _delay(kms_b: Any, key_id: str, want_ok: bool, started: float) -> float:
    while _encrypt_ok(kms_b, key_id) != want_ok:
        if time.monotonic() - started > 30:
            return float("inf")
        time.sleep(0.01)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--cofre", default=str(Path(sys.executable).with_name("cofre")))
    args = parser.parse_args()
    env = cofre_env() | {"COFRE_ROOT_KEY": base64.b64encode(secrets.token_bytes(32)).decode()}
    with (
        tempfile.TemporaryDirectory(prefix="cofre-propagation-") as tmp,
        postgres_database(args.pg_url) as url,
    ):
        nodes, ports = [], []
        try:
            for name in ("a", "b"):
                port = free_port()
                data = Path(tmp) / name
                argv = [args.cofre, "serve", "--host", "127.0.0.1", "--port", str(port),
                        "--data-dir", str(data), "--database", url]  # fmt: skip
                node = start(f"node-{name}", argv, Path(tmp), env)
                nodes.append(node)
                wait_ready(node, port, 60)
                ports.append(port)
            kms_a, kms_b = kms_client(ports[0]), kms_client(ports[1])
            key_id = kms_a.create_key()["KeyMetadata"]["KeyId"]
            assert _encrypt_ok(kms_b, key_id)
            delays = []
            for trial in range(args.trials):
                enable = trial % 2 == 1
                started = time.monotonic()
                (kms_a.enable_key if enable else kms_a.disable_key)(KeyId=key_id)
                delay = _delay(kms_b, key_id, enable, started)
                delays.append(delay)
                print(f"{'EnableKey' if enable else 'DisableKey'} A -> B: {delay * 1000:7.1f} ms")
            print(
                f"median {statistics.median(delays) * 1000:.0f} ms, max {max(delays) * 1000:.0f}"
                f" ms; promise {PROMISE * 1000:.0f} ms;"
                f" over the promise: {sum(d > PROMISE for d in delays)} of {len(delays)}"
                f" (load: {os.getloadavg()[0]:.2f})"
            )
        finally:
            for node in nodes:
                node.stop()


if __name__ == "__main__":
    main()
