"""Batching what one turn of the event loop records: the journal entries of a burst of
calls answered on the loop go to the journal in one write at the end of the turn, rather
than one write each (ADR 11, "The journal"; about 6% of Encrypt throughput at
concurrency 32, measured when this was restructured).

Batching costs a turn of the loop (and the callback that ends it), which only pays when
calls come several per turn: while the last turn counted brought a single call, the first
of a turn is written at once by the caller (loop thread only).

Counting a turn costs a callback at its end, and with it one more poll of the loop
(~2 µs; more between calls, the caches cold): under light load only one turn in
``SAMPLE`` or so is counted, from whichever call it begins with, so a burst is noticed
within a few samples, and until then its calls are written one by one, as under light
load.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Turns(Generic[T]):
    SAMPLE = 8

    def __init__(self, loop: asyncio.AbstractEventLoop, flush: Callable[[list[T]], None]) -> None:
        self._loop = loop
        self._flush = flush
        self._items: list[T] = []
        self._seen = 0  # calls this turn, if it is being counted (else 0)
        self._last = 0  # calls the last turn counted
        self._uncounted = 0  # calls handed over uncounted before a turn is counted again
        self._samples = 0  # turns counted under light load

    def batching(self) -> bool:
        """Note a call of this turn: whether to :meth:`add` it (True) or write it at
        once (False: the load is light)."""
        if self._seen:  # this turn is being counted
            self._seen += 1
            return True
        if self._last <= 1:
            if self._uncounted > 0:
                self._uncounted -= 1
                return False
            # a count may begin on the last call of a turn, and see one: the next
            # begins 7 calls on, then 8 -- elsewhere in turns of any size
            self._samples += 1
            self._uncounted = self.SAMPLE - 1 - (self._samples & 1)
        self._seen = 1
        self._loop.call_soon(self._end_turn)
        return self._last > 1

    def add(self, item: T) -> None:
        """Queue ``item`` for the end of this turn."""
        self._items.append(item)

    def _end_turn(self) -> None:
        items, self._items = self._items, []
        self._last, self._seen = self._seen, 0
        if items:
            self._flush(items)
