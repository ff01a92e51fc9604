"""Sign and Verify req/s for ECC_NIST_P256, RSA_2048 and ML_DSA_65 (issue 7's benchmark).

::

    .venv/bin/python bench/sign_bench.py --workers 2 --concurrency 8 --duration 8

Starts ``cofre serve`` (SQLite) on a free loopback port with the bench admin credentials,
creates one SIGN_VERIFY key per spec, and drives Sign and Verify of a 64-byte message
(MessageType RAW) through ``bench/loadgen.py``'s engine; prints req/s, p50 and p99, then
stops the server it started.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from loadgen import Endpoint, RequestSpec, call, run_load  # noqa: E402
from run import (  # noqa: E402
    ACCESS_KEY,
    REGION,
    SECRET_KEY,
    Managed,
    cofre_env,
    free_port,
    kms_client,
    machine_facts,
    running,
)

KEYS = (
    ("ECC_NIST_P256", "ECDSA_SHA_256"),
    ("RSA_2048", "RSASSA_PSS_SHA_256"),
    ("ML_DSA_65", "ML_DSA_SHAKE_256"),
)


def specs(endpoint: Endpoint, key_id: str, algorithm: str) -> tuple[RequestSpec, RequestSpec]:
    message = base64.b64encode(os.urandom(64)).decode()
    body = {"KeyId": key_id, "Message": message, "MessageType": "RAW",
            "SigningAlgorithm": algorithm}  # fmt: skip
    signature = call(endpoint, "TrentService.Sign", body)["Signature"]
    return (
        RequestSpec("TrentService.Sign", json.dumps(body).encode()),
        RequestSpec("TrentService.Verify", json.dumps({**body, "Signature": signature}).encode()),
    )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--duration", type=float, default=8.0)
    p.add_argument("--cofre", default=str(Path(sys.executable).parent / "cofre"))
    args = p.parse_args(argv)
    facts = machine_facts()
    print(f"machine: nproc={facts['nproc']} cpu={facts['cpu_model']!r}")
    tmp = Path(tempfile.mkdtemp(prefix="cofre-sign-bench-"))
    registry: list[Managed] = []
    try:
        port = free_port()
        data_dir = tmp / "data"
        data_dir.mkdir()
        argv_ = [args.cofre, "serve", "--host", "127.0.0.1", "--port", str(port),
                 "--data-dir", str(data_dir), "--workers", str(args.workers)]  # fmt: skip
        with contextlib.ExitStack() as stack:
            stack.enter_context(running("cofre", argv_, port, tmp, cofre_env(), 60.0, registry))
            kms = kms_client(port)
            endpoint = Endpoint(port, ACCESS_KEY, SECRET_KEY, REGION)
            print(f"{'key spec':<15} {'op':<7} {'conc':>4} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
                  f" {'errors':>6}")  # fmt: skip
            for spec, algorithm in KEYS:
                meta: dict[str, Any] = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")
                key_id = meta["KeyMetadata"]["KeyId"]
                for op, request in zip(("sign", "verify"), specs(endpoint, key_id, algorithm),
                                       strict=True):  # fmt: skip
                    result = run_load(endpoint, op, concurrency=args.concurrency,
                                      duration=args.duration, spec=request)  # fmt: skip
                    print(f"{spec:<15} {op:<7} {args.concurrency:>4} {result['rps']:>8.0f}"
                          f" {result['p50_ms']:>8.3f} {result['p99_ms']:>8.3f}"
                          f" {result['errors']:>6}", flush=True)  # fmt: skip
        return 0
    finally:
        for server in list(reversed(registry)):
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
