"""Keeping the event loop from waiting on the database.

Cryptographic calls run on the event loop and read only in-memory caches. Whatever would
touch storage there instead -- a cache miss (on PostgreSQL, a network round trip), a
credential not seen before -- raises :class:`WouldBlock` inside :func:`nonblocking`, and
the caller runs the whole call again on a thread that may wait. :class:`GuardedStorage`,
which the composition root puts in front of every backend, is what raises it.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager

from cofre.service.ports import ReadTx, Storage, WriteTx

_state = threading.local()
_state.on = False


class WouldBlock(Exception):  # noqa: N818 - a signal, not a failure
    """Storage was asked for where nothing may wait: do the work on another thread."""


class _Nonblocking:
    """Within the block, on this thread, storage raises :class:`WouldBlock` (a class,
    not a generator: entered once per request on the event loop)."""

    __slots__ = ()

    def __enter__(self) -> None:
        _state.on = True

    def __exit__(self, *_exc: object) -> None:
        _state.on = False


NONBLOCKING = _Nonblocking()  # ``with NONBLOCKING:`` (blocks do not nest)


def nonblocking() -> _Nonblocking:
    """Within the block, on this thread, storage raises :class:`WouldBlock` (blocks do
    not nest)."""
    return NONBLOCKING


def _check() -> None:
    if getattr(_state, "on", False):  # (another thread's local starts without it)
        raise WouldBlock()


class GuardedStorage:
    """A storage backend that refuses to be used inside :func:`nonblocking`."""

    def __init__(self, inner: Storage) -> None:
        self.inner = inner

    def migrate(self) -> int:
        return self.inner.migrate()

    def schema_version(self) -> int:
        return self.inner.schema_version()

    def read(self) -> AbstractContextManager[ReadTx]:
        _check()
        return self.inner.read()

    def write(self, *, flush: bool = True) -> AbstractContextManager[WriteTx]:
        _check()
        return self.inner.write(flush=flush)

    def in_transaction(self) -> bool:
        return self.inner.in_transaction()

    def close(self) -> None:
        self.inner.close()


def require_waiting() -> None:
    """Refuse to go on where nothing may wait (a call to another server): inside
    :func:`nonblocking` this raises :class:`WouldBlock`, so the call moves to a thread."""
    _check()
