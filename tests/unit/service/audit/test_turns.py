"""Turns: what a turn of the event loop brings is batched once turns bring several
requests; under light load requests are handed over at once, and only one turn in
``Turns.SAMPLE`` is counted (its end costs a callback and a poll of the loop)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import cast

import pytest

from cofre.service.audit.turns import Turns


class _Turns:
    """Stands in for the event loop's ``call_soon``: ends a turn when told to."""

    def __init__(self) -> None:
        self.scheduled: list[Callable[[], object]] = []

    def call_soon(self, callback: Callable[[], object]) -> None:
        self.scheduled.append(callback)

    def end_turn(self) -> int:
        """Run the end-of-turn callbacks; how many there were."""
        callbacks, self.scheduled = self.scheduled, []
        for callback in callbacks:
            callback()
        return len(callbacks)


def _bursts() -> tuple[Turns[int], _Turns, list[list[int]]]:
    turns, flushed = _Turns(), []
    bursts: Turns[int] = Turns(cast(asyncio.AbstractEventLoop, turns), flushed.append)
    return bursts, turns, flushed


def _turn(bursts: Turns[int], turns: _Turns, requests: list[int]) -> tuple[list[bool], int]:
    """One turn bringing ``requests``: whether each was batched, and how many end-of-turn
    callbacks the turn cost."""
    batched = []
    for request in requests:
        batching = bursts.batching()
        if batching:
            bursts.add(request)
        batched.append(batching)
    return batched, turns.end_turn()


def test_under_light_load_one_turn_in_a_sample_is_counted() -> None:
    bursts, turns, flushed = _bursts()
    counted = 0
    for n in range(10 * Turns.SAMPLE):
        batched, callbacks = _turn(bursts, turns, [n])
        assert batched == [False]  # handed over at once
        counted += callbacks
    assert 10 <= counted <= 12  # one request in 7 or 8
    assert flushed == []


@pytest.mark.parametrize("size", range(2, 10))
def test_a_burst_is_noticed_within_a_few_samples_and_batched_from_then_on(size: int) -> None:
    bursts, turns, flushed = _bursts()
    for n in range(3):
        _turn(bursts, turns, [n])
    seen: list[list[bool]] = []
    for turn in range(3 * Turns.SAMPLE):
        seen.append(_turn(bursts, turns, [100 * turn + k for k in range(size)])[0])
    first = next(n for n, batched in enumerate(seen) if any(batched))
    assert first * size <= 2 * Turns.SAMPLE + size  # within two samples of requests
    assert seen[first][-1] and not seen[first][0]  # noticed in that turn: batched after
    assert all(batched == [True] * size for batched in seen[first + 1 :])
    later = [[100 * t + k for k in range(size)] for t in range(first + 1, len(seen))]
    assert flushed[1:] == later  # each turn's requests whole, in order, at its end


def _heavy(bursts: Turns[int], turns: _Turns) -> None:
    """Turns of two requests until they are batched."""
    for _ in range(Turns.SAMPLE + 1):
        if _turn(bursts, turns, [-1, -2])[0] == [True, True]:
            return
    raise AssertionError("turns of several requests were never batched")


def test_a_single_request_turn_brings_light_load_back() -> None:
    bursts, turns, flushed = _bursts()
    _heavy(bursts, turns)
    assert _turn(bursts, turns, [3, 4]) == ([True, True], 1)
    assert _turn(bursts, turns, [5]) == ([True], 1)  # one request: light again
    callbacks = [_turn(bursts, turns, [n])[1] for n in range(6, 6 + 2 * Turns.SAMPLE)]
    assert 1 <= sum(callbacks) <= 3  # one turn in 7 or 8 counted again
    assert flushed[-2:] == [[3, 4], [5]]


def test_on_a_real_loop_the_items_of_a_turn_are_flushed_at_its_end() -> None:
    async def main() -> list[list[str]]:
        flushed: list[list[str]] = []
        bursts: Turns[str] = Turns(asyncio.get_running_loop(), flushed.append)
        for _ in range(Turns.SAMPLE + 1):  # turns of two until they are batched
            batched = [bursts.batching(), bursts.batching()]
            await asyncio.sleep(0)
            if batched == [True, True]:
                break
        flushed.clear()
        for name in ("a", "b", "c"):
            assert bursts.batching()
            bursts.add(name)
        assert flushed == []  # not before the turn ends
        await asyncio.sleep(0)
        return flushed

    assert asyncio.run(main()) == [["a", "b", "c"]]
