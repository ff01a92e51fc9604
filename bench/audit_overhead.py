"""What auditing costs the Encrypt benchmark: Cofre as built against a build without audit.

::

    git worktree add --detach /tmp/cofre-noaudit 0ec2ccb   # the last commit before audit
    .venv/bin/python bench/audit_overhead.py --baseline-src /tmp/cofre-noaudit/src \\
        --workers 2 --concurrency 8,32 --duration 8 --rounds 3

Both servers run at once (SQLite, or ``--backend postgres``), each on its own port and
data directory; the load generator (``bench/loadgen.py``, the core benchmark's) measures
them alternately -- baseline, audited, baseline, audited... -- so that whatever else the
machine does falls on both alike. For each concurrency it prints the median req/s, p50,
p99 and server CPU per request of each, and audited ÷ baseline (the issue asks for at
least 0.8). The baseline is the same ``cofre`` run with ``PYTHONPATH`` pointing at the
other source tree; with ``--baseline-cofre`` any other executable.

Every process it starts is stopped by PID (``bench/run.py``'s ``Managed``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run


def ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def paired_options(p: argparse.ArgumentParser, concurrency: list[int] | None = None) -> None:
    """The options of a bench that measures servers it starts, in rounds (this one,
    ``seal_overhead.py``, ``scale.py``)."""
    p.add_argument("--cofre", default=str(Path(sys.executable).parent / "cofre"))
    p.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--workers", type=int, default=2)
    if concurrency is not None:
        p.add_argument("--concurrency", type=ints, default=concurrency)
    p.add_argument("--duration", type=float, default=8.0)
    p.add_argument("--warmup", type=float, default=2.0)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--processes", type=int, default=1)
    p.add_argument("--max-requests", type=int, default=3_000_000)
    p.add_argument("--startup-timeout", type=float, default=60.0)
    p.add_argument("--out", type=Path, default=None, help="JSON report")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--baseline-src", type=Path, help="src/ of a Cofre tree without audit")
    p.add_argument("--baseline-cofre", help="or: a cofre executable without audit")
    paired_options(p, [8, 32])
    p.add_argument("--op", default="encrypt64")
    args = p.parse_args(argv)
    if (args.baseline_src is None) == (args.baseline_cofre is None):
        p.error("give exactly one of --baseline-src and --baseline-cofre")
    args.server_arg = []
    return args


@contextlib.contextmanager
def server(
    args: argparse.Namespace,
    name: str,
    cofre: str,
    env: dict[str, str],
    logdir: Path,
    registry: list[run.Managed],
) -> Iterator[tuple[run.Managed, int, str]]:
    """A running server of ``cofre`` and the id of a fresh key on it."""
    port = run.free_port()
    data = logdir / name
    with contextlib.ExitStack() as stack:
        url = None
        if args.backend == "postgres":
            url = stack.enter_context(run.postgres_database(args.pg_url))
        args.cofre = cofre
        argv = run.cofre_argv(args, port, data, url)
        managed = stack.enter_context(
            run.running(name, argv, port, logdir, env, args.startup_timeout, registry)
        )
        key_id = run.kms_client(port).create_key(Description=name)["KeyMetadata"]["KeyId"]
        yield managed, port, key_id


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    audited_cofre = args.cofre
    env = run.cofre_env()
    base_env = dict(env)
    base_cofre = args.baseline_cofre or audited_cofre
    if args.baseline_src is not None:
        base_env["PYTHONPATH"] = str(args.baseline_src.resolve())
    report: dict[str, Any] = {"machine": run.machine_facts(), "args": vars(args) | {}}
    registry: list[run.Managed] = []
    with tempfile.TemporaryDirectory(prefix="cofre-audit-bench-") as tmp:
        logdir = Path(tmp)
        with (
            server(args, "baseline", base_cofre, base_env, logdir, registry) as base,
            server(args, "audited", audited_cofre, env, logdir, registry) as audited,
        ):
            for concurrency in args.concurrency:
                runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "audited": []}
                for _ in range(args.rounds):
                    for name, (managed, port, key_id) in (("baseline", base), ("audited", audited)):
                        result = run.measure_once(
                            args, managed, port, args.op, concurrency, key_id, name
                        )
                        runs[name].append(result)
                        show(concurrency, name, result)
                report[str(concurrency)] = summary(runs)
    print_report(report, args.concurrency)
    out = args.out or run.BENCH_DIR / "results" / "audit-overhead.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str))
    return 0


def show(concurrency: int, name: str, result: dict[str, Any]) -> None:
    print(
        f"  c={concurrency} {name:8} {result['rps']:9.0f} req/s  p99 {result['p99_ms']:6.2f} ms"
        f"  server {result['server_cpu_us_per_req']:6.1f} µs/req"
        f"  other {run.disturbance(result):.2f} cores",
        flush=True,
    )


def summary(
    runs: dict[str, list[dict[str, Any]]], base: str = "baseline", other: str = "audited"
) -> dict[str, Any]:
    """Each server's medians, ``other`` over ``base`` and the paired ratios."""
    out: dict[str, Any] = {}
    for name, results in runs.items():
        out[name] = {
            "rps": statistics.median(r["rps"] for r in results),
            "p50_ms": statistics.median(r["p50_ms"] for r in results),
            "p99_ms": statistics.median(r["p99_ms"] for r in results),
            "server_cpu_us_per_req": statistics.median(r["server_cpu_us_per_req"] for r in results),
            "all_rps": [round(r["rps"]) for r in results],
        }
    out["ratio"] = out[other]["rps"] / out[base]["rps"]
    out["paired"] = _paired(runs[base], runs[other])
    return out


def _paired(base: list[dict[str, Any]], other: list[dict[str, Any]]) -> dict[str, Any]:
    """Each ``other`` round over the ``base`` round just before it: what drifts over the
    minutes of a run (this VM's speed moves by half within an hour) falls on both alike,
    where the ratio of the medians takes rounds minutes apart. The quartiles tell how far
    a single round can be trusted."""
    pairs = [after["rps"] / before["rps"] for before, after in zip(base, other, strict=True)]
    low, high = (statistics.quantiles(pairs, n=4)[::2]) if len(pairs) > 1 else (pairs[0],) * 2
    return {
        "median": statistics.median(pairs),
        "q1": low,
        "q3": high,
        "at_least": {str(floor): sum(pair >= floor for pair in pairs) for floor in (0.8, 0.95)},
        "all": [round(pair, 3) for pair in pairs],
    }


def print_report(
    report: dict[str, Any], levels: list[int], base: str = "baseline", other: str = "audited",
    floor: float = 0.8,
) -> None:  # fmt: skip
    print(f"\nconcurrency  {base + ' req/s':>14}  {other + ' req/s':>14}  ratio"
          f"  paired (q1-q3, >={floor})  p99 ms  server µs/req ({base} / {other})")  # fmt: skip
    for c in levels:
        r = report[str(c)]
        b, a, paired = r[base], r[other], r["paired"]
        cpu_b, cpu_a = b["server_cpu_us_per_req"], a["server_cpu_us_per_req"]
        spread = f"{paired['median']:.2f} ({paired['q1']:.2f}-{paired['q3']:.2f}, "
        spread += f"{paired['at_least'][str(floor)]}/{len(paired['all'])})"
        print(
            f"{c:11}  {b['rps']:14.0f}  {a['rps']:14.0f}  {r['ratio']:5.2f}  {spread:23}"
            f"  {b['p99_ms']:6.2f} / {a['p99_ms']:<6.2f}  {cpu_b:6.1f} / {cpu_a:.1f}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
