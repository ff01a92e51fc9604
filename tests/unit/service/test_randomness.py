"""The pooled CSPRNG hands out each byte once."""

from __future__ import annotations

from cofre.service.randomness import RandomPool


def test_random_pool_hands_out_each_byte_once() -> None:
    pool = RandomPool(block=1024)
    chunks = [pool(12) for _ in range(500)]
    assert all(len(c) == 12 for c in chunks)
    assert len(set(chunks)) == len(chunks)
    assert len(pool(4096)) == 4096  # larger than a quarter block: straight from the OS
