"""What the seal costs the Encrypt benchmark: a node on the shamir seal, unsealed, against
one on the file seal (issue 18: within 5%; nothing of the seal is on the request path).

::

    .venv/bin/python bench/seal_overhead.py --workers 2 --concurrency 8,32 --duration 8 --rounds 3

Both servers run at once (SQLite, or ``--backend postgres``), each on its own port and data
directory: ``file`` made by ``cofre serve`` itself, ``shamir`` by ``cofre operator init
--key-shares 1 --key-threshold 1`` and unsealed with ``cofre operator unseal`` once it
listens. The load generator measures them alternately, file then shamir, round after round,
and prints the medians and each shamir round over the file round just before it
(``bench/audit_overhead.py``'s report). Every process it starts is stopped by PID.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import audit_overhead
import run

NAMES = ("file", "shamir")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    audit_overhead.paired_options(p, [8, 32])
    p.add_argument("--op", default="encrypt64")
    args = p.parse_args(argv)
    args.server_arg = []
    return args


def _live(server: run.Managed, port: int, timeout: float) -> None:
    """Wait for ``/health/live`` (a sealed node answers it; ``/health`` says 503)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError(f"{server.name} exited:\n{server.log_tail()}")
        conn = http.client.HTTPConnection(run.HOST, port, timeout=2)
        try:
            conn.request("GET", "/health/live")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.2)
    raise TimeoutError(f"{server.name} not listening after {timeout}s:\n{server.log_tail()}")


@contextlib.contextmanager
def server(
    args: argparse.Namespace, seal: str, env: dict[str, str], logdir: Path,
    registry: list[run.Managed],
) -> Iterator[tuple[run.Managed, int, str]]:  # fmt: skip
    """A running, unsealed server on ``seal`` and the id of a fresh key on it."""
    port = run.free_port()
    data = logdir / seal
    with contextlib.ExitStack() as stack:
        url = None
        if args.backend == "postgres":
            url = stack.enter_context(run.postgres_database(args.pg_url))
        share = ""
        if seal == "shamir":
            init = [args.cofre, "operator", "init", "--data-dir", str(data),
                    "--key-shares", "1", "--key-threshold", "1"]  # fmt: skip
            if url:
                init += ["--database", url]
            done = subprocess.run(init, env=env, capture_output=True, text=True, check=True)
            share = json.loads(done.stdout)["unseal_keys"][0]
        managed = run.start(seal, run.cofre_argv(args, port, data, url), logdir, env)
        registry.append(managed)
        stack.callback(registry.remove, managed)
        stack.callback(managed.stop)
        if share:
            _live(managed, port, args.startup_timeout)
            subprocess.run([args.cofre, "operator", "unseal", "--endpoint-url",
                            f"http://{run.HOST}:{port}"], input=share + "\n", env=env,
                           capture_output=True, text=True, check=True)  # fmt: skip
        run.wait_ready(managed, port, args.startup_timeout)
        key_id = run.kms_client(port).create_key(Description=seal)["KeyMetadata"]["KeyId"]
        yield managed, port, key_id


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env = run.cofre_env()
    report: dict[str, Any] = {"machine": run.machine_facts(), "args": vars(args) | {}}
    registry: list[run.Managed] = []
    with tempfile.TemporaryDirectory(prefix="cofre-seal-bench-") as tmp:
        logdir = Path(tmp)
        with (
            server(args, "file", env, logdir, registry) as file_seal,
            server(args, "shamir", env, logdir, registry) as shamir_seal,
        ):
            for concurrency in args.concurrency:
                runs: dict[str, list[dict[str, Any]]] = {name: [] for name in NAMES}
                for _ in range(args.rounds):
                    for name, (managed, port, key_id) in zip(
                        NAMES, (file_seal, shamir_seal), strict=True
                    ):
                        result = run.measure_once(
                            args, managed, port, args.op, concurrency, key_id, name
                        )
                        runs[name].append(result)
                        audit_overhead.show(concurrency, name, result)
                report[str(concurrency)] = audit_overhead.summary(runs, *NAMES)
    audit_overhead.print_report(report, args.concurrency, *NAMES, floor=0.95)
    out = args.out or run.BENCH_DIR / "results" / "seal-overhead.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
