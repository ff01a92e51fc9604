"""Cofre's load generator: pre-signed KMS requests over keep-alive HTTP/1.1, cheaply.

It shares the machine's cores with the server it measures, so each request must cost it as
little CPU as possible:

* every distinct request is signed once with botocore's ``SigV4Auth`` and serialised to raw
  bytes (request line, headers, body); the same bytes are resent, and re-signed every
  ``RESIGN_SECONDS`` (the server accepts a 15-minute clock skew and, like AWS, replays inside
  it);
* each connection is an ``asyncio.Protocol`` driven from ``data_received``: when a response is
  complete the next request is written at once, with no task, future or stream in between;
* responses are parsed with plain bytes operations (status line, ``Content-Length`` or
  chunked, body);
* the garbage collector is frozen and off while measuring; uvloop is used when importable;
* ``--processes N`` splits the connections over N forked processes; on the 2-core machine
  one process (the default) measured as high a floor as two, at ~16 µs of CPU per request
  at concurrency 32 against ~23-27 µs with two (see bench/README.md).

Latency is ``perf_counter_ns`` from the write of a request to the last byte of its response.
Each connection is first primed with one unrecorded request, and requests sent during
``--warmup`` are not recorded either. Throughput is successful responses
completed inside the measuring window divided by its length. Every run is bounded by
``--duration`` and by ``--max-requests`` (a hard cap on requests sent, warm-up included).

Examples::

    .venv/bin/python bench/loadgen.py --port 8100 --op bare --concurrency 1,8,32 --duration 5
    .venv/bin/python bench/loadgen.py --port 8200 --op encrypt64,decrypt --key-id alias/bench \\
        --access-key AKIA... --secret-key ... --concurrency 32 --json
    .venv/bin/python bench/loadgen.py --port 8200 --op encrypt64 --key-id <key-id> \\
        --access-key AKIA... --secret-key ... --context '{"app":"bench","tenant":"t-1"}'
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import gc
import http.client
import json
import math
import multiprocessing
import multiprocessing.connection
import os
import resource
import sys
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

try:  # uvloop's loop costs less per request than asyncio's.
    import uvloop

    LOOP_FACTORY: Callable[[], asyncio.AbstractEventLoop] | None = uvloop.new_event_loop
except ImportError:  # pragma: no cover - uvloop comes with uvicorn[standard]
    LOOP_FACTORY = None

HOST = "127.0.0.1"
CONTENT_TYPE = "application/x-amz-json-1.1"
RESIGN_SECONDS = 60.0
DEFAULT_MAX_REQUESTS = 3_000_000
MAX_DURATION = 3600.0
MAX_CONCURRENCY = 1024
MAX_RECONNECTS = 1000
OPS: tuple[str, ...] = ("encrypt64", "encrypt4k", "decrypt", "generate-data-key", "bare")
# The reads of a large store (bench/scale.py): ``--key-id`` names the parameter (or path).
READ_OPS: tuple[str, ...] = (
    "get-parameter", "list-keys", "list-aliases", "describe-parameters",
    "get-parameters-by-path",
)  # fmt: skip
EXTRA_OPS: tuple[str, ...] = ("create-key",)  # used by run.py to fill the store
DEFAULT_PROCESSES = 1


# --------------------------------------------------------------------------- signing


@dataclass(frozen=True)
class Endpoint:
    """Where to send and whose credentials to sign with."""

    port: int
    access_key: str
    secret_key: str
    region: str = "us-east-1"
    host: str = HOST

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/"


@dataclass(frozen=True)
class RequestSpec:
    """One distinct request: an X-Amz-Target, its JSON body, the service it is signed for."""

    target: str  # "" for a request without X-Amz-Target (the XKS API: bench/xks.py)
    body: bytes
    service: str = "kms"
    path: str = "/"


def sign(endpoint: Endpoint, spec: RequestSpec) -> tuple[bytes, dict[str, str]]:
    """Sign ``spec`` with SigV4 now; return the raw HTTP/1.1 request and its headers.

    The signed headers are those botocore's KMS client signs (content-type, host, x-amz-date,
    x-amz-target); Content-Length is sent unsigned, as botocore does.
    """
    signed = {"Content-Type": CONTENT_TYPE, "X-Amz-Target": spec.target}
    if not spec.target:
        signed = {"Content-Type": "application/json"}
    request = AWSRequest(
        method="POST", url=endpoint.url.rstrip("/") + spec.path, data=spec.body, headers=signed
    )
    credentials = Credentials(endpoint.access_key, endpoint.secret_key)
    auth = SigV4Auth(credentials, spec.service, endpoint.region)
    auth.add_auth(request)
    host = auth.headers_to_sign(request)["host"]
    headers: dict[str, str] = {"Host": host}
    headers.update((k, v) for k, v in request.headers.items())
    headers["Content-Length"] = str(len(spec.body))
    head = (
        f"POST {spec.path} HTTP/1.1\r\n"
        + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        + "\r\n"
    )
    return head.encode("latin-1") + spec.body, headers


def call(endpoint: Endpoint, target: str, payload: dict[str, Any], timeout: float = 30.0) -> Any:
    """One ordinary signed request (fresh signature, own connection); return the JSON answer."""
    spec = RequestSpec(target, json.dumps(payload).encode())
    _, headers = sign(endpoint, spec)
    conn = http.client.HTTPConnection(endpoint.host, endpoint.port, timeout=timeout)
    try:
        conn.request("POST", "/", body=spec.body, headers=headers)
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    if response.status != 200:
        raise RuntimeError(f"{target} -> HTTP {response.status}: {data[:500]!r}")
    return json.loads(data) if data else {}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def build_spec(
    op: str,
    endpoint: Endpoint,
    key_id: str | None,
    context: dict[str, str] | None = None,
) -> RequestSpec:
    """The request an operation sends. ``decrypt`` first encrypts once to get a ciphertext.

    ``context`` (an encryption context) is added as ``EncryptionContext`` to the Encrypt,
    Decrypt (and its priming Encrypt) and GenerateDataKey bodies, as a caller under a key
    policy with ``kms:EncryptionContext:`` conditions must send it.
    """
    key = key_id or "alias/cofre-bench"
    extra: dict[str, Any] = {"EncryptionContext": context} if context else {}
    if op in ("encrypt64", "bare"):
        # ``bare`` sends the very bytes of encrypt64 (to the bare app, which ignores them).
        body = {"KeyId": key, "Plaintext": _b64(os.urandom(64)), **extra}
        return RequestSpec("TrentService.Encrypt", json.dumps(body).encode())
    if op == "encrypt4k":
        body = {"KeyId": key, "Plaintext": _b64(os.urandom(4096)), **extra}
        return RequestSpec("TrentService.Encrypt", json.dumps(body).encode())
    if op == "decrypt":
        answer = call(
            endpoint,
            "TrentService.Encrypt",
            {"KeyId": key, "Plaintext": _b64(os.urandom(64)), **extra},
        )
        body = {"CiphertextBlob": answer["CiphertextBlob"], **extra}
        return RequestSpec("TrentService.Decrypt", json.dumps(body).encode())
    if op == "generate-data-key":
        body = {"KeyId": key, "KeySpec": "AES_256", **extra}
        return RequestSpec("TrentService.GenerateDataKey", json.dumps(body).encode())
    if op == "create-key":
        body = {"Description": "cofre-bench filler"}
        return RequestSpec("TrentService.CreateKey", json.dumps(body).encode())
    return _read_spec(op, key_id)


def _read_spec(op: str, name: str | None) -> RequestSpec:
    """A first page (the SDKs' default size) of a listing, or one parameter."""
    kms: dict[str, tuple[str, dict[str, Any]]] = {
        "list-keys": ("TrentService.ListKeys", {}),
        "list-aliases": ("TrentService.ListAliases", {}),
    }
    ssm: dict[str, tuple[str, dict[str, Any]]] = {
        "get-parameter": ("AmazonSSM.GetParameter", {"Name": name or "/bench/parameter"}),
        "describe-parameters": ("AmazonSSM.DescribeParameters", {}),
        "get-parameters-by-path": ("AmazonSSM.GetParametersByPath", {"Path": name or "/bench"}),
    }
    if op in kms:
        target, body = kms[op]
        return RequestSpec(target, json.dumps(body).encode())
    if op in ssm:
        target, body = ssm[op]
        return RequestSpec(target, json.dumps(body).encode(), "ssm")
    raise ValueError(f"unknown op {op!r}")


# --------------------------------------------------------------------------- the engine


def _chunked_end(data: bytes, pos: int) -> int:
    """End offset of a chunked body starting at ``pos``, or -1 while incomplete."""
    while True:
        eol = data.find(b"\r\n", pos)
        if eol < 0:
            return -1
        size = int(data[pos:eol].split(b";", 1)[0], 16)
        pos = eol + 2
        if size == 0:
            end = data.find(b"\r\n\r\n", pos - 2)  # no trailers: "0\r\n\r\n"
            return -1 if end < 0 else end + 4
        pos += size + 2
        if pos > len(data):
            return -1


def _dechunk(body: bytes) -> bytes:
    out = bytearray()
    pos = 0
    while True:
        eol = body.find(b"\r\n", pos)
        size = int(body[pos:eol].split(b";", 1)[0], 16)
        if size == 0:
            return bytes(out)
        out += body[eol + 2 : eol + 2 + size]
        pos = eol + 2 + size + 2


@dataclass
class Run:
    """State shared by the connections of one process."""

    payload: bytes
    port: int
    record_from: int  # perf_counter_ns; CLOCK_MONOTONIC, the same in every process
    stop_at: int
    remaining: int
    latencies: array[int] = field(default_factory=lambda: array("q"))
    primed: int = 0  # priming responses (one per connection, before the clock starts)
    completed: int = 0  # every response after priming, warm-up and errors included
    ok_in_window: int = 0
    last_done: int = 0
    errors: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    first_error: str | None = None
    reconnects: int = 0
    active: int = 0
    conns: list[Conn] = field(default_factory=list)
    done: asyncio.Future[None] | None = None

    def error(self, status: str, detail: bytes) -> None:
        self.errors += 1
        self.statuses[status] = self.statuses.get(status, 0) + 1
        if self.first_error is None:
            self.first_error = f"{status}: {detail[:1000].decode('utf-8', 'replace')}"


class Conn(asyncio.Protocol):
    """One keep-alive connection sending back-to-back from its own ``data_received``."""

    __slots__ = ("buf", "finished", "inflight", "priming", "run", "sent_at", "transport")

    def __init__(self, run: Run) -> None:
        self.run = run
        self.transport: asyncio.Transport | None = None
        self.buf = b""
        self.sent_at = 0
        self.inflight = False
        self.finished = False
        self.priming: asyncio.Future[None] | None = None

    def prime(self) -> asyncio.Future[None]:
        """Send one unrecorded request; the future resolves on its response.

        Priming connection by connection, each waiting for its answer, makes the server
        accept them one at a time, so its workers share them out instead of one worker
        draining a burst of connections from the listen backlog.
        """
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.transport is None or self.run.remaining <= 0:
            fut.set_result(None)
            return fut
        self.priming = fut
        self.run.remaining -= 1
        self.inflight = True
        self.sent_at = time.perf_counter_ns()
        self.transport.write(self.run.payload)
        return fut

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport; they behave as one.
        self.transport = cast(asyncio.Transport, transport)

    def send_next(self) -> None:
        run = self.run
        now = time.perf_counter_ns()
        if now >= run.stop_at or run.remaining <= 0 or self.transport is None:
            if self.transport is None:
                run.error("no-conn", b"connection not open")
            self.finish()
            return
        run.remaining -= 1
        self.inflight = True
        self.sent_at = now
        self.transport.write(run.payload)

    def data_received(self, data: bytes) -> None:
        if self.buf:
            data = self.buf + data
        end = data.find(b"\r\n\r\n")
        if end < 0:
            self.buf = data
            return
        i = data.find(b"\ncontent-length:", 0, end)
        if i < 0:
            i = data[:end].lower().find(b"\ncontent-length:")
        if i >= 0:
            eol = data.find(b"\r", i + 16, end + 1)
            total = end + 4 + int(data[i + 16 : eol])
        elif b"\ntransfer-encoding: chunked" in data[:end].lower():
            total = _chunked_end(data, end + 4)
            if total < 0:
                self.buf = data
                return
        else:
            total = end + 4  # 204/304 or a bodiless error
        if len(data) < total:
            self.buf = data
            return
        done = time.perf_counter_ns()
        self.buf = data[total:]
        self.inflight = False
        run = self.run
        if self.priming is not None:
            run.primed += 1
            if data[9:12] != b"200":
                run.error(data[9:12].decode("latin-1"), data[:12] + b" " + data[end + 4 : total])
            self.priming.set_result(None)
            self.priming = None
            return
        run.completed += 1
        run.last_done = done
        if data[9:12] == b"200":
            if self.sent_at >= run.record_from:
                run.latencies.append(done - self.sent_at)
            if done <= run.stop_at and done >= run.record_from:
                run.ok_in_window += 1
        else:
            body = data[end + 4 : total]
            if i < 0 and total > end + 4 and b"chunked" in data[:end].lower():
                body = _dechunk(body)
            run.error(data[9:12].decode("latin-1"), data[:12] + b" " + body)
        self.send_next()

    def finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        run = self.run
        run.active -= 1
        if run.active == 0 and run.done is not None and not run.done.done():
            run.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        if self.finished:
            return
        run = self.run
        if self.inflight:
            run.error("conn-lost", repr(exc).encode() if exc else b"closed by server")
        if self.priming is not None and not self.priming.done():
            self.priming.set_result(None)
        self.finish()
        now = time.perf_counter_ns()
        if now < run.stop_at and run.remaining > 0 and run.reconnects < MAX_RECONNECTS:
            run.reconnects += 1
            run.active += 1
            asyncio.get_running_loop().create_task(_reconnect(run))


async def _connect(run: Run, port: int) -> Conn:
    loop = asyncio.get_running_loop()
    _, proto = await loop.create_connection(lambda: Conn(run), HOST, port)
    run.conns.append(proto)
    return proto


async def _reconnect(run: Run) -> None:
    try:
        conn = await _connect(run, run.port)
    except OSError as exc:
        run.error("connect", repr(exc).encode())
        run.active -= 1
        if run.active == 0 and run.done is not None and not run.done.done():
            run.done.set_result(None)
        return
    conn.send_next()


@dataclass(frozen=True)
class Job:
    """What one process of the generator runs."""

    endpoint: Endpoint
    spec: RequestSpec
    payload: bytes
    connections: int
    warmup_ns: int
    duration_ns: int
    max_requests: int
    resign: bool


PRIME_TIMEOUT = 60.0
START_DELAY_NS = 20_000_000  # after every process is primed


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _run_job(job: Job, sync: Callable[[], int]) -> dict[str, Any]:
    """Connect and prime, learn the common start time from ``sync``, then load."""
    loop = asyncio.get_running_loop()
    run = Run(
        payload=job.payload,
        port=job.endpoint.port,
        record_from=0,
        stop_at=0,
        remaining=job.max_requests,
    )
    run.done = loop.create_future()
    conns: list[Conn] = []
    async with asyncio.timeout(PRIME_TIMEOUT):
        for _ in range(job.connections):
            conn = await _connect(run, job.endpoint.port)
            conns.append(conn)
            await conn.prime()
    run.active = len(conns)
    start_at = sync()  # perf_counter_ns (CLOCK_MONOTONIC: the same in every process)
    run.record_from = start_at + job.warmup_ns
    run.stop_at = run.record_from + job.duration_ns

    def resign() -> None:
        run.payload = sign(job.endpoint, job.spec)[0]
        handle[0] = loop.call_later(RESIGN_SECONDS, resign)

    handle: list[asyncio.TimerHandle] = []
    if job.resign:
        handle.append(loop.call_later(RESIGN_SECONDS, resign))
    gc.collect()
    gc.freeze()
    gc.disable()
    delay = (start_at - time.perf_counter_ns()) / 1e9
    if delay > 0:
        await asyncio.sleep(delay)
    cpu0 = _cpu_seconds()
    try:
        for conn in conns:
            conn.send_next()
        grace = 10.0 + job.duration_ns / 1e9 * 0.5
        timeout = (run.stop_at - time.perf_counter_ns()) / 1e9 + grace
        try:
            await asyncio.wait_for(asyncio.shield(run.done), timeout=max(timeout, 0.1))
        except TimeoutError:
            hung = sum(1 for c in run.conns if c.inflight and not c.finished)
            for _ in range(hung):
                run.error("timeout", b"no response before the deadline")
    finally:
        cpu1 = _cpu_seconds()
        gc.enable()
        gc.unfreeze()
        for h in handle:
            h.cancel()
        for conn in run.conns:
            if conn.transport is not None:
                conn.finished = True
                conn.transport.close()
    return {
        "latencies": run.latencies.tobytes(),
        "completed": run.completed,
        "primed": run.primed,
        "ok_in_window": run.ok_in_window,
        "window_end": min(run.stop_at, max(run.last_done, run.record_from)),
        "record_from": run.record_from,
        "errors": run.errors,
        "statuses": run.statuses,
        "first_error": run.first_error,
        "reconnects": run.reconnects,
        "cpu_s": cpu1 - cpu0,
    }


def _start_soon() -> int:
    return time.perf_counter_ns() + START_DELAY_NS


def _run_in_loop(job: Job, sync: Callable[[], int] = _start_soon) -> dict[str, Any]:
    with asyncio.Runner(loop_factory=LOOP_FACTORY) as runner:
        return runner.run(_run_job(job, sync))


def _child(job: Job, conn: multiprocessing.connection.Connection) -> None:
    def sync() -> int:
        conn.send({"ready": True})
        start_at: int = conn.recv()
        return start_at

    try:
        conn.send(_run_in_loop(job, sync))
    except BaseException as exc:
        conn.send({"crash": repr(exc)})
        raise
    finally:
        conn.close()


# --------------------------------------------------------------------------- results


def percentile(sorted_ns: Sequence[int], q: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    if not sorted_ns:
        return math.nan
    rank = max(1, math.ceil(q / 100.0 * len(sorted_ns)))
    return sorted_ns[rank - 1] / 1e6


def run_load(
    endpoint: Endpoint,
    op: str,
    *,
    concurrency: int,
    duration: float,
    warmup: float = 1.0,
    max_requests: int = DEFAULT_MAX_REQUESTS,
    processes: int = DEFAULT_PROCESSES,
    key_id: str | None = None,
    spec: RequestSpec | None = None,
    context: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Run one operation at one concurrency; return the merged figures."""
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise ValueError(f"concurrency must be within 1..{MAX_CONCURRENCY}")
    if not 0 < duration <= MAX_DURATION:
        raise ValueError(f"duration must be within (0, {MAX_DURATION}]")
    spec = spec or build_spec(op, endpoint, key_id, context)
    payload, _ = sign(endpoint, spec)
    processes = max(1, min(processes, concurrency))
    shares = [
        concurrency // processes + (1 if i < concurrency % processes else 0)
        for i in range(processes)
    ]
    caps = [
        max_requests // processes + (1 if i < max_requests % processes else 0)
        for i in range(processes)
    ]
    jobs = [
        Job(
            endpoint=endpoint,
            spec=spec,
            payload=payload,
            connections=shares[i],
            warmup_ns=int(warmup * 1e9),
            duration_ns=int(duration * 1e9),
            max_requests=caps[i],
            resign=warmup + duration > RESIGN_SECONDS - 5,
        )
        for i in range(processes)
    ]
    if processes == 1:
        parts = [_run_in_loop(jobs[0])]
    else:
        parts = _run_forked(jobs, timeout=warmup + duration + 60.0)
    return _merge(op, concurrency, processes, len(spec.body), parts)


def _run_forked(jobs: list[Job], timeout: float) -> list[dict[str, Any]]:
    """Run each job in a forked process; start them together once all are primed."""
    ctx = multiprocessing.get_context("fork")
    children: list[tuple[Any, multiprocessing.connection.Connection]] = []

    def receive(proc: Any, pipe: multiprocessing.connection.Connection, wait: float) -> Any:
        if not pipe.poll(max(0.0, wait)):
            raise TimeoutError(f"generator process {proc.pid} did not answer")
        message = pipe.recv()
        if "crash" in message:
            raise RuntimeError(f"generator process {proc.pid} failed: {message['crash']}")
        return message

    try:
        for job in jobs:
            pipe, child_end = ctx.Pipe(duplex=True)
            proc = ctx.Process(target=_child, args=(job, child_end), daemon=True)
            proc.start()
            child_end.close()
            children.append((proc, pipe))
        deadline = time.monotonic() + PRIME_TIMEOUT + 10.0
        for proc, pipe in children:
            receive(proc, pipe, deadline - time.monotonic())
        start_at = time.perf_counter_ns() + START_DELAY_NS
        for _, pipe in children:
            pipe.send(start_at)
        deadline = time.monotonic() + timeout
        return [receive(proc, pipe, deadline - time.monotonic()) for proc, pipe in children]
    finally:
        for proc, pipe in children:
            pipe.close()
            proc.join(timeout=5)
            if proc.is_alive():
                proc.terminate()
                proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
                proc.join()


def _merge(
    op: str, concurrency: int, processes: int, body_bytes: int, parts: list[dict[str, Any]]
) -> dict[str, Any]:
    lat = array("q")
    for part in parts:
        lat.frombytes(part["latencies"])
    ordered = sorted(lat)
    record_from = min(p["record_from"] for p in parts)
    window_end = max(p["window_end"] for p in parts)
    window = max(window_end - record_from, 1) / 1e9
    ok = sum(p["ok_in_window"] for p in parts)
    completed = sum(p["completed"] for p in parts)
    cpu = sum(p["cpu_s"] for p in parts)
    statuses: dict[str, int] = {}
    for part in parts:
        for k, v in part["statuses"].items():
            statuses[k] = statuses.get(k, 0) + v
    first_error = next((p["first_error"] for p in parts if p["first_error"]), None)
    return {
        "op": op,
        "concurrency": concurrency,
        "processes": processes,
        "body_bytes": body_bytes,
        "window_s": round(window, 3),
        "requests": ok,
        "completed_total": completed,
        "primed": sum(p["primed"] for p in parts),
        "rps": ok / window,
        "p50_ms": percentile(ordered, 50),
        "p90_ms": percentile(ordered, 90),
        "p99_ms": percentile(ordered, 99),
        "max_ms": ordered[-1] / 1e6 if ordered else math.nan,
        "mean_ms": (sum(ordered) / len(ordered) / 1e6) if ordered else math.nan,
        "errors": sum(p["errors"] for p in parts),
        "error_statuses": statuses,
        "first_error": first_error,
        "reconnects": sum(p["reconnects"] for p in parts),
        "gen_cpu_s": cpu,
        "gen_cpu_us_per_req": (cpu / completed * 1e6) if completed else math.nan,
    }


HEADER = (
    f"{'op':<18} {'conc':>4} {'procs':>5} {'req/s':>9} {'p50 ms':>8} {'p90 ms':>8} "
    f"{'p99 ms':>8} {'max ms':>8} {'errors':>7} {'gen µs/req':>10}"
)


def format_row(r: dict[str, Any]) -> str:
    return (
        f"{r['op']:<18} {r['concurrency']:>4} {r['processes']:>5} {r['rps']:>9.0f} "
        f"{r['p50_ms']:>8.3f} {r['p90_ms']:>8.3f} {r['p99_ms']:>8.3f} {r['max_ms']:>8.3f} "
        f"{r['errors']:>7} {r['gen_cpu_us_per_req']:>10.1f}"
    )


# --------------------------------------------------------------------------- CLI


def _csv(kind: Callable[[str], Any]) -> Callable[[str], list[Any]]:
    def parse(text: str) -> list[Any]:
        return [kind(x.strip()) for x in text.split(",") if x.strip()]

    return parse


def _op(text: str) -> str:
    if text not in OPS + READ_OPS + EXTRA_OPS:
        raise argparse.ArgumentTypeError(f"unknown op {text!r}; one of {', '.join(OPS + READ_OPS)}")
    return text


def _context(text: str) -> dict[str, str]:
    """An encryption context: a JSON object of strings."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from exc
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise argparse.ArgumentTypeError("must be a JSON object of string values")
    return value


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Pre-signed keep-alive load generator for Cofre (and the bare-app floor).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--port", type=int, required=True, help="server port on 127.0.0.1")
    p.add_argument(
        "--op",
        type=_csv(_op),
        default=["encrypt64"],
        help=f"comma-separated, run in turn: {', '.join(OPS)}",
    )
    p.add_argument(
        "--concurrency",
        type=_csv(int),
        default=[1],
        help="connections (comma-separated list runs each in turn)",
    )
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per run")
    p.add_argument("--warmup", type=float, default=1.0, help="unrecorded seconds first")
    p.add_argument(
        "--max-requests",
        type=int,
        default=DEFAULT_MAX_REQUESTS,
        help="hard cap on requests sent per run, warm-up included",
    )
    p.add_argument(
        "--processes",
        type=int,
        default=DEFAULT_PROCESSES,
        help="generator processes (connections are split over them)",
    )
    p.add_argument("--key-id", default=None, help="KeyId for encrypt/decrypt/generate-data-key")
    p.add_argument(
        "--context",
        type=_context,
        default=None,
        metavar="JSON",
        help='encryption context (a JSON object, e.g. \'{"app":"bench"}\') sent with '
        "encrypt*, decrypt and generate-data-key",
    )
    p.add_argument(
        "--access-key", default=os.environ.get("COFRE_ADMIN_ACCESS_KEY_ID", "AKIACOFREBENCH000001")
    )
    p.add_argument(
        "--secret-key",
        default=os.environ.get(
            "COFRE_ADMIN_SECRET_ACCESS_KEY", "cofre-bench-secret-key-0000000000000000"
        ),
    )
    p.add_argument("--region", default="us-east-1")
    p.add_argument("--json", action="store_true", help="print JSON on stdout (table on stderr)")
    p.add_argument("--quiet", action="store_true", help="no table (with --json: JSON only)")
    args = p.parse_args(argv)
    if args.max_requests < 1:
        p.error("--max-requests must be >= 1")
    if args.processes < 1:
        p.error("--processes must be >= 1")
    for c in args.concurrency:
        if not 1 <= c <= MAX_CONCURRENCY:
            p.error(f"--concurrency must be within 1..{MAX_CONCURRENCY}")
    if not 0 < args.duration <= MAX_DURATION or args.warmup < 0:
        p.error(f"--duration must be within (0, {MAX_DURATION}], --warmup >= 0")
    needs_key = [o for o in args.op if o in OPS and o != "bare"]
    if needs_key and not args.key_id:
        p.error(f"--key-id is needed for {', '.join(needs_key)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    endpoint = Endpoint(args.port, args.access_key, args.secret_key, args.region)
    table = sys.stderr if args.json else sys.stdout

    def show(text: str) -> None:
        if not args.quiet:
            print(text, file=table, flush=True)

    results: list[dict[str, Any]] = []
    show(HEADER)
    for op in args.op:
        # decrypt: one Encrypt, shared by runs
        spec = build_spec(op, endpoint, args.key_id, args.context)
        for concurrency in args.concurrency:
            result = run_load(
                endpoint,
                op,
                concurrency=concurrency,
                duration=args.duration,
                warmup=args.warmup,
                max_requests=args.max_requests,
                processes=args.processes,
                key_id=args.key_id,
                spec=spec,
            )
            results.append(result)
            show(format_row(result))
            if result["first_error"]:
                show(f"  first error ({op}, c={concurrency}): {result['first_error']}")
    if args.json:
        json.dump(results, sys.stdout, indent=2)
        sys.stdout.write("\n")
    with contextlib.suppress(Exception):
        sys.stdout.flush()
    return 1 if any(r["errors"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
