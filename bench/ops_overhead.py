"""What metrics and request quotas cost the Encrypt benchmark: a node with both on (and
scraped every ``--scrape-every`` seconds, 15 by default) against one with ``--metrics off
--quotas off`` (issue 21: within 5%).

::

    .venv/bin/python bench/ops_overhead.py --workers 2 --concurrency 8,32 --duration 8 --rounds 3

Both servers run at once (SQLite, or ``--backend postgres``), each on its own port and
data directory; the load generator measures them alternately, off then on, round after
round, and prints the medians and each "on" round over the "off" round just before it
(``bench/audit_overhead.py``'s report). With quotas on, the bench account's symmetric
rate is AWS's us-east-1 default (50,000 a second), above what this machine serves: every
request is counted against it and none is throttled. Every process it starts is stopped
by PID.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import audit_overhead
import run

NAMES = ("off", "on")
FLAGS = {
    "off": ["--metrics", "off", "--quotas", "off"],
    "on": ["--metrics", "on", "--quotas", "on"],
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    audit_overhead.paired_options(p, [8, 32])
    p.add_argument("--op", default="encrypt64")
    p.add_argument("--scrape-every", type=float, default=15.0, help="seconds; 0: no scrape")
    args = p.parse_args(argv)
    args.server_arg = []
    return args


def _scraper(port: int, every: float, stop: threading.Event) -> None:
    """Prometheus, scraping the "on" node (a real scrape is every 15 s or more)."""
    while not stop.wait(every):
        conn = http.client.HTTPConnection(run.HOST, port, timeout=10)
        try:
            conn.request("GET", "/metrics")
            conn.getresponse().read()
        except OSError:
            pass
        finally:
            conn.close()


@contextlib.contextmanager
def server(
    args: argparse.Namespace, name: str, env: dict[str, str], logdir: Path,
    registry: list[run.Managed],
) -> Iterator[tuple[run.Managed, int, str]]:  # fmt: skip
    port = run.free_port()
    data = logdir / name
    with contextlib.ExitStack() as stack:
        url = None
        if args.backend == "postgres":
            url = stack.enter_context(run.postgres_database(args.pg_url))
        argv = run.cofre_argv(args, port, data, url) + FLAGS[name]
        managed = run.start(name, argv, logdir, env)
        registry.append(managed)
        stack.callback(registry.remove, managed)
        stack.callback(managed.stop)
        run.wait_ready(managed, port, args.startup_timeout)
        key_id = run.kms_client(port).create_key(Description=name)["KeyMetadata"]["KeyId"]
        yield managed, port, key_id


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env = run.cofre_env()
    report: dict[str, Any] = {"machine": run.machine_facts(), "args": vars(args) | {}}
    registry: list[run.Managed] = []
    stop = threading.Event()
    with tempfile.TemporaryDirectory(prefix="cofre-ops-bench-") as tmp:
        logdir = Path(tmp)
        with (
            server(args, "off", env, logdir, registry) as off,
            server(args, "on", env, logdir, registry) as on,
        ):
            if args.scrape_every > 0:
                threading.Thread(
                    target=_scraper, args=(on[1], args.scrape_every, stop), daemon=True
                ).start()
            try:
                for concurrency in args.concurrency:
                    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in NAMES}
                    for _ in range(args.rounds):
                        for name, (managed, port, key_id) in zip(NAMES, (off, on), strict=True):
                            result = run.measure_once(
                                args, managed, port, args.op, concurrency, key_id, name
                            )
                            runs[name].append(result)
                            audit_overhead.show(concurrency, name, result)
                    report[str(concurrency)] = audit_overhead.summary(runs, *NAMES)
            finally:
                stop.set()
    audit_overhead.print_report(report, args.concurrency, *NAMES, floor=0.95)
    out = args.out or run.BENCH_DIR / "results" / "ops-overhead.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
