"""Group commit: many threads submit items, one writer thread writes them in batches.

Each ``submit`` returns a future; ``submit_then`` instead calls back (from the writer
thread) with the result or the error, which costs no future per item -- the event loop
completes whole batches at once that way. The writer takes what is queued (up to
``max_batch``) and hands the whole batch to ``write`` -- one database transaction -- then
completes every item of the batch with its result, or every one with the same error when
the write fails: nothing is acknowledged that was not committed.

While a batch is being written, new items queue up and form the next batch, so batches
grow with the load by themselves and a lone caller never waits for company. Callers that
know when a burst ends submit it whole (``submit_many``: the pipeline hands over what one
turn of the event loop produced). ``max_wait`` (default 0) makes the writer linger for
more when the previous batch held more than one item; measured, lingering only added
latency, since callers waiting for their records send nothing new meanwhile.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

from cofre.errors import AuditUnavailableError

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")
Done = Callable[[R | None, BaseException | None], None]  # (result, None) or (None, error)


class GroupCommit(Generic[T, R]):
    def __init__(
        self,
        write: Callable[[list[T]], Sequence[R]],
        *,
        max_batch: int = 256,
        max_wait: float = 0.0,
        name: str = "cofre-group-commit",
    ) -> None:
        self._write = write
        self._max_batch = max_batch
        self._max_wait = max_wait
        self._name = name
        self._queue: deque[tuple[T, Done[R]]] = deque()
        self._cond = threading.Condition()
        self._closing = False
        self._thread: threading.Thread | None = None
        self._last_batch = 0
        self.batches = 0  # transactions attempted (statistics, for tests and metrics)
        self.items = 0

    def submit(self, item: T) -> Future[R]:
        future: Future[R] = Future()
        future.set_running_or_notify_cancel()  # a record cannot be called off once asked for

        def done(result: R | None, error: BaseException | None) -> None:
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(result)  # type: ignore[arg-type]

        self.submit_then(item, done)
        return future

    def submit_then(self, item: T, done: Done[R]) -> None:
        """Queue ``item``; ``done`` is called once, from the writer thread (or at once, with
        an error, when the writer is shut down)."""
        self.submit_many([(item, done)])

    def submit_many(self, items: Sequence[tuple[T, Done[R]]]) -> None:
        """Queue several items at once (one wake-up of the writer)."""
        with self._cond:
            if not self._closing:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                    self._thread.start()
                self._queue.extend(items)
                self._cond.notify()
                return
        for _, done in items:
            done(None, AuditUnavailableError("The audit trail is shut down."))

    def close(self, timeout: float = 30.0) -> None:
        """Write what is queued, then stop the writer."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _take(self) -> list[tuple[T, Done[R]]] | None:
        with self._cond:
            while not self._queue and not self._closing:
                self._cond.wait()
            if not self._queue:
                return None
            if self._max_wait > 0 and self._last_batch > 1:
                deadline = time.monotonic() + self._max_wait
                while len(self._queue) < self._max_batch and not self._closing:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
            count = min(len(self._queue), self._max_batch)
            return [self._queue.popleft() for _ in range(count)]

    def _run(self) -> None:
        while True:
            batch = self._take()
            if batch is None:
                return
            self._last_batch = len(batch)
            self.batches += 1
            self.items += len(batch)
            try:
                results = self._write([item for item, _ in batch])
                if len(results) != len(batch):
                    raise RuntimeError("the writer returned a result per item")
            except Exception as exc:
                log.warning("audit batch of %d failed: %s", len(batch), type(exc).__name__)
                error = exc if isinstance(exc, AuditUnavailableError) else None
                for _, done in batch:
                    failure = error or AuditUnavailableError()
                    failure.__cause__ = exc
                    self._call(done, None, failure)
                continue
            for (_, done), result in zip(batch, results, strict=True):
                self._call(done, result, None)

    @staticmethod
    def _call(done: Done[R], result: R | None, error: BaseException | None) -> None:
        try:
            done(result, error)
        except Exception:  # a callback's fault must not stop the writer
            log.exception("an audit completion callback failed")
