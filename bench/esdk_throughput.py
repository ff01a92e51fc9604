"""Cofre's Encryption SDK against the official Python SDK, in the same run.

::

    .venv/bin/python bench/esdk_throughput.py                  # 1 GiB, both parts
    .venv/bin/python bench/esdk_throughput.py --size-mib 256 --repeat 3 --no-kms
    .venv/bin/python bench/esdk_throughput.py --no-throughput --kms-seconds 5

Throughput: for each suite (0x0578 signing, 0x0478 not) and frame length (4 KiB, 64 KiB),
encrypt a generated stream of ``--size-mib`` MiB (never held in memory: slices of one
random MiB) into a discarding sink, and decrypt the same ciphertext (made once by Cofre,
read from a temporary file) into a discarding sink; Cofre and the official SDK each in a
fresh interpreter, with the same raw AES-256 wrapping key. Reports MB/s (10^6 bytes per
wall-clock second), CPU seconds and peak RSS (VmHWM) of each run. With
``--repeat N`` every case runs N times, interleaved, and the best run counts.

KMS: starts ``cofre serve`` on a free 127.0.0.1 port with a fresh data directory, creates
a key, and counts 1 KiB messages per second through a KMS keyring (Cofre) or a strict KMS
master key provider (official), each without and with a caching materials manager
(capacity 100, max age 60 s), for encrypt and for decrypt, for suites 0x0578 and 0x0478
(``--kms-suites``). The server is stopped by PID at the end, also on error.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
ACCESS_KEY, SECRET_KEY, ACCOUNT_ID = (
    "AKIACOFREBENCHESDK01",
    "cofre-bench-esdk-secret-0123",
    "111122223333",
)
REGION = "us-east-1"
SUITES = {
    "0578": "AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384",
    "0478": "AES_256_GCM_HKDF_SHA512_COMMIT_KEY",
}
TARGETS = {("0478", 65536): 3.0, ("0478", 4096): 3.0, ("0578", 65536): 2.0, ("0578", 4096): 2.0}
CHUNK = 1 << 20


# --------------------------------------------------------------------------- children


class Generated:
    """``size`` bytes of a repeated random MiB, produced on demand."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.block = os.urandom(CHUNK) * 2

    def read(self, n: int = -1) -> bytes:
        n = self.left if n < 0 else min(n, self.left)
        parts, got = [], 0
        while got < n:
            take = min(n - got, CHUNK)
            parts.append(self.block[got % CHUNK : got % CHUNK + take])
            got += take
        self.left -= n
        return parts[0] if len(parts) == 1 else b"".join(parts)


class Discard:
    def __init__(self) -> None:
        self.count = 0

    def write(self, data: bytes) -> int:
        self.count += len(data)
        return len(data)


def child(impl: str, op: str, suite: str, frame: int, size: int, key_hex: str, path: str) -> None:
    """One measured run in this fresh interpreter; prints one JSON line."""
    key = bytes.fromhex(key_hex)
    sink = Discard()
    if impl == "cofre":
        from cofre import esdk

        keyring = esdk.RawAesKeyring("bench", "aes", key)
        algorithm = esdk.AlgorithmSuite.from_id(int(suite, 16))

        def run(source: Any, out: Any) -> None:
            if op == "encrypt":
                esdk.encrypt_stream(source, out, keyring, algorithm=algorithm, frame_length=frame)
            else:
                esdk.decrypt_stream(source, out, keyring)
    else:
        import aws_encryption_sdk
        from aws_encryption_sdk.identifiers import Algorithm, CommitmentPolicy

        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        from tests.esdk.official import aes_master_key

        client = aws_encryption_sdk.EncryptionSDKClient(
            commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
        )
        provider = aes_master_key("bench", "aes", key)
        extra = {"algorithm": Algorithm[SUITES[suite]], "frame_length": frame}

        def run(source: Any, out: Any) -> None:
            kwargs = extra if op == "encrypt" else {}
            with client.stream(mode=op[0], source=source, key_provider=provider, **kwargs) as s:
                for chunk in s:
                    out.write(chunk)

    source: Any = Generated(size) if op == "encrypt" else open(path, "rb")
    if op == "encrypt" and path:  # prepare: write the ciphertext for the decrypt runs
        with open(path, "wb") as out:
            run(source, out)
        return
    cpu, wall = time.process_time(), time.perf_counter()
    run(source, sink)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(
        json.dumps({"wall": wall, "cpu": cpu, "rss_mib": peak_rss_kib() / 1024, "out": sink.count})
    )


def peak_rss_kib() -> int:
    """VmHWM of this process (ru_maxrss would also count the parent's peak before exec)."""
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmHWM:")).split()[1])


