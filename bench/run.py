"""Run Cofre's benchmark end to end: the bare-app floor, then Cofre, on one backend.

::

    .venv/bin/python bench/run.py --backend sqlite --workers 2 --concurrency 1,8,32 --duration 10
    .venv/bin/python bench/run.py --backend postgres --keys 100000
    .venv/bin/python bench/run.py --skip-bare --ops encrypt64 --policy both --repeat 3

Steps:

1. start ``bench/bare_app.py`` (uvicorn, same settings as Cofre) on a free loopback port,
   measure it at each concurrency, stop it;
2. for ``--backend postgres`` create a fresh database ``cofre_bench_<random>``;
3. start ``cofre serve --host 127.0.0.1 --port P --data-dir TMP --workers N
   [--database URL]`` with bench admin credentials, wait for ``GET /health``;
4. create the benchmark key with boto3 and run every operation at every concurrency
   through ``bench/loadgen.py``, sampling the server processes' RSS and CPU from /proc;
   with ``--policy realistic`` (or ``both``) also create the IAM users ``bench-app`` and
   ``bench-keyadmin``, a second key under a five-statement key policy with conditions on
   the encryption context and an identity policy for ``bench-app``, check that the policy
   holds (Encrypt with the context succeeds, without it is denied), and run the same
   operations as ``bench-app`` with that context (``both``: admin then realistic at each
   point, on the same server);
5. with ``--keys N``: create N more keys (pre-signed CreateKey through the load generator),
   and run every operation again;
6. print the table (req/s, p50, p99, ratio to the bare app at the same concurrency), the
   realistic/admin comparison, the RSS per worker and the issue's targets as PASS/FAIL;
   write everything to ``bench/results/<time>-<backend>.json`` (git-ignored);
7. stop every process it started, by PID (SIGTERM, then SIGKILL after a timeout), also on
   Ctrl-C or error, and drop the PostgreSQL database.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import platform
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
LOADGEN = BENCH_DIR / "loadgen.py"
BARE_APP = BENCH_DIR / "bare_app.py"
HOST = "127.0.0.1"
ACCESS_KEY = "AKIACOFREBENCH000001"
SECRET_KEY = "cofre-bench-secret-key-0000000000000000"
ACCOUNT_ID = "111122223333"
REGION = "us-east-1"
COFRE_OPS = ("encrypt64", "encrypt4k", "decrypt", "generate-data-key")
TARGET_OPS = ("encrypt64", "decrypt", "generate-data-key")  # those the issue sets targets for
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KIB = 1024

POLICY_MODES = ("admin", "realistic")
APP_USER = "bench-app"  # the realistic mode's caller
KEYADMIN_USER = "bench-keyadmin"  # the key administrator its key policy names
BENCH_CONTEXT = {"app": "bench", "tenant": "t-1"}

# The targets.
MIN_RATIO_AT_32 = 0.50
MAX_P99_MS = 15.0
MAX_P50_MS_AT_1 = 0.5
MAX_RSS_MIB = 150.0
MAX_SLOWDOWN_WITH_KEYS = 0.10
MIN_POLICY_RATIO = 0.85  # realistic-policy Encrypt req/s within 15% of admin-only
POLICY_TARGET_OPS = ("encrypt64",)
DISTURBED = 0.15  # other + steal cores above which a row is marked "!" (--max-other)


# --------------------------------------------------------------------------- /proc


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def proc_stat(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (field 3 is index 0)."""
    text = _read(f"/proc/{pid}/stat")
    if text is None:
        return None
    return text[text.rindex(")") + 2 :].split()


def start_time(pid: int) -> int | None:
    fields = proc_stat(pid)
    return int(fields[19]) if fields else None  # field 22: starttime


def cpu_seconds(pid: int) -> float:
    fields = proc_stat(pid)
    if not fields:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime


def status_kib(pid: int, name: str) -> int | None:
    text = _read(f"/proc/{pid}/status")
    if text is None:
        return None
    for line in text.splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    return None


def children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return out
    for tid in tasks:
        text = _read(f"/proc/{pid}/task/{tid}/children")
        if text:
            out.extend(int(x) for x in text.split())
    return out


def descendants(pid: int) -> list[int]:
    out: list[int] = []
    todo = children(pid)
    while todo:
        child = todo.pop()
        out.append(child)
        todo.extend(children(child))
    return out


