"""How long ``cofre backup``, ``cofre backup verify`` and ``cofre restore`` take on a store
of 100,000 keys and 100,000 parameters (the issue's target: the backup under a minute).

The store is made by ``fill_store.py``: initialised by the service layer, then the keys
(each with its own wrapped material) and parameters written straight through the storage
layer in large transactions.
The three commands are then run as an operator would run them, and timed; the machine's
load average is printed before and after.

    .venv/bin/python bench/backup_bench.py --backend sqlite
    .venv/bin/python bench/backup_bench.py --backend postgres --keys 100000 --params 100000
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fill_store

COFRE = str(Path(sys.executable).with_name("cofre"))


def timed(args: Sequence[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.monotonic()
    done = subprocess.run([COFRE, *args], env=env, capture_output=True, text=True, check=False)
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"cofre {' '.join(args)} failed: {done.stdout}{done.stderr}")
    return elapsed, done.stdout


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--params", type=int, default=100_000)
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="cofre-backup-bench-"))
    root_key = fill_store.new_root_key()
    env = fill_store.server_env(root_key)
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} CPUs,"
          f" load average {os.getloadavg()}")  # fmt: skip
    try:
        with (
            fill_store.database(args.backend) as url,
            fill_store.database(args.backend) as target_url,
        ):
            data = tmp / "data"
            keyring_key = fill_store.initialise(data, url, root_key)
            filled = fill_store.fill(data, url, keyring_key, args.keys, args.params)
            print(f"filled {args.keys} keys and {args.params} parameters in {filled.seconds:.1f}s")
            db = ["--database", url] if url else []
            backup = tmp / "store.cbk"
            spent, out = timed(["backup", "--data-dir", str(data), *db, "--output", str(backup)],
                               env)  # fmt: skip
            print(f"backup:  {spent:6.1f}s  {backup.stat().st_size / 2**20:.1f} MiB")
            print("   " + out.splitlines()[0])
            spent, _ = timed(["backup", "verify", str(backup)], env)
            print(f"verify:  {spent:6.1f}s")
            target = ["--database", target_url] if target_url else []
            spent, _ = timed(["restore", "--input", str(backup), "--data-dir",
                              str(tmp / "restored"), *target], env)  # fmt: skip
            print(f"restore: {spent:6.1f}s  ({args.backend} to {args.backend})")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