def measure(*args: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "_child", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=3600)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:4])} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout) if done.stdout.strip() else {}


def throughput(args: argparse.Namespace) -> list[dict[str, Any]]:
    size = args.size_mib << 20
    key_hex = secrets.token_hex(32)
    impls = ["cofre"] if args.skip_official else ["cofre", "official"]
    rows: dict[tuple[str, ...], dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="esdk-bench-") as tmp:
        for suite in args.suites:
            for frame in args.frames:
                path = str(Path(tmp) / f"{suite}-{frame}.msg")
                measure("cofre", "encrypt", suite, str(frame), str(size), key_hex, path)
                for _ in range(args.repeat):
                    for op in ("encrypt", "decrypt"):
                        for impl in impls:
                            got = measure(impl, op, suite, str(frame), str(size), key_hex,
                                          path if op == "decrypt" else "")  # fmt: skip
                            row = rows.setdefault((suite, str(frame), op, impl), got)
                            if got["wall"] < row["wall"]:
                                rows[(suite, str(frame), op, impl)] = got
                os.unlink(path)
    out = []
    for (suite, frame, op, impl), row in rows.items():
        out.append({"suite": suite, "frame": int(frame), "op": op, "impl": impl,
                    "mb_s": size / row["wall"] / 1e6, **row})  # fmt: skip
    return out


def print_throughput(rows: list[dict[str, Any]], size_mib: int) -> None:
    print(f"\nThroughput, {size_mib} MiB input (MB/s = 10^6 bytes/s; best of the repeats)")
    print(f"{'suite':6} {'frame':>6} {'op':8} {'cofre MB/s':>10} {'official':>9} {'ratio':>6}"
          f" {'target':>6} {'cofre cpu s':>11} {'cofre RSS':>9} {'off. RSS':>8}")  # fmt: skip
    by = {(r["suite"], r["frame"], r["op"], r["impl"]): r for r in rows}
    for (suite, frame, op, impl), ours in by.items():
        if impl != "cofre":
            continue
        theirs = by.get((suite, frame, op, "official"))
        ratio = ours["mb_s"] / theirs["mb_s"] if theirs else None
        target = TARGETS.get((suite, frame))
        verdict = "" if ratio is None or target is None else ("PASS" if ratio >= target else "FAIL")
        nan = float("nan")
        their_mb, their_rss = (theirs["mb_s"], theirs["rss_mib"]) if theirs else (nan, nan)
        print(
            f"{suite:6} {frame:6d} {op:8} {ours['mb_s']:10.1f} {their_mb:9.1f} "
            f"{ratio or nan:6.2f} {target or 0:5.0f}x {verdict:4} {ours['cpu']:7.2f} "
            f"{ours['rss_mib']:7.1f}Mi {their_rss:6.1f}Mi"
        )
    peak = max(r["rss_mib"] for r in rows if r["impl"] == "cofre")
    print(
        f"peak RSS of Cofre's runs: {peak:.1f} MiB (target < 100 MB): "
        f"{'PASS' if peak * 1.048576 < 100 else 'FAIL'}"
    )


# --------------------------------------------------------------------------- KMS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@contextmanager
def cofre_server() -> Iterator[str]:
    """``cofre serve`` on a free loopback port with a fresh data dir; stopped by PID."""
    port = free_port()
    cofre = str(Path(sys.executable).with_name("cofre"))
    with tempfile.TemporaryDirectory(prefix="esdk-bench-kms-") as tmp:
        env = dict(os.environ, COFRE_ADMIN_ACCESS_KEY_ID=ACCESS_KEY, COFRE_ACCOUNT_ID=ACCOUNT_ID)
        env.setdefault("COFRE_QUOTAS", "off")  # as bench/run.py's servers (ADR 20)
        env["COFRE_ADMIN_SECRET_ACCESS_KEY"] = SECRET_KEY
        argv = [cofre, "serve", "--host", HOST, "--port", str(port), "--data-dir",
                str(Path(tmp) / "data"), "--workers", "1", "--log-level", "warning"]  # fmt: skip
        with open(Path(tmp) / "server.log", "wb") as log:
            proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://{HOST}:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((Path(tmp) / "server.log").read_text()[-2000:])
                try:
                    with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
                        if response.status == 200:
                            break
                except OSError:
                    time.sleep(0.1)
            yield url
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)


def rate(fn: Callable[[], object], seconds: float) -> float:
    fn()  # warm-up (and the first cache fill)
    count, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        fn()
        count += 1
    return count / elapsed