def cmdline(pid: int) -> str:
    text = _read(f"/proc/{pid}/cmdline")
    return text.replace("\0", " ").strip() if text else ""


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, steal): the machine's non-idle CPU time on every core, and the time the
    hypervisor gave our vCPUs to someone else, from /proc/stat."""
    text = _read("/proc/stat") or ""
    fields = [int(x) for x in text.splitlines()[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields[:8]
    return (user + nice + system + irq + softirq) / CLK_TCK, steal / CLK_TCK


def process_cpu_snapshot() -> dict[int, tuple[str, float]]:
    """Every process's (name, CPU seconds), to name what else loaded the machine.

    Processes that start and end between two snapshots are not seen; their CPU still shows
    in the machine-wide ``other`` figure."""
    snap: dict[int, tuple[str, float]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        text = _read(f"/proc/{entry}/stat")
        if text is None:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        f = text[text.rindex(")") + 2 :].split()
        snap[int(entry)] = (name, (int(f[11]) + int(f[12])) / CLK_TCK)  # utime + stime
    return snap


def top_other(
    before: dict[int, tuple[str, float]],
    after: dict[int, tuple[str, float]],
    exclude: set[int],
    count: int = 3,
) -> list[str]:
    """The processes outside ours that used the most CPU between two snapshots."""
    used = []
    for pid, (name, cpu) in after.items():
        if pid in exclude or pid not in before:  # new ones: our load generator, mostly
            continue
        delta = cpu - before[pid][1]
        if delta >= 0.05:
            used.append((delta, f"{name}[{pid}] {delta:.1f}s"))
    return [text for _, text in sorted(used, reverse=True)[:count]]


def machine_facts() -> dict[str, Any]:
    cpuinfo = _read("/proc/cpuinfo") or ""
    model = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if "model name" in line),
        "unknown",
    )
    facts: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "cpu_model": model,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "mem_total_kib": status_like(_read("/proc/meminfo") or "", "MemTotal"),
    }
    for dist in ("uvicorn", "uvloop", "httptools", "cryptography", "psycopg", "botocore"):
        with contextlib.suppress(Exception):
            from importlib.metadata import version

            facts[dist] = version(dist)
    return facts


def status_like(text: str, name: str) -> int | None:
    for line in text.splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    return None


# --------------------------------------------------------------------------- processes


@dataclass
class Managed:
    """A process this script started, and every descendant seen, stopped by PID only."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    seen: dict[int, int] = field(default_factory=dict)  # pid -> starttime

    @property
    def pid(self) -> int:
        return self.proc.pid

    def refresh(self) -> list[int]:
        """Current descendants; remember them so they can be stopped even if orphaned."""
        pids = descendants(self.pid)
        for pid in pids:
            st = start_time(pid)
            if st is not None:
                self.seen.setdefault(pid, st)
        return pids

    def tree(self) -> list[int]:
        return [self.pid, *self.refresh()]

    def workers(self) -> list[int]:
        """The processes that serve requests: uvicorn's spawned workers, else the root."""
        kids = [p for p in self.refresh() if "resource_tracker" not in cmdline(p)]
        return kids or [self.pid]

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        text = _read(str(self.log)) or ""
        return "\n".join(text.splitlines()[-lines:])

    def stop(self, timeout: float = 10.0) -> None:
        if self.alive():
            self.refresh()
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                self.proc.wait(timeout=timeout)
        # Descendants left behind (e.g. the supervisor was killed): same PID *and* start time.
        leftovers = [p for p, st in self.seen.items() if start_time(p) == st]
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(start_time(p) == self.seen[p] for p in leftovers):
            time.sleep(0.1)
        for pid in leftovers:
            if start_time(pid) == self.seen[pid]:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


def start(name: str, argv: list[str], logdir: Path, env: dict[str, str] | None = None) -> Managed:
    log = logdir / f"{name}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env
        )
    return Managed(name, proc, log)


