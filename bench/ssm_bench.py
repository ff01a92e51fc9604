"""Parameter Store benchmark: GetParameter and GetParametersByPath in a tree of 10,000
parameters, String and SecureString, at a given concurrency.

::

    .venv/bin/python bench/ssm_bench.py --backend sqlite --concurrency 8 --duration 10
    .venv/bin/python bench/ssm_bench.py --backend postgres --concurrency 8

Steps (the conventions of ``bench/run.py``, whose process helpers it uses):

1. for ``--backend postgres`` create a fresh database ``cofre_bench_<random>``;
2. start ``cofre serve --host 127.0.0.1 --port P --data-dir TMP --workers N
   [--database URL]`` with the bench admin credentials, wait for ``GET /health``;
3. create the tree with PutParameter over a thread pool: ``/bench/{str,sec}/gGG/sS/pP``
   (50 groups x 10 levels x 10 parameters per type = 10,000 parameters; ``sec`` ones are
   SecureString under the AWS managed key ``alias/aws/ssm``);
4. for each type, at each concurrency, for ``--duration`` seconds after ``--warmup``:

   * ``get-parameter``: GetParameter (WithDecryption) of random parameters of that type;
   * ``by-path``: GetParametersByPath of one group, Recursive, WithDecryption: 100 results,
     so, SSM capping MaxResults at 10, ten requests following NextToken. Every request is
     recorded (``by-path request``) and so is every whole walk of ten (``by-path walk``);

   requests are signed beforehand (SigV4 with service ``ssm``; the server, like AWS,
   accepts a signature again within its 15 minutes) and sent back to back over one
   keep-alive connection per simulated client; NextTokens are learnt by one walk first;
5. print req/s (walks/s for walks), p50 and p99 per row; write
   ``bench/results/<time>-ssm-<backend>.json`` (git-ignored);
6. stop every process it started, by PID, also on error or Ctrl-C, and drop the database.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import random
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as runner  # bench/run.py: process management and settings

HOST = runner.HOST
TYPES = {"String": "str", "SecureString": "sec"}
GROUPS, LEVELS, PER_LEVEL = 50, 10, 10  # per type: 5,000 parameters, 100 under each group
GET_POOL = 1000  # distinct pre-signed GetParameter requests per type


# --------------------------------------------------------------------------- requests


def signed(port: int, target: str, body: dict[str, Any]) -> bytes:
    """One raw HTTP/1.1 request, SigV4-signed for service ``ssm`` now."""
    data = json.dumps(body).encode()
    request = AWSRequest(
        method="POST",
        url=f"http://{HOST}:{port}/",
        data=data,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target},
    )
    auth = SigV4Auth(Credentials(runner.ACCESS_KEY, runner.SECRET_KEY), "ssm", runner.REGION)
    auth.add_auth(request)
    headers = {"Host": f"{HOST}:{port}", **dict(request.headers.items())}
    headers["Content-Length"] = str(len(data))
    head = "POST / HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (head + "\r\n").encode("latin-1") + data


def name_of(kind: str, group: int, level: int, item: int) -> str:
    return f"/bench/{kind}/g{group:02d}/s{level}/p{item}"


def ssm_client(port: int) -> Any:
    return runner.kms_client(port, service="ssm")


def create_tree(port: int, threads: int) -> float:
    names = [
        (name_of(kind, g, s, p), type_)
        for type_, kind in TYPES.items()
        for g in range(GROUPS)
        for s in range(LEVELS)
        for p in range(PER_LEVEL)
    ]
    clients: dict[int, Any] = {}

    def put(item: tuple[str, str]) -> None:
        ident = threading.get_ident()
        if ident not in clients:
            clients[ident] = ssm_client(port)
        name, type_ = item
        clients[ident].put_parameter(Name=name, Value=f"value of {name}", Type=type_)

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for done, future in enumerate([pool.submit(put, n) for n in names], 1):
            future.result()
            if done % 2000 == 0:
                print(f"  created {done:,} parameters", flush=True)
    return time.monotonic() - started


def walk_tokens(port: int, path: str) -> list[str | None]:
    """The NextToken each page of a walk is sent with (None for the first)."""
    ssm = ssm_client(port)
    tokens: list[str | None] = [None]
    while True:
        kwargs = {"NextToken": tokens[-1]} if tokens[-1] else {}
        page = ssm.get_parameters_by_path(
            Path=path, Recursive=True, WithDecryption=True, MaxResults=10, **kwargs
        )
        assert len(page["Parameters"]) == 10, page
        if "NextToken" not in page:
            return tokens
        tokens.append(page["NextToken"])


# --------------------------------------------------------------------------- the load


@dataclass
class Recorder:
    port: int
    record_from: float
    stop_at: float
    requests: list[float] = field(default_factory=list)  # seconds
    walks: list[float] = field(default_factory=list)
    ok: int = 0
    walks_ok: int = 0
    errors: int = 0
    first_error: str = ""


async def _send(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, payload: bytes
) -> tuple[int, bytes]:
    writer.write(payload)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return status, await reader.readexactly(length)


async def _client(
    rec: Recorder, gets: list[bytes] | None, walks: list[list[bytes]] | None, seed: int
) -> None:
    rng = random.Random(seed)
    reader, writer = await asyncio.open_connection(HOST, rec.port)
    try:
        while time.perf_counter() < rec.stop_at:
            batch = [rng.choice(gets)] if gets else rng.choice(walks or [[]])
            walk_started = time.perf_counter()
            failed = False
            for i, payload in enumerate(batch):
                started = time.perf_counter()
                status, body = await _send(reader, writer, payload)
                done = time.perf_counter()
                last_page = i == len(batch) - 1
                if status != 200 or (walks and not last_page and b'"NextToken"' not in body):
                    rec.errors += 1
                    failed = True
                    rec.first_error = rec.first_error or f"HTTP {status}: {body[:300]!r}"
                elif started >= rec.record_from and done <= rec.stop_at:
                    rec.requests.append(done - started)
                    rec.ok += 1
            done = time.perf_counter()
            if walks and not failed and walk_started >= rec.record_from and done <= rec.stop_at:
                rec.walks.append(done - walk_started)
                rec.walks_ok += 1
    finally:
        writer.close()


def percentile_ms(values: Sequence[float], q: float) -> float:
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1] * 1000


def run_load(
    port: int,
    concurrency: int,
    duration: float,
    warmup: float,
    gets: list[bytes] | None = None,
    walks: list[list[bytes]] | None = None,
) -> Recorder:
    now = time.perf_counter()
    rec = Recorder(port, record_from=now + warmup, stop_at=now + warmup + duration)

    async def main() -> None:
        await asyncio.gather(*(_client(rec, gets, walks, i) for i in range(concurrency)))

    asyncio.run(main())
    return rec


def summarise(
    rec: Recorder, duration: float, label: str, type_: str, conc: int
) -> list[dict[str, Any]]:
    rows = [
        {
            "op": label if not rec.walks else f"{label} request",
            "type": type_,
            "concurrency": conc,
            "per_s": rec.ok / duration,
            "p50_ms": percentile_ms(rec.requests, 50),
            "p99_ms": percentile_ms(rec.requests, 99),
            "errors": rec.errors,
            "first_error": rec.first_error,
        }
    ]
    if rec.walks:
        rows.append(
            {
                "op": f"{label} walk (100 results)",
                "type": type_,
                "concurrency": conc,
                "per_s": rec.walks_ok / duration,
                "p50_ms": percentile_ms(rec.walks, 50),
                "p99_ms": percentile_ms(rec.walks, 99),
                "errors": rec.errors,
                "first_error": rec.first_error,
            }
        )
    return rows


def row(r: dict[str, Any]) -> str:
    unit = "walks/s" if "walk" in r["op"] else "req/s"
    return (
        f"{r['op']:<28} {r['type']:<13} {r['concurrency']:>4} {r['per_s']:>9.0f} {unit:<8}"
        f" p50 {r['p50_ms']:>8.2f} ms  p99 {r['p99_ms']:>8.2f} ms  errors {r['errors']}"
    )


# --------------------------------------------------------------------------- main


def measure(args: argparse.Namespace, port: int) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    rng = random.Random(7)
    for type_, kind in TYPES.items():
        walks_tokens = {g: walk_tokens(port, f"/bench/{kind}/g{g:02d}") for g in range(GROUPS)}
        for conc in args.concurrency:
            picks = [
                name_of(kind, rng.randrange(GROUPS), rng.randrange(LEVELS), rng.randrange(10))
                for _ in range(GET_POOL)
            ]
            gets = [
                signed(port, "AmazonSSM.GetParameter", {"Name": n, "WithDecryption": True})
                for n in picks
            ]
            rec = run_load(port, conc, args.duration, args.warmup, gets=gets)
            for r in summarise(rec, args.duration, "get-parameter", type_, conc):
                print(row(r), flush=True)
                results.append(r)
            walks = [
                [
                    signed(
                        port,
                        "AmazonSSM.GetParametersByPath",
                        {
                            "Path": f"/bench/{kind}/g{g:02d}",
                            "Recursive": True,
                            "WithDecryption": True,
                            "MaxResults": 10,
                            **({"NextToken": token} if token else {}),
                        },
                    )
                    for token in tokens
                ]
                for g, tokens in walks_tokens.items()
            ]
            rec = run_load(port, conc, args.duration, args.warmup, walks=walks)
            for r in summarise(rec, args.duration, "by-path", type_, conc):
                print(row(r), flush=True)
                results.append(r)
    return results


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--concurrency", type=lambda t: [int(x) for x in t.split(",")], default=[8])
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--fill-threads", type=int, default=16)
    p.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--cofre", default=str(Path(sys.executable).with_name("cofre")))
    p.add_argument("--server-arg", action="append", default=[])
    p.add_argument("--out", type=Path, default=runner.BENCH_DIR / "results")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="cofre-ssm-bench-"))
    server: runner.Managed | None = None
    try:
        with database(args) as db_url:
            port = runner.free_port()
            argv_ = runner.cofre_argv(args, port, tmp / "data", db_url)
            server = runner.start("cofre", argv_, tmp, env=runner.cofre_env())
            runner.wait_ready(server, port, timeout=60)
            print(f"cofre on 127.0.0.1:{port} ({args.backend}, {args.workers} workers)")
            seconds = create_tree(port, args.fill_threads)
            total = len(TYPES) * GROUPS * LEVELS * PER_LEVEL
            print(f"created {total:,} parameters in {seconds:.1f} s ({total / seconds:.0f}/s)")
            results = measure(args, port)
            server.stop()
            server = None
        report = {
            "when": datetime.now(UTC).isoformat(),
            "backend": args.backend,
            "workers": args.workers,
            "parameters": total,
            "fill_seconds": seconds,
            "duration": args.duration,
            "warmup": args.warmup,
            "results": results,
            "machine": runner.machine_facts(),
        }
        args.out.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        path = args.out / f"{stamp}-ssm-{args.backend}.json"
        path.write_text(json.dumps(report, indent=2))
        print(f"wrote {path}")
        return 1 if any(r["errors"] for r in results) else 0
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