def kms(args: argparse.Namespace) -> list[dict[str, Any]]:
    import aws_encryption_sdk
    import botocore.session
    from aws_encryption_sdk.identifiers import Algorithm, CommitmentPolicy

    from cofre import esdk

    rows = []
    with cofre_server() as url:
        os.environ.update(
            AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY,
            AWS_DEFAULT_REGION=REGION, AWS_ENDPOINT_URL_KMS=url,
            AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        )  # fmt: skip
        session = botocore.session.Session()
        client = session.create_client("kms", region_name=REGION, endpoint_url=url)
        arn = client.create_key(Description="esdk bench")["KeyMetadata"]["Arn"]
        plaintext = os.urandom(1024)
        keyring = esdk.KmsKeyring(client, arn)
        official = aws_encryption_sdk.EncryptionSDKClient(
            commitment_policy=CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT
        )
        provider = aws_encryption_sdk.StrictAwsKmsMasterKeyProvider(
            key_ids=[arn], botocore_session=session
        )
        for suite in args.kms_suites:
            algorithm = esdk.AlgorithmSuite.from_id(int(suite, 16))
            ours = {
                "none": {"keyring": keyring},
                "caching": {"materials_manager": esdk.CachingCmm(
                    keyring, cache=esdk.LocalCache(100), max_age=60.0)},
            }  # fmt: skip
            theirs = {
                "none": {"key_provider": provider},
                "caching": {"materials_manager": aws_encryption_sdk.CachingCryptoMaterialsManager(
                    master_key_provider=provider,
                    cache=aws_encryption_sdk.LocalCryptoMaterialsCache(100), max_age=60.0)},
            }  # fmt: skip
            for mode in ("none", "caching"):
                ours_kw = {**ours[mode], "algorithm": algorithm}
                theirs_kw = {**theirs[mode], "algorithm": Algorithm[SUITES[suite]]}
                message = esdk.encrypt(plaintext, **ours_kw)[0]
                del ours_kw["algorithm"]
                cases: dict[str, Callable[[], object]] = {
                    "cofre encrypt": partial(esdk.encrypt, plaintext, algorithm=algorithm,
                                             **ours_kw),
                    "official encrypt": partial(official.encrypt, source=plaintext, **theirs_kw),
                    "cofre decrypt": partial(esdk.decrypt, message, **ours_kw),
                    "official decrypt": partial(official.decrypt, source=message,
                                                **{k: v for k, v in theirs_kw.items()
                                                   if k != "algorithm"}),
                }  # fmt: skip
                for name, fn in cases.items():
                    impl, op = name.split()
                    rows.append({"suite": suite, "impl": impl, "op": op, "cache": mode,
                                 "msgs_s": rate(fn, args.kms_seconds)})  # fmt: skip
    return rows


def print_kms(rows: list[dict[str, Any]]) -> None:
    print("\nKMS keyring against a local Cofre server, 1 KiB messages, messages/s (one thread)")
    by = {(r["suite"], r["impl"], r["op"], r["cache"]): r["msgs_s"] for r in rows}
    for suite in dict.fromkeys(r["suite"] for r in rows):
        for cache in ("none", "caching"):
            for op in ("encrypt", "decrypt"):
                ours, theirs = by[(suite, "cofre", op, cache)], by[(suite, "official", op, cache)]
                verdict = ""
                if cache == "caching":
                    verdict = f"target 2x: {'PASS' if ours / theirs >= 2 else 'FAIL'}"
                print(f"{suite} {op:8} cache={cache:8} cofre {ours:8.1f}  official {theirs:8.1f}"
                      f"  ratio {ours / theirs:5.2f}  {verdict}")  # fmt: skip


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        impl, op, suite, frame, size, key_hex, path = sys.argv[2:9]
        child(impl, op, suite, int(frame), int(size), key_hex, path)
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--suites", type=lambda v: v.split(","), default=["0578", "0478"])
    parser.add_argument(
        "--frames", type=lambda v: [int(f) for f in v.split(",")], default=[4096, 65536]
    )
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--skip-official", action="store_true")
    parser.add_argument("--no-throughput", action="store_true")
    parser.add_argument("--no-kms", action="store_true")
    parser.add_argument("--kms-seconds", type=float, default=3.0)
    parser.add_argument("--kms-suites", type=lambda v: v.split(","), default=["0578", "0478"])
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()
    print(f"nproc {os.cpu_count()}, Python {sys.version.split()[0]}, load {os.getloadavg()[0]:.2f}")
    results: dict[str, Any] = {}
    if not args.no_throughput:
        results["throughput"] = throughput(args)
        print_throughput(results["throughput"], args.size_mib)
    if not args.no_kms:
        results["kms"] = kms(args)
        print_kms(results["kms"])
    print(f"load at the end {os.getloadavg()[0]:.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