def wait_ready(server: Managed, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError(
                f"{server.name} exited with {server.proc.returncode}:\n{server.log_tail()}"
            )
        conn = http.client.HTTPConnection(HOST, port, timeout=2)
        try:
            conn.request("GET", "/health")
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                # Give every worker time to be listening, not only the first.
                time.sleep(1.0)
                server.refresh()
                return
            last = f"HTTP {response.status}"
        except OSError as exc:
            last = repr(exc)
        finally:
            conn.close()
        time.sleep(0.2)
    raise TimeoutError(f"{server.name} not ready after {timeout}s ({last}):\n{server.log_tail()}")


@contextlib.contextmanager
def running(
    name: str,
    argv: list[str],
    port: int,
    logdir: Path,
    env: dict[str, str] | None,
    timeout: float,
    registry: list[Managed],
) -> Iterator[Managed]:
    server = start(name, argv, logdir, env)
    registry.append(server)
    try:
        wait_ready(server, port, timeout)
        yield server
    finally:
        server.stop()
        registry.remove(server)


# --------------------------------------------------------------------------- measuring


class Sampler:
    """Samples VmRSS of a server's processes while a load runs."""

    def __init__(self, server: Managed, interval: float = 0.25) -> None:
        self.server = server
        self.interval = interval
        self.max_rss_kib: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            for pid in self.server.tree():
                rss = status_kib(pid, "VmRSS")
                if rss is not None:
                    self.max_rss_kib[pid] = max(rss, self.max_rss_kib.get(pid, 0))
            self._stop.wait(self.interval)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass(frozen=True)
class Caller:
    """Whose credentials the load generator signs with, and the context it sends."""

    access_key: str
    secret_key: str
    context: dict[str, str] | None = None


ADMIN = Caller(ACCESS_KEY, SECRET_KEY)


def run_loadgen(
    args: argparse.Namespace,
    port: int,
    op: str,
    concurrency: int,
    key_id: str | None,
    *,
    caller: Caller = ADMIN,
    duration: float | None = None,
    warmup: float | None = None,
    max_requests: int | None = None,
    processes: int | None = None,
) -> dict[str, Any]:
    """One bench/loadgen.py run in its own process; return its JSON result."""
    duration = args.duration if duration is None else duration
    warmup = args.warmup if warmup is None else warmup
    argv = [
        sys.executable, str(LOADGEN), "--json", "--quiet",
        "--port", str(port), "--op", op, "--concurrency", str(concurrency),
        "--duration", str(duration), "--warmup", str(warmup),
        "--max-requests", str(max_requests or args.max_requests),
        "--processes", str(processes or args.processes),
        "--access-key", caller.access_key, "--secret-key", caller.secret_key,
        "--region", REGION,
    ]  # fmt: skip
    if key_id:
        argv += ["--key-id", key_id]
    if caller.context:
        argv += ["--context", json.dumps(caller.context)]
    proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    try:
        out, _ = proc.communicate(timeout=duration + warmup + 180.0)
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    if not out.strip():
        raise RuntimeError(f"loadgen {op} c={concurrency} printed nothing (rc={proc.returncode})")
    results: list[dict[str, Any]] = json.loads(out)
    return results[0]


def disturbance(result: dict[str, Any]) -> float:
    return float(result["other_cores"] + result["steal_cores"])


def measure_once(
    args: argparse.Namespace,
    server: Managed,
    port: int,
    op: str,
    concurrency: int,
    key_id: str | None,
    label: str,
    caller: Caller = ADMIN,
) -> dict[str, Any]:
    """One load run, with the server's CPU and RSS and what else the machine did meanwhile."""
    tree0 = {p: cpu_seconds(p) for p in server.tree()}
    snap0 = process_cpu_snapshot()
    busy0, steal0 = machine_cpu_seconds()
    kids0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    self0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.monotonic()
    with Sampler(server) as sampler:
        result = run_loadgen(args, port, op, concurrency, key_id, caller=caller)
    wall = time.monotonic() - t0
    kids1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    self1 = resource.getrusage(resource.RUSAGE_SELF)
    busy1, steal1 = machine_cpu_seconds()
    tree1 = {p: cpu_seconds(p) for p in server.tree()}
    result["other_top"] = top_other(snap0, process_cpu_snapshot(), {*tree1, os.getpid()})
    requests = result["completed_total"] or 1
    server_cpu = sum(tree1[p] - tree0.get(p, 0.0) for p in tree1)
    gen_cpu = (kids1.ru_utime + kids1.ru_stime) - (kids0.ru_utime + kids0.ru_stime)
    own_cpu = (self1.ru_utime + self1.ru_stime) - (self0.ru_utime + self0.ru_stime)
    result["target"] = label
    result["server_cpu_us_per_req"] = server_cpu / requests * 1e6
    # Everything else the machine did meanwhile (other jobs, kernel threads), in cores;
    # the generator's start-up (imports, signing) and this script's sampling are excluded.
    result["other_cores"] = max(0.0, (busy1 - busy0) - server_cpu - gen_cpu - own_cpu) / wall
    # CPU the hypervisor took from this VM: the figures are noisy when it is not ~0.
    result["steal_cores"] = (steal1 - steal0) / wall
    result["server_rss_kib"] = {str(p): v for p, v in sampler.max_rss_kib.items()}
    return result


@dataclass(frozen=True)
class Target:
    """What one series of load runs measures: a row label, the key and the caller."""

    label: str
    key_id: str | None
    caller: Caller = ADMIN


def measure_try(
    args: argparse.Namespace, server: Managed, port: int, op: str, concurrency: int, t: Target
) -> dict[str, Any]:
    """One run, re-run up to ``--retries`` times while something else used more than
    ``--max-other`` cores (other jobs or the hypervisor's steal); if every try was disturbed
    the least disturbed one is kept."""
    tries = []
    for attempt in range(args.retries + 1):
        if attempt:
            time.sleep(args.retry_pause)
        result = measure_once(args, server, port, op, concurrency, t.key_id, t.label, t.caller)
        tries.append(result)
        if disturbance(result) <= args.max_other:
            break
        print(f"    disturbed ({', '.join(result['other_top']) or 'steal/short jobs'}: "
              f"other {result['other_cores']:.2f}, steal {result['steal_cores']:.2f} "
              f"cores){'; again' if attempt < args.retries else ''}", flush=True)  # fmt: skip
    best = min(tries, key=disturbance)
    best["tries"] = len(tries)
    return best


def measure_set(
    args: argparse.Namespace,
    server: Managed,
    port: int,
    op: str,
    concurrency: int,
    targets: Sequence[Target],
) -> list[dict[str, Any]]:
    """Run ``op`` ``args.repeat`` times for each target; keep per target the run with the
    median req/s.

    The targets take turns within each repeat, in reverse order every other repeat (AB, BA,
    AB, ...), so that a change in what else loads the machine hits each alike. Every target
    after the first also gets ``paired_ratios``: its req/s over the first target's in the
    same repeat.
    """
    runs: list[list[dict[str, Any]]] = [[] for _ in targets]
    for n in range(args.repeat):
        order = list(range(len(targets)))
        for i in order if n % 2 == 0 else order[::-1]:
            runs[i].append(measure_try(args, server, port, op, concurrency, targets[i]))
    chosen_all = []
    for i, series in enumerate(runs):
        ordered = sorted(series, key=lambda r: r["rps"])
        chosen = dict(ordered[len(ordered) // 2])
        chosen["repeats_rps"] = [round(r["rps"]) for r in series]  # in the order run
        if i:
            chosen["paired_ratios"] = [
                r["rps"] / base["rps"] for r, base in zip(series, runs[0], strict=True)
            ]
        print(row(chosen), flush=True)
        if chosen["other_top"]:
            print(f"    other load: {', '.join(chosen['other_top'])}", flush=True)
        if chosen["first_error"]:
            print(f"    first error: {chosen['first_error']}", flush=True)
        chosen_all.append(chosen)
    return chosen_all


def measure(
    args: argparse.Namespace,
    server: Managed,
    port: int,
    op: str,
    concurrency: int,
    key_id: str | None,
    label: str,
) -> dict[str, Any]:
    """Run ``op`` ``args.repeat`` times; keep the run with the median req/s."""
    return measure_set(args, server, port, op, concurrency, [Target(label, key_id)])[0]


HEAD = (
    f"{'target':<26} {'op':<17} {'conc':>4} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} "
    f"{'ratio':>6} {'errors':>6} {'srv µs':>7} {'gen µs':>7} {'other':>5} {'steal':>5}"
)


def row(r: dict[str, Any], ratio: float | None = None) -> str:
    ratio_text = f"{ratio:>6.2f}" if ratio is not None else f"{'':>6}"
    return (
        f"{r['target']:<26} {r['op']:<17} {r['concurrency']:>4} {r['rps']:>8.0f} "
        f"{r['p50_ms']:>7.3f} {r['p99_ms']:>7.3f} {ratio_text} {r['errors']:>6} "
        f"{r['server_cpu_us_per_req']:>7.1f} {r['gen_cpu_us_per_req']:>7.1f} "
        f"{r['other_cores']:>5.2f} {r['steal_cores']:>5.2f}"
        + ("!" if disturbance(r) > DISTURBED else " ")
    )


# --------------------------------------------------------------------------- Cofre


@contextlib.contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh database for one run, dropped afterwards; yields its URL."""
    import psycopg

    name = f"cofre_bench_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')  # name is ours: [a-z0-9_]
    parts = urlsplit(admin_url)
    url = urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))
    print(f"postgres: created database {name}", flush=True)
    try:
        yield url
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        print(f"postgres: dropped database {name}", flush=True)


def kms_client(port: int, caller: Caller = ADMIN, service: str = "kms") -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        service,
        endpoint_url=f"http://{HOST}:{port}",
        region_name=REGION,
        aws_access_key_id=caller.access_key,
        aws_secret_access_key=caller.secret_key,
        config=Config(retries={"max_attempts": 1}),
    )


# --------------------------------------------------------------------------- --policy realistic


def realistic_key_policy(app_arn: str, keyadmin_arn: str) -> dict[str, Any]:
    """A key policy as a production key has one: five statements, the caller's conditioned
    on its encryption context, and a deny of context-less cryptographic use."""
    admin_actions = [
        "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*",
        "kms:Update*", "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*",
        "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion",
        "kms:CancelKeyDeletion",
    ]  # fmt: skip
    return {
        "Version": "2012-10-17",
        "Id": "cofre-bench-realistic",
        "Statement": [
            {
                "Sid": "Enable IAM User Permissions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT_ID}:root"},
                "Action": "kms:*",
                "Resource": "*",
            },
            {
                "Sid": "Allow access for Key Administrators",
                "Effect": "Allow",
                "Principal": {"AWS": keyadmin_arn},
                "Action": admin_actions,
                "Resource": "*",
            },
            {
                "Sid": "Allow use of the key",
                "Effect": "Allow",
                "Principal": {"AWS": app_arn},
                "Action": [
                    "kms:Encrypt",
                    "kms:Decrypt",
                    "kms:ReEncrypt*",
                    "kms:GenerateDataKey*",
                    "kms:DescribeKey",
                ],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"kms:EncryptionContext:app": "bench"},
                    "StringLike": {"kms:EncryptionContext:tenant": "t-*"},
                },
            },
            {
                "Sid": "Allow attachment of persistent resources",
                "Effect": "Allow",
                "Principal": {"AWS": app_arn},
                "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
                "Resource": "*",
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
            },
            {
                "Sid": "Deny use without an encryption context",
                "Effect": "Deny",
                "Principal": "*",
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
                "Condition": {"Null": {"kms:EncryptionContextKeys": "true"}},
            },
        ],
    }


def app_identity_policy(key_arn: str) -> dict[str, Any]:
    """``bench-app``'s inline IAM policy: the three operations on the bench key, in context."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "UseBenchKeyInContext",
                "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": key_arn,
                "Condition": {"StringEquals": {"kms:EncryptionContext:app": "bench"}},
            }
        ],
    }


