"""XKS benchmark: Cofre as an XKS proxy (Encrypt and Decrypt of the XKS Proxy API) against
Cofre's own KMS Encrypt, in the same run, on the same server, at one concurrency.

::

    .venv/bin/python bench/xks.py --concurrency 32 --duration 10
    .venv/bin/python bench/xks.py --backend postgres --workers 2 --repeat 3

Steps (the conventions of ``bench/run.py``, whose process helpers it uses):

1. start ``cofre serve`` (``--workers N``, SQLite or a fresh PostgreSQL database) with the
   bench admin credentials, wait for ``GET /health``;
2. create a symmetric key, an XKS key store (``CofreXks.CreateXksStore``) and add the key;
3. pre-sign three requests (``bench/loadgen.py``): KMS ``Encrypt`` of 64 bytes, XKS
   ``encrypt`` of 64 bytes with 64 bytes of AAD (SigV4 ``kms-xks-proxy``, as AWS KMS
   signs), XKS ``decrypt`` of one such ciphertext;
4. run them in turn, ``--repeat`` rounds, each for ``--duration`` seconds after
   ``--warmup``, through the load generator's keep-alive connections;
5. print req/s, p50, p99 and the server's CPU time per request of each run, and the ratio
   of each XKS operation to KMS Encrypt (best round of each), by req/s and by CPU per
   request; the issue's target is at least 0.80 at concurrency 32;
6. write ``bench/results/<time>-xks-<backend>.json`` (git-ignored); stop every process it
   started, by PID, also on error or Ctrl-C, and drop the database.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import json
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loadgen  # bench/loadgen.py: signing and the load engine
import run as runner  # bench/run.py: process management and settings

TARGET_RATIO = 0.80
METADATA = {
    "awsPrincipalArn": "arn:aws:iam::123456789012:user/bench",
    "kmsKeyArn": "arn:aws:kms:us-east-1:123456789012:key/bench",
    "kmsOperation": "GenerateDataKey",
    "kmsRequestId": "00000000-0000-4000-8000-000000000000",
}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def set_up(port: int) -> tuple[str, dict[str, Any]]:
    """A key and a store that may use it: (key id, the store's CreateXksStore answer)."""
    admin = loadgen.Endpoint(port, runner.ACCESS_KEY, runner.SECRET_KEY, runner.REGION)
    key_id = runner.kms_client(port).create_key()["KeyMetadata"]["KeyId"]

    def cofre(operation: str, payload: dict[str, str]) -> Any:
        spec = loadgen.RequestSpec("CofreXks." + operation, json.dumps(payload).encode(), "cofre")
        _, headers = loadgen.sign(admin, spec)
        conn = http.client.HTTPConnection(runner.HOST, port, timeout=30)
        try:
            conn.request("POST", "/", body=spec.body, headers=headers)
            response = conn.getresponse()
            data = response.read()
        finally:
            conn.close()
        if response.status != 200:
            raise RuntimeError(f"{operation} -> HTTP {response.status}: {data[:300]!r}")
        return json.loads(data)

    store = cofre("CreateXksStore", {"Name": "bench"})
    cofre("AddXksStoreKey", {"StoreId": store["StoreId"], "KeyId": key_id})
    return key_id, store


def specs(port: int, key_id: str, store: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """(endpoint, request) per measured operation."""
    admin = loadgen.Endpoint(port, runner.ACCESS_KEY, runner.SECRET_KEY, runner.REGION)
    xks = loadgen.Endpoint(port, store["AccessKeyId"], store["SecretAccessKey"], runner.REGION)
    base = store["UriPath"] + f"/keys/{key_id}/"
    aad = _b64(os.urandom(64))
    encrypt = {
        "requestMetadata": METADATA,
        "plaintext": _b64(os.urandom(64)),
        "encryptionAlgorithm": "AES_GCM",
        "additionalAuthenticatedData": aad,
    }
    enc_spec = loadgen.RequestSpec(
        "", json.dumps(encrypt).encode(), "kms-xks-proxy", base + "encrypt"
    )
    raw, _ = loadgen.sign(xks, enc_spec)
    answer = _send(port, raw)
    decrypt = {
        "requestMetadata": {**METADATA, "kmsOperation": "Decrypt"},
        "encryptionAlgorithm": "AES_GCM",
        "additionalAuthenticatedData": aad,
        **{k: answer[k] for k in ("ciphertext", "ciphertextMetadata", "initializationVector",
                                  "authenticationTag")},
    }  # fmt: skip
    dec_spec = loadgen.RequestSpec(
        "", json.dumps(decrypt).encode(), "kms-xks-proxy", base + "decrypt"
    )
    kms_spec = loadgen.build_spec("encrypt64", admin, key_id)
    return {
        "kms-encrypt64": (admin, kms_spec),
        "xks-encrypt": (xks, enc_spec),
        "xks-decrypt": (xks, dec_spec),
    }


def _send(port: int, raw: bytes) -> Any:
    """One pre-signed raw request; its JSON answer (200 only)."""
    with socket.create_connection((runner.HOST, port), timeout=30) as sock:
        sock.sendall(raw)
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        length = int(
            next(
                line.split(b":", 1)[1]
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
        )
        while len(body) < length:
            body += sock.recv(65536)
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"XKS set-up request failed: {head[:100]!r} {body[:300]!r}")
    return json.loads(body)


def measure(
    args: argparse.Namespace,
    server: runner.Managed,
    port: int,
    key_id: str,
    store: dict[str, Any],
) -> list[Any]:
    """Each operation in turn, ``--repeat`` rounds. Besides req/s, the server's CPU time
    per request (utime + stime of its processes over the whole run, warm-up included, by
    the requests completed): on a machine shared with other work that figure holds where
    req/s does not."""
    prepared = specs(port, key_id, store)
    rows = []
    for round_ in range(args.repeat):
        for name, (endpoint, spec) in prepared.items():
            before = sum(runner.cpu_seconds(pid) for pid in server.tree())
            result = loadgen.run_load(
                endpoint,
                name,
                concurrency=args.concurrency,
                duration=args.duration,
                warmup=args.warmup,
                spec=spec,
            )
            spent = sum(runner.cpu_seconds(pid) for pid in server.tree()) - before
            done = result["completed_total"] + result["primed"]
            result["round"] = round_
            result["server_cpu_us_per_req"] = spent / done * 1e6 if done else float("nan")
            rows.append(result)
            print(
                f"  {name:14} c={args.concurrency:3} {result['rps']:9.0f} req/s"
                f"  p50 {result['p50_ms']:6.2f} ms  p99 {result['p99_ms']:6.2f} ms"
                f"  server {result['server_cpu_us_per_req']:6.1f} us CPU/req"
                f"  errors {result['errors']}",
                flush=True,
            )
    return rows


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--cofre", default=str(Path(sys.executable).with_name("cofre")))
    p.add_argument("--server-arg", action="append", default=[])
    p.add_argument("--out", type=Path, default=runner.BENCH_DIR / "results")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="cofre-xks-bench-"))
    server: runner.Managed | None = None
    try:
        with database(args) as db_url:
            port = runner.free_port()
            argv_ = runner.cofre_argv(args, port, tmp / "data", db_url)
            server = runner.start("cofre", argv_, tmp, env=runner.cofre_env())
            runner.wait_ready(server, port, timeout=60)
            print(f"cofre on 127.0.0.1:{port} ({args.backend}, {args.workers} workers)")
            key_id, store = set_up(port)
            rows = measure(args, server, port, key_id, store)
            server.stop()
            server = None
        best = {
            name: max(r["rps"] for r in rows if r["op"] == name)
            for name in ("kms-encrypt64", "xks-encrypt", "xks-decrypt")
        }
        ratios = {name: best[name] / best["kms-encrypt64"] for name in best}
        cpu = {
            name: min(r["server_cpu_us_per_req"] for r in rows if r["op"] == name) for name in best
        }
        cpu_ratios = {name: cpu["kms-encrypt64"] / cpu[name] for name in cpu}
        for name in ("xks-encrypt", "xks-decrypt"):
            verdict = "PASS" if ratios[name] >= TARGET_RATIO else "FAIL"
            print(
                f"{name}: {ratios[name]:.2f} of KMS Encrypt's req/s (target {TARGET_RATIO})"
                f" {verdict}; by server CPU per request {cpu_ratios[name]:.2f}"
            )
        report = {
            "when": datetime.now(UTC).isoformat(),
            "backend": args.backend,
            "workers": args.workers,
            "concurrency": args.concurrency,
            "duration": args.duration,
            "warmup": args.warmup,
            "results": rows,
            "best_rps": best,
            "ratios": ratios,
            "server_cpu_us_per_req": cpu,
            "cpu_ratios": cpu_ratios,
            "machine": runner.machine_facts(),
        }
        args.out.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = args.out / f"{stamp}-xks-{args.backend}.json"
        path.write_text(json.dumps(report, indent=2))
        print(f"wrote {path}")
        return 1 if any(r["errors"] for r in rows) else 0
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def database(args: argparse.Namespace) -> contextlib.AbstractContextManager[str | None]:
    """A fresh PostgreSQL database (dropped afterwards), or None for SQLite."""
    if args.backend == "postgres":
        return runner.postgres_database(args.pg_url)
    return contextlib.nullcontext(None)


if __name__ == "__main__":
    sys.exit(main())
