"""Shared token buckets: one limit for every process of a node (ADR 20)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from cofre.storage.buckets import SharedBuckets

FROZEN = 1000.0  # a clock that stands still: only the bucket's first second counts


def _spend(path: str, name: str, rate: float, tries: int, out: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    buckets = SharedBuckets(Path(path), clock=lambda: FROZEN)
    out.put(sum(buckets.take(name, rate) for _ in range(tries)))
    buckets.close()


def test_processes_share_one_bucket(tmp_path: Path) -> None:
    path = tmp_path / "buckets"
    context = multiprocessing.get_context("spawn")
    out: multiprocessing.Queue = context.Queue()  # type: ignore[type-arg]
    workers = [
        context.Process(target=_spend, args=(str(path), "a/us-east-1/q", 50.0, 100, out))
        for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    taken = sum(out.get(timeout=60) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)
    assert taken == 50  # a second's worth for the three of them, not each


def test_buckets_are_separate_and_a_rate_change_ends_a_lease(tmp_path: Path) -> None:
    now = [0.0]
    buckets = SharedBuckets(tmp_path / "buckets", clock=lambda: now[0])
    assert sum(buckets.take("a", 1000.0) for _ in range(1500)) == 1000
    assert buckets.take("b", 1000.0)  # another name, another bucket
    assert buckets.take("a", 1000.0) is False
    now[0] += 1.0
    assert sum(buckets.take("a", 2.0) for _ in range(10)) == 2  # no lease of the old rate
    buckets.close()