def setup_realistic(port: int) -> tuple[str, Caller]:
    """Create the IAM users, the key under the realistic policy and ``bench-app``'s identity
    policy (as the bench admin), check the policy holds; return the key id and the caller."""
    iam = kms_client(port, service="iam")
    arns = {name: iam.create_user(UserName=name)["User"]["Arn"]
            for name in (APP_USER, KEYADMIN_USER)}  # fmt: skip
    access = iam.create_access_key(UserName=APP_USER)["AccessKey"]
    policy = realistic_key_policy(arns[APP_USER], arns[KEYADMIN_USER])
    key = kms_client(port).create_key(
        Description="cofre bench (realistic policy)", Policy=json.dumps(policy)
    )["KeyMetadata"]
    iam.put_user_policy(
        UserName=APP_USER,
        PolicyName="bench-app-kms",
        PolicyDocument=json.dumps(app_identity_policy(key["Arn"])),
    )
    caller = Caller(access["AccessKeyId"], access["SecretAccessKey"], dict(BENCH_CONTEXT))
    check_realistic(port, key["KeyId"], caller)
    print(f"policy realistic: key {key['KeyId']} (5 statements), caller {arns[APP_USER]}, "
          f"context {json.dumps(BENCH_CONTEXT)}; sanity checks passed", flush=True)  # fmt: skip
    return key["KeyId"], caller


