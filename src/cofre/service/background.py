"""How background work reports a failed round: a database failure in one line (the
storage layer logged its cause already, and the round is retried), anything else with its
traceback (a fault of ours)."""

from __future__ import annotations

import logging

from cofre.errors import StorageError


def report_failure(log: logging.Logger, what: str, exc: BaseException) -> None:
    if isinstance(exc, StorageError):
        log.warning("%s: %s", what, exc.message)
    else:
        log.error("%s", what, exc_info=exc)
