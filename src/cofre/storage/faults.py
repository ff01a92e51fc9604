"""What the databases' own errors mean to a caller: a passing failure, worth a retry
(:class:`~cofre.errors.StorageUnavailableError`), or one that lasts until an operator acts
(:class:`~cofre.errors.StorageFaultError`). Both backends translate here, at their
boundary, and log the real cause; the messages say what kind of failure it was and
whether to retry, and never carry a statement's values."""

from __future__ import annotations

import logging
import sqlite3

from cofre.errors import StorageError, StorageFaultError, StorageUnavailableError

log = logging.getLogger("cofre.storage")

_RETRY = "; the request can be retried"
_OPERATOR = "; retrying will not help until an operator acts"

# SQLite's primary result codes (https://www.sqlite.org/rescode.html)
_SQLITE: dict[int, tuple[type[StorageError], str]] = {
    5: (StorageUnavailableError, "the database is busy (another writer holds it)" + _RETRY),
    6: (StorageUnavailableError, "a table of the database is locked" + _RETRY),
    8: (StorageFaultError, "the database file is read-only" + _OPERATOR),
    10: (StorageFaultError, "the disk failed a read or a write (I/O error)" + _OPERATOR),
    11: (StorageFaultError, "the database file is damaged" + _OPERATOR),
    13: (StorageFaultError, "the disk is full" + _OPERATOR),
    14: (StorageFaultError, "the database file cannot be opened" + _OPERATOR),
    26: (StorageFaultError, "the database file is not a database" + _OPERATOR),
}
# PostgreSQL's, by the SQLSTATE class or code (psycopg is imported by its backend only)
_PASSING_PG = ("40001", "40P01", "55P03", "57014", "57P01", "57P02", "57P03", "53300")
_LASTING_PG = {
    "53100": "the database server's disk is full",
    "25006": "the database is read-only (a standby, or read-only mode)",
    "42501": "the database refuses Cofre's user the statement",
    "53200": "the database server is out of memory",
}


def from_sqlite(exc: BaseException, doing: str) -> StorageError:
    """The error to raise for a failure of SQLite (or of the writer's lock file)."""
    if isinstance(exc, sqlite3.Error):
        code = getattr(exc, "sqlite_errorcode", None)
        kind, what = _SQLITE.get((code or 0) & 0xFF, (StorageFaultError, ""))
        if not what:
            what = "the database failed the statement" + _OPERATOR
    elif isinstance(exc, OSError):
        kind, what = (
            StorageFaultError,
            f"a file of the database failed ({exc.strerror})" + _OPERATOR,
        )
    else:
        kind, what = StorageFaultError, "the database failed the statement" + _OPERATOR
    return _error(kind, what, exc, doing)


def from_postgres(exc: BaseException, doing: str) -> StorageError:
    """The error to raise for a failure of PostgreSQL or of its connection pool."""
    import psycopg

    state = getattr(exc, "sqlstate", None) or ""
    if state in _PASSING_PG:
        return _error(StorageUnavailableError, "the database is restarting or busy" + _RETRY,
                      exc, doing)  # fmt: skip
    if state in _LASTING_PG:
        return _error(StorageFaultError, _LASTING_PG[state] + _OPERATOR, exc, doing)
    if isinstance(exc, psycopg.OperationalError) or not isinstance(exc, psycopg.Error):
        # connection refused, lost or timed out; the pool's own timeout
        return _error(StorageUnavailableError, "the database cannot be reached" + _RETRY,
                      exc, doing)  # fmt: skip
    return _error(StorageFaultError, "the database failed the statement" + _OPERATOR, exc, doing)


def _error(kind: type[StorageError], what: str, exc: BaseException, doing: str) -> StorageError:
    log.warning("database failure %s: %s: %s", doing, type(exc).__name__, _first_line(exc))
    return kind(f"The database failed this call: {what}.")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:300] if text else ""