def check_realistic(port: int, key_id: str, caller: Caller, wait: float = 3.0) -> None:
    """As ``bench-app``: the three operations in context succeed (retried for up to ``wait``
    seconds while the new policies reach every worker); Encrypt without a context, or with
    another ``app``, is AccessDeniedException. Raise otherwise.

    (A tenant outside ``t-*`` is allowed: statement 1 delegates to IAM, and the identity
    policy asks for ``app`` only, as in AWS.)"""
    from botocore.exceptions import ClientError

    kms = kms_client(port, caller)
    context = caller.context or {}
    deadline = time.monotonic() + wait
    while True:
        try:
            blob = kms.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext=context)
            kms.decrypt(CiphertextBlob=blob["CiphertextBlob"], EncryptionContext=context)
            kms.generate_data_key(KeyId=key_id, KeySpec="AES_256", EncryptionContext=context)
            break
        except ClientError as exc:
            if time.monotonic() >= deadline:
                raise RuntimeError(
                    f"realistic policy: {APP_USER} denied in context: {exc}"
                ) from exc
            time.sleep(0.2)
    wrong_app = {**context, "app": "other"}
    for label, denied in (("without a context", {}), ("with app=other", wrong_app)):
        try:
            kms.encrypt(KeyId=key_id, Plaintext=b"x", EncryptionContext=denied)
        except ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code != "AccessDeniedException":
                raise RuntimeError(f"realistic policy: Encrypt {label} -> {code}: {exc}") from exc
        else:
            raise RuntimeError(f"realistic policy: Encrypt {label} was allowed")


def fill_keys(args: argparse.Namespace, port: int, count: int) -> dict[str, Any]:
    """Create ``count`` keys with pre-signed CreateKey requests through the load generator."""
    print(f"creating {count} keys ...", flush=True)
    t0 = time.monotonic()
    result = run_loadgen(
        args, port, "create-key", args.fill_concurrency, None,
        duration=args.fill_timeout, warmup=0.0, max_requests=count, processes=1,
    )  # fmt: skip
    elapsed = time.monotonic() - t0
    created = result["primed"] + result["completed_total"] - result["errors"]
    print(
        f"created {created} keys in {elapsed:.1f}s ({created / elapsed:.0f}/s), "
        f"errors {result['errors']}",
        flush=True,
    )
    if result["first_error"]:
        print(f"    first error: {result['first_error']}", flush=True)
    return {"requested": count, "created": created, "errors": result["errors"],
            "seconds": elapsed}  # fmt: skip


def count_keys(port: int) -> int | None:
    try:
        client = kms_client(port)
        total = 0
        for page in client.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 1000}):
            total += len(page["Keys"])
        return total
    except Exception as exc:
        print(f"ListKeys failed, key count unverified: {exc!r}", flush=True)
        return None


def cofre_argv(
    args: argparse.Namespace, port: int, data_dir: Path, db_url: str | None
) -> list[str]:
    argv = [
        args.cofre, "serve", "--host", HOST, "--port", str(port),
        "--data-dir", str(data_dir), "--workers", str(args.workers),
    ]  # fmt: skip
    if db_url:
        argv += ["--database", db_url]
    return argv + list(args.server_arg)


def cofre_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        COFRE_ADMIN_ACCESS_KEY_ID=ACCESS_KEY,
        COFRE_ADMIN_SECRET_ACCESS_KEY=SECRET_KEY,
        COFRE_ACCOUNT_ID=ACCOUNT_ID,
    )
    # AWS's request quotas (ADR 20) would throttle the fills (5 CreateKey, 3 PutParameter
    # a second) and the Parameter Store runs (40 GetParameter); what they cost is
    # bench/ops_overhead.py's to measure (--server-arg --quotas --server-arg on here).
    env.setdefault("COFRE_QUOTAS", "off")
    return env


def worker_memory(server: Managed) -> list[dict[str, Any]]:
    """Peak (VmHWM) and current RSS of each server process, read before it stops."""
    out = []
    workers = set(server.workers())
    for pid in server.tree():
        role = "worker" if pid in workers else "supervisor"
        if "resource_tracker" in cmdline(pid):
            role = "resource_tracker"
        out.append({
            "pid": pid, "role": role,
            "rss_kib": status_kib(pid, "VmRSS"), "hwm_kib": status_kib(pid, "VmHWM"),
        })  # fmt: skip
    return out


# --------------------------------------------------------------------------- the run


def ratios(result: dict[str, Any], bare: dict[str, Any] | None) -> tuple[float, float] | None:
    """(throughput ratio, CPU ratio) of a Cofre result to the bare app at its concurrency.

    The CPU ratio, (bare server + generator µs per request) / (Cofre's), is what the
    throughput ratio would be if both were bound by the machine's CPU alone; unlike req/s it
    barely moves when other work shares the machine, so it cross-checks a noisy run.
    """
    if bare is None or result["target"] == "bare":
        return None
    cpu_bare = bare["server_cpu_us_per_req"] + bare["gen_cpu_us_per_req"]
    cpu_cofre = result["server_cpu_us_per_req"] + result["gen_cpu_us_per_req"]
    return result["rps"] / bare["rps"], cpu_bare / cpu_cofre


def results_key(mode: str, with_keys: bool = False) -> str:
    """The report's list of Cofre results for a policy mode and pass."""
    return ("cofre" if mode == "admin" else f"cofre_{mode}") + ("_with_keys" if with_keys else "")


def passes(report: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]], dict[int, Any]]]:
    """(suffix, Cofre results, bare results by concurrency) for each pass that ran."""
    bare = {r["concurrency"]: r for r in report.get("bare", [])}
    bare_keys = {r["concurrency"]: r for r in report.get("bare_with_keys", [])} or bare
    out = []
    for mode in POLICY_MODES:
        tag = "" if mode == "admin" else f" [{mode} policy]"
        if report.get(results_key(mode)):
            out.append((tag, report[results_key(mode)], bare))
        if report.get(results_key(mode, True)):
            suffix = f" [+{report['keys']['created']} keys]{tag}"
            out.append((suffix, report[results_key(mode, True)], bare_keys))
    return out


