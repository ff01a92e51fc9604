"""What auditing costs an Encrypt, in instructions: the same on every run, where req/s on a
shared VM moves by more than the differences sought.

::

    git worktree add --detach /tmp/cofre-noaudit 0ec2ccb   # the last commit before audit
    .venv/bin/python bench/audit_instructions.py --src /tmp/cofre-noaudit/src --src src

For each source tree it runs, under ``valgrind --tool=callgrind``, a harness in this file
(``--harness``): it builds Cofre's services and request pipeline in-process on a fresh
SQLite data directory, creates a key, signs one Encrypt of 64 bytes and hands it to
``Pipeline.handle`` ``--requests`` times, ``--burst`` requests per turn of the event loop,
then closes the services (which appends the audit journal to the chain). Each tree is run
with no requests and with ``--requests``, both after the same warm-up, and the difference
divided by the requests is the figure: instructions per Encrypt, audit included. With
``--serving-only`` the harness stops before the journal is appended: what the serving
process does before it answers. No network, no HTTP parsing, no load generator: what
remains is Cofre's own work per request. User-space instructions only (system calls are
not counted), and valgrind runs SHA-256 without the CPU's SHA instructions.

``--setting NAME=VALUE`` sets a field of the harness's ``Settings``; with
``--compare-setting`` each tree is counted again with more, e.g. what metrics and request
quotas cost (issue 21)::

    .venv/bin/python bench/audit_instructions.py --src src --serving-only \
        --setting metrics=off --setting quotas=off \
        --compare-setting metrics=on --compare-setting quotas=on
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))

from loadgen import Endpoint, RequestSpec, build_spec, sign  # noqa: E402
from run import ACCESS_KEY, ACCOUNT_ID, SECRET_KEY  # noqa: E402

_COLLECTED = re.compile(r"Collected : (\d+)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--src", action="append", type=Path, help="a src/ tree (repeatable)")
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--warmup", type=int, default=1000)
    p.add_argument("--burst", type=int, default=16, help="requests per turn of the loop")
    p.add_argument("--serving-only", action="store_true", help="stop before the append")
    p.add_argument(
        "--setting", action="append", default=[], metavar="NAME=VALUE",
        help="a Settings field for every run, e.g. quotas=off (repeatable)",
    )  # fmt: skip
    p.add_argument(
        "--compare-setting", action="append", default=[], metavar="NAME=VALUE",
        help="also count each tree with these settings, and print the difference",
    )  # fmt: skip
    p.add_argument("--harness", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if not args.harness and not args.src:
        p.error("give at least one --src")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.harness:
        return _harness(args)
    if shutil.which("valgrind") is None:
        print("valgrind is needed (Debian: apt-get install valgrind)", file=sys.stderr)
        return 2
    for src in args.src:
        base = _per_request(args, src.resolve(), args.setting)
        print(f"{src!s:40} {base:12,.0f} instructions per Encrypt", flush=True)
        if args.compare_setting:
            settings = [*args.setting, *args.compare_setting]
            other = _per_request(args, src.resolve(), settings)
            change = " ".join(args.compare_setting)
            print(f"{'  with ' + change:40} {other:12,.0f} instructions per Encrypt"
                  f" ({other / base:.3f}x)", flush=True)  # fmt: skip
    return 0


def _per_request(args: argparse.Namespace, src: Path, settings: list[str]) -> float:
    low, high = (_count(args, src, n, settings) for n in (0, args.requests))
    return (high - low) / args.requests


def _count(args: argparse.Namespace, src: Path, requests: int, settings: list[str]) -> int:
    """Instructions of one harness run (valgrind's total)."""
    with tempfile.TemporaryDirectory(prefix="cofre-instr-") as tmp:
        argv = [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/callgrind.out",
            sys.executable, __file__, "--harness", "--requests", str(requests),
            "--warmup", str(args.warmup), "--burst", str(args.burst),
        ]  # fmt: skip
        if args.serving_only:
            argv.append("--serving-only")
        for setting in settings:
            argv += ["--setting", setting]
        env = dict(os.environ, PYTHONPATH=str(src))
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        found = _COLLECTED.search(done.stderr)
        if done.returncode != 0 or found is None:
            raise RuntimeError(f"the harness failed on {src}:\n{done.stderr[-3000:]}")
        return int(found.group(1))


def _harness(args: argparse.Namespace) -> int:
    import uvloop

    uvloop.run(_serve(args))
    return 0


async def _serve(args: argparse.Namespace) -> None:
    from cofre.config import Settings

    try:  # the layout of packages per domain
        from cofre.api.pipeline.pipeline import Pipeline
        from cofre.container import Services
        from cofre.service.iam.accounts import bootstrap_admin
    except ImportError:  # trees from before it
        from cofre.service.accounts import bootstrap_admin  # type: ignore[no-redef]
        from cofre.service.container import Services  # type: ignore[no-redef]

        from cofre.api.pipeline import Pipeline  # type: ignore[no-redef]

    data_dir = Path(tempfile.mkdtemp(prefix="cofre-instr-data-"))
    settings = Settings(data_dir=data_dir, account_id=ACCOUNT_ID)
    if args.setting:
        settings = dataclasses.replace(settings, **dict(_setting(t) for t in args.setting))
    if any(field.name == "audit_ingester" for field in dataclasses.fields(Settings)):
        # no ingester thread: the journal is appended at close, after the count of
        # --serving-only has stopped (and in one go otherwise)
        settings = dataclasses.replace(settings, audit_ingester=False)
    services = await asyncio.get_running_loop().run_in_executor(None, Services.build, settings)
    bootstrap_admin(
        services.accounts, services.storage, data_dir, ACCOUNT_ID, ACCESS_KEY, SECRET_KEY
    )
    services.start_background()
    pipeline = Pipeline(settings, services)
    endpoint = Endpoint(4566, ACCESS_KEY, SECRET_KEY)
    created = await _answer(
        pipeline, _incoming(endpoint, RequestSpec("TrentService.CreateKey", b"{}"))
    )
    key_id = json.loads(created)["KeyMetadata"]["KeyId"]
    encrypt = _incoming(endpoint, build_spec("encrypt64", endpoint, key_id))
    await asyncio.sleep(1.0)  # the audit models load in the background
    await _bursts(pipeline, encrypt, args.warmup, args.burst)
    await _bursts(pipeline, encrypt, args.requests, args.burst)
    if args.serving_only:
        sys.stdout.flush()
        os._exit(0)  # skip the append at close (and the interpreter's teardown)
    pipeline.close()
    services.close()
    shutil.rmtree(data_dir, ignore_errors=True)
    sys.stdout.flush()
    os._exit(0)  # the same exit for every run: the interpreter's teardown is not counted


def _setting(text: str) -> tuple[str, object]:
    """NAME=VALUE: on/off/true/false as booleans, digits as numbers, else the text."""
    name, _, value = text.partition("=")
    if value.lower() in ("on", "true", "off", "false"):
        return name, value.lower() in ("on", "true")
    return name, float(value) if value.replace(".", "", 1).isdigit() else value


def _incoming(endpoint: Endpoint, spec: RequestSpec) -> object:
    try:
        from cofre.api.http.exchange import Incoming
    except ImportError:
        try:  # trees from before the layout of packages per domain
            from cofre.api.exchange import Incoming  # type: ignore[no-redef]
        except ImportError:  # trees from before the audit trail
            from cofre.api.pipeline import Incoming  # type: ignore[no-redef]

    _, headers = sign(endpoint, spec)
    raw = [(name.lower().encode(), value.encode()) for name, value in headers.items()]
    return Incoming("POST", b"/", b"", raw, spec.body, "127.0.0.1", False)


def _awaitable(out: object) -> asyncio.Future[object] | None:
    """The response to come that ``handle`` gave, as a future (None: it gave a response):
    an asyncio future, or a ``Later`` of the trees that have one."""
    if isinstance(out, asyncio.Future):
        return out
    if not hasattr(out, "add_done_callback"):
        return None
    future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
    out.add_done_callback(lambda done: future.set_result(done.result()))
    return future


async def _answer(pipeline: object, request: object) -> bytes:
    out = pipeline.handle(request)  # type: ignore[attr-defined]
    pending = _awaitable(out)
    if pending is not None:
        out = await pending
    if out.status != 200:
        raise RuntimeError(f"HTTP {out.status}: {out.body[:300]!r}")
    return bytes(out.body)


async def _bursts(pipeline: object, request: object, count: int, burst: int) -> None:
    """``count`` requests, ``burst`` per turn of the loop. A ``Later`` (trees that have
    one) is given in the end-of-turn callback, before this resumes: it is only checked, as
    the HTTP layer would (turning it into a future would count a future per request)."""
    pending: list[asyncio.Future[object]] = []
    laters: list[object] = []
    for _ in range(0, count, burst):
        for _ in range(burst):
            out = pipeline.handle(request)  # type: ignore[attr-defined]
            if isinstance(out, asyncio.Future):
                pending.append(out)
            elif hasattr(out, "add_done_callback"):
                laters.append(out)
            elif out.status != 200:  # type: ignore[attr-defined]
                raise RuntimeError(f"HTTP {out.status}: {out.body[:300]!r}")
        await asyncio.sleep(0)  # the end of the turn: a burst's journal write
        for later in laters:
            answer = later.result()  # type: ignore[attr-defined]  # InvalidStateError if not
            if answer.status != 200:
                raise RuntimeError(f"HTTP {answer.status}")
        for future in pending:
            answer = await future
            if answer.status != 200:  # type: ignore[attr-defined]
                raise RuntimeError(f"HTTP {answer.status}")  # type: ignore[attr-defined]
        pending.clear()
        laters.clear()


if __name__ == "__main__":
    raise SystemExit(main())