def policy_pairs(report: dict[str, Any]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(suffix, admin result, realistic result) for each point measured in both modes."""
    out = []
    for with_keys in (False, True):
        realistic = report.get(results_key("realistic", with_keys), [])
        if not realistic:
            continue
        admin = {
            (r["op"], r["concurrency"]): r for r in report.get(results_key("admin", with_keys), [])
        }
        suffix = f" [+{report['keys']['created']} keys]" if with_keys else ""
        for r in realistic:
            base = admin.get((r["op"], r["concurrency"]))
            if base is not None:
                out.append((suffix, base, r))
    return out


def checks(report: dict[str, Any]) -> list[tuple[str, bool]]:
    """The issue's targets, against what was measured."""
    out: list[tuple[str, bool]] = []
    for suffix, results, bare in passes(report):
        for r in results:
            if r["op"] not in TARGET_OPS:
                continue
            c = r["concurrency"]
            rr = ratios(r, bare.get(c))
            if c == 32 and rr is not None:
                out.append((f"{r['op']} c=32 {r['rps']:.0f} req/s >= {MIN_RATIO_AT_32:.0%} of "
                            f"bare {bare[c]['rps']:.0f}: ratio {rr[0]:.2f} (CPU ratio "
                            f"{rr[1]:.2f}){suffix}", rr[0] >= MIN_RATIO_AT_32))  # fmt: skip
            out.append((f"{r['op']} c={c} p99 {r['p99_ms']:.2f} ms < {MAX_P99_MS:g} ms{suffix}",
                        r["p99_ms"] < MAX_P99_MS))  # fmt: skip
            if c == 1:
                out.append((f"{r['op']} c=1 p50 {r['p50_ms']:.3f} ms < {MAX_P50_MS_AT_1:g} ms"
                            f"{suffix}", r["p50_ms"] < MAX_P50_MS_AT_1))  # fmt: skip
            if r["errors"]:
                out.append((f"{r['op']} c={c} errors {r['errors']} == 0{suffix}", False))
    for mode in POLICY_MODES:
        if not report.get(results_key(mode, True)):
            continue
        tag = "" if mode == "admin" else f" [{mode} policy]"
        before = {(r["op"], r["concurrency"]): r for r in report.get(results_key(mode), [])}
        for r in report[results_key(mode, True)]:
            base = before.get((r["op"], r["concurrency"]))
            if base is None or r["op"] not in TARGET_OPS:
                continue
            change = r["rps"] / base["rps"] - 1.0
            cpu = r["server_cpu_us_per_req"] / base["server_cpu_us_per_req"] - 1.0
            out.append((f"{r['op']} c={r['concurrency']} with {report['keys']['created']} keys: "
                        f"{base['rps']:.0f} -> {r['rps']:.0f} req/s ({change:+.1%}; server "
                        f"CPU/request {cpu:+.1%}) >= -{MAX_SLOWDOWN_WITH_KEYS:.0%}{tag}",
                        change >= -MAX_SLOWDOWN_WITH_KEYS))  # fmt: skip
    for suffix, admin, real in policy_pairs(report):
        if real["op"] not in POLICY_TARGET_OPS:
            continue
        share = real["rps"] / admin["rps"]
        out.append((f"{real['op']} c={real['concurrency']} realistic policy {real['rps']:.0f} "
                    f"req/s >= {MIN_POLICY_RATIO:.0%} of admin-only {admin['rps']:.0f}: "
                    f"{share:.2f} (paired {paired_share(real):.2f}, CPU ratio "
                    f"{cpu_share(admin, real):.2f}){suffix}",
                    share >= MIN_POLICY_RATIO))  # fmt: skip
    for m in report.get("memory", []):
        if m["role"] == "worker" and m["hwm_kib"] is not None:
            mib = m["hwm_kib"] / 1024
            out.append((f"worker {m['pid']} peak RSS {mib:.1f} MiB < {MAX_RSS_MIB:g} MiB",
                        mib < MAX_RSS_MIB))  # fmt: skip
    return out


def cpu_share(admin: dict[str, Any], real: dict[str, Any]) -> float:
    """Realistic over admin-only throughput as predicted from CPU per request (server +
    generator), the figure that moves least when other work shares the machine."""
    cpu_admin = admin["server_cpu_us_per_req"] + admin["gen_cpu_us_per_req"]
    cpu_real = real["server_cpu_us_per_req"] + real["gen_cpu_us_per_req"]
    return float(cpu_admin / cpu_real)


def paired_share(real: dict[str, Any]) -> float:
    """The median of realistic over admin-only req/s, repeat by repeat (NaN if unpaired)."""
    ratios = sorted(real.get("paired_ratios", []))
    return float(ratios[len(ratios) // 2]) if ratios else math.nan


def policy_summary(report: dict[str, Any]) -> None:
    """Admin-only against realistic-policy figures, point by point."""
    pairs = policy_pairs(report)
    if not pairs:
        return
    print("\nrealistic key policy vs admin-only (same server, measured back to back):")
    print(f"  {'op':<17} {'conc':>4}  {'admin req/s':>11} {'p50':>6} {'p99':>6} "
          f"{'srv µs':>6}  {'real req/s':>10} {'p50':>6} {'p99':>6} {'srv µs':>6}  "
          f"{'ratio':>5} {'pair':>5} {'cpu-r':>5}")  # fmt: skip
    for suffix, a, r in pairs:
        print(f"  {r['op']:<17} {r['concurrency']:>4}  {a['rps']:>11.0f} {a['p50_ms']:>6.3f} "
              f"{a['p99_ms']:>6.2f} {a['server_cpu_us_per_req']:>6.0f}  {r['rps']:>10.0f} "
              f"{r['p50_ms']:>6.3f} {r['p99_ms']:>6.2f} {r['server_cpu_us_per_req']:>6.0f}  "
              f"{r['rps'] / a['rps']:>5.2f} {paired_share(r):>5.2f} "
              f"{cpu_share(a, r):>5.2f}{suffix}")  # fmt: skip
    print("  ratio = realistic req/s / admin-only req/s (medians of the repeats); pair = the "
          "median of that ratio\n  repeat by repeat (the two modes alternate: AB, BA, ...); "
          "cpu-r = the ratio predicted from CPU per\n  request (server + generator), "
          "the figure least moved by other load; p50/p99 in ms")  # fmt: skip


def summary(report: dict[str, Any]) -> None:
    print("\n=== summary", report["backend"], f"workers={report['args']['workers']}",
          f"policy={report['policy']}", "===")  # fmt: skip
    print(HEAD + f" {'cpu-r':>5}")
    for r in report.get("bare", []):
        print(row(r))
    for key in ("bare_with_keys",):
        for r in report.get(key, []):
            print(row(r))
    for _, results, bare in passes(report):
        for r in results:
            rr = ratios(r, bare.get(r["concurrency"]))
            print(row(r, rr[0] if rr else None) + (f" {rr[1]:>5.2f}" if rr else ""))
    print(
        "  ratio = req/s / bare-app req/s at the same concurrency; cpu-r = the same ratio "
        "predicted from CPU per request;\n  srv/gen µs = CPU per request of the server / "
        "the load generator; other = cores used by anything else meanwhile;\n  steal = "
        "cores the hypervisor took (req/s and latency are unreliable unless both are ~0;\n"
        f"  '!' marks a run where together they exceeded {DISTURBED} cores)"
    )
    policy_summary(report)
    if report.get("memory"):
        print("\nserver memory (VmRSS now / VmHWM peak):")
        for m in report["memory"]:
            rss = (m["rss_kib"] or 0) / 1024
            hwm = (m["hwm_kib"] or 0) / 1024
            print(f"  {m['role']:<17} pid {m['pid']:>7}  {rss:7.1f} MiB / {hwm:7.1f} MiB")
    if report.get("keys"):
        k = report["keys"]
        print(f"\nkeys: requested {k['requested']}, created {k['created']}, "
              f"listed {k.get('listed')}, {k['seconds']:.0f}s")  # fmt: skip
    verdicts = checks(report)
    if verdicts:
        print("\ntargets:")
        for text, ok in verdicts:
            print(f"  {'PASS' if ok else 'FAIL'}  {text}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    def ints(text: str) -> list[int]:
        return [int(x) for x in text.split(",") if x.strip()]

    def names(text: str) -> list[str]:
        return [x.strip() for x in text.split(",") if x.strip()]

    p = argparse.ArgumentParser(
        description="Benchmark Cofre against the bare-app floor.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--concurrency", type=ints, default=[1, 8, 32])
    p.add_argument("--duration", type=float, default=10.0, help="measured seconds per run")
    p.add_argument("--warmup", type=float, default=2.0, help="unrecorded seconds per run")
    p.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="runs per (op, concurrency); the one with the median req/s is kept",
    )
    p.add_argument(
        "--max-other",
        type=float,
        default=0.15,
        help="cores used meanwhile by other processes or steal above which a run "
        "counts as disturbed",
    )
    p.add_argument(
        "--retries",
        type=int,
        default=0,
        help="re-runs of a disturbed run (the least disturbed try is kept)",
    )
    p.add_argument("--retry-pause", type=float, default=3.0)
    p.add_argument("--ops", type=names, default=list(COFRE_OPS))
    p.add_argument(
        "--policy",
        choices=(*POLICY_MODES, "both"),
        default="admin",
        help="admin: the bench admin on a key with the default policy; realistic: IAM user "
        f"{APP_USER} on a key with a 5-statement policy conditioned on the encryption context "
        f"{json.dumps(BENCH_CONTEXT)}; both: admin then realistic at each point, same server",
    )
    p.add_argument(
        "--keys",
        type=int,
        default=0,
        help="after the first pass, create this many keys and run again",
    )
    p.add_argument(
        "--processes",
        type=int,
        default=None,
        help="load generator processes (default: loadgen's default)",
    )
    p.add_argument(
        "--max-requests", type=int, default=3_000_000, help="hard cap on requests per load run"
    )
    p.add_argument(
        "--pg-url",
        default="postgresql://postgres@127.0.0.1:5432/postgres",
        help="PostgreSQL admin URL; a fresh database is created beside it",
    )
    p.add_argument(
        "--cofre",
        default=str(Path(sys.executable).parent / "cofre"),
        help="the cofre console script",
    )
    p.add_argument(
        "--server-arg",
        action="append",
        default=[],
        help="extra argument for `cofre serve` (repeatable)",
    )
    p.add_argument("--startup-timeout", type=float, default=60.0)
    p.add_argument("--fill-concurrency", type=int, default=16)
    p.add_argument("--fill-timeout", type=float, default=1800.0)
    p.add_argument("--skip-bare", action="store_true")
    p.add_argument("--bare-only", action="store_true")
    p.add_argument(
        "--interleave",
        action="store_true",
        help="keep the bare app up (idle) beside Cofre and measure it right before "
        "Cofre at each concurrency, so both see the same machine load",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="JSON report (default bench/results/<time>-<backend>.json)",
    )
    args = p.parse_args(argv)
    unknown = set(args.ops) - set(COFRE_OPS)
    if unknown:
        p.error(f"unknown ops {sorted(unknown)}; choose from {', '.join(COFRE_OPS)}")
    if args.repeat < 1 or args.workers < 1 or args.keys < 0:
        p.error("--repeat and --workers must be >= 1, --keys >= 0")
    if args.processes is None:
        sys.path.insert(0, str(BENCH_DIR))
        from loadgen import DEFAULT_PROCESSES

        args.processes = DEFAULT_PROCESSES
    return args


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _on_sigterm)
    # Ctrl-C must clean up even when started from a shell that ignores SIGINT (a background
    # job of a script): take SIGINT back from SIG_IGN.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    out_path = args.out or BENCH_DIR / "results" / f"{stamp}-{args.backend}.json"
    report: dict[str, Any] = {
        "time": stamp,
        "backend": args.backend,
        "machine": machine_facts(),
        "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "policy": args.policy,
        "bare": [],
        "cofre": [],
    }
    modes = POLICY_MODES if args.policy == "both" else (args.policy,)
    m = report["machine"]
    print(f"machine: nproc={m['nproc']} cpu={m['cpu_model']!r} python={m['python']} "
          f"uvicorn={m.get('uvicorn')} loadgen processes={args.processes} "
          f"policy={args.policy}")  # fmt: skip
    registry: list[Managed] = []
    tmp = Path(tempfile.mkdtemp(prefix="cofre-bench-"))
    try:
        print(HEAD, flush=True)
        with contextlib.ExitStack() as stack:
            bare: Managed | None = None
            bare_port = 0
            if not args.skip_bare:
                bare_port = free_port()
                argv = [sys.executable, str(BARE_APP), "--port", str(bare_port),
                        "--workers", str(args.workers)]  # fmt: skip
                bare_stack = contextlib.ExitStack()
                stack.enter_context(bare_stack)
                bare = bare_stack.enter_context(
                    running("bare", argv, bare_port, tmp, None, args.startup_timeout, registry)
                )

            def bare_at(c: int) -> dict[str, Any]:
                assert bare is not None
                return measure(args, bare, bare_port, "bare", c, None, "bare")

            if bare is not None and not args.interleave:
                report["bare"] = [bare_at(c) for c in args.concurrency]
                bare_stack.close()  # stopped before Cofre starts
                bare = None
            if not args.bare_only:
                db_url = None
                if args.backend == "postgres":
                    db_url = stack.enter_context(postgres_database(args.pg_url))
                port = free_port()
                data_dir = tmp / "data"
                data_dir.mkdir()
                server = stack.enter_context(running(
                    "cofre", cofre_argv(args, port, data_dir, db_url), port, tmp, cofre_env(),
                    args.startup_timeout, registry,
                ))  # fmt: skip
                # mode -> (key id, caller, label suffix)
                modes_used: dict[str, tuple[str, Caller, str]] = {}
                if "admin" in modes:
                    created = kms_client(port).create_key(Description="cofre bench")
                    modes_used["admin"] = (created["KeyMetadata"]["KeyId"], ADMIN, "")
                if "realistic" in modes:
                    real_key, app = setup_realistic(port)
                    modes_used["realistic"] = (real_key, app, "+policy")
                report["keys_used"] = {
                    mode: {"key_id": k, "access_key": c.access_key, "context": c.context}
                    for mode, (k, c, _) in modes_used.items()
                }
                label = f"cofre-{args.backend}"

                def one_pass(bare_key: str, with_keys: bool, label: str) -> None:
                    for c in args.concurrency:
                        if bare is not None:  # --interleave: the floor right before Cofre
                            report.setdefault(bare_key, []).append(bare_at(c))
                        targets = [Target(label + tag, key, caller)
                                   for key, caller, tag in modes_used.values()]  # fmt: skip
                        for op in args.ops:
                            results = measure_set(args, server, port, op, c, targets)
                            for mode, result in zip(modes_used, results, strict=True):
                                result["policy"] = mode
                                report.setdefault(results_key(mode, with_keys), []).append(result)

                one_pass("bare", False, label)
                if args.keys:
                    report["keys"] = fill_keys(args, port, args.keys)
                    report["keys"]["listed"] = count_keys(port)
                    one_pass("bare_with_keys", True, f"{label}+keys")
                report["memory"] = worker_memory(server)
        summary(report)
        lists = ["bare", "bare_with_keys"]
        lists += [results_key(mode, keys) for mode in POLICY_MODES for keys in (False, True)]
        return 1 if any(r["errors"] for k in lists for r in report.get(k, [])) else 0
    except KeyboardInterrupt:
        print("\ninterrupted; stopping what was started", file=sys.stderr)
        return 130
    finally:
        for server in list(reversed(registry)):
            server.stop()
        out_path.parent.mkdir(parents=True, exist_ok=True)
        report["logs"] = {p.name: (_read(str(p)) or "")[-4000:] for p in tmp.glob("*.log")}
        out_path.write_text(json.dumps(report, indent=2, default=str))
        print(f"\nreport: {out_path}")
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
