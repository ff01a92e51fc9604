"""The embedded backend: SQLite in WAL mode, one connection per thread, durable commits.

Several worker processes may open the same file; writers serialise on SQLite's lock
(``BEGIN IMMEDIATE``), readers never wait for them (WAL).
"""

from __future__ import annotations

import fcntl
import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from cofre.errors import InternalError
from cofre.service.ports import ReadTx, WriteTx
from cofre.storage.migrate import migrations
from cofre.storage.sql.transaction import SqlTx

log = logging.getLogger(__name__)


def _identity(statement: str) -> str:
    return statement


class SqliteStorage:
    def __init__(self, path: Path, now: Callable[[], datetime]) -> None:
        self._path = path
        self._now = now
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._lock_path = path.with_name(path.name + ".writer-lock")
        self._lock_fds: list[int] = []

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")  # an acknowledged write survives power loss
            conn.execute("PRAGMA busy_timeout=15000")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def migrate(self) -> int:
        """Apply pending migrations; return the schema version."""
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations"
                " (version INTEGER PRIMARY KEY, name TEXT NOT NULL)"
            )
            current = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
            version = int(current.fetchone()[0])
            for migration in migrations("sqlite"):
                if migration.version <= version:
                    continue
                for statement in migration.statements():
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                    (migration.version, migration.name),
                )
                version = migration.version
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return version

    @contextmanager
    def _transaction(self, begin: str) -> Iterator[SqlTx]:
        conn = self._connection()
        cursor = conn.cursor()
        if conn.in_transaction:
            # A transaction opened inside another on the same thread (the authorization
            # step reads policies while a use case holds its transaction; the pipeline
            # holds one around a mutating call and its audit record): it joins the outer
            # one, which commits or rolls back for both. A joined write is a savepoint,
            # so that a use case that catches its own failure and retries leaves nothing
            # of the failed attempt behind.
            savepoint = begin != "BEGIN"
            if savepoint:
                cursor.execute("SAVEPOINT joined")
            try:
                yield SqlTx(cursor, _identity, self._now, "", (sqlite3.IntegrityError,))
            except BaseException:
                if savepoint:
                    cursor.execute("ROLLBACK TO joined")
                    cursor.execute("RELEASE joined")
                raise
            else:
                if savepoint:
                    cursor.execute("RELEASE joined")
            finally:
                cursor.close()
            return
        try:
            cursor.execute(begin)
        except sqlite3.Error as exc:
            log.warning("database error: %s", type(exc).__name__)
            raise InternalError("The database is unavailable.") from exc
        try:
            yield SqlTx(cursor, _identity, self._now, "", (sqlite3.IntegrityError,))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            conn.execute("ROLLBACK")
            log.warning("database commit failed: %s", type(exc).__name__)
            raise InternalError("The database could not commit.") from exc
        finally:
            cursor.close()

    @contextmanager
    def read(self) -> Iterator[ReadTx]:
        with self._transaction("BEGIN") as tx:
            yield tx

    @contextmanager
    def write(self, *, flush: bool = True) -> Iterator[WriteTx]:
        conn = self._connection()
        if not conn.in_transaction:  # a connection's sync level, set between transactions
            wanted = "FULL" if flush else "NORMAL"
            if getattr(self._local, "sync", "FULL") != wanted:
                conn.execute(f"PRAGMA synchronous={wanted}")
                self._local.sync = wanted
        if conn.in_transaction:
            with self._transaction("BEGIN IMMEDIATE") as tx:
                yield tx
            return
        with self._writer_turn(), self._transaction("BEGIN IMMEDIATE") as tx:
            yield tx

    @contextmanager
    def _writer_turn(self) -> Iterator[None]:
        """Wait for the other writers (threads and processes) on a lock file first.

        SQLite's own lock makes a writer that finds the database locked sleep and retry
        (1, 2, 5, 10 ms ... up to the busy timeout): with several workers committing
        audit batches back to back, those sleeps dominated latency. ``flock`` queues the
        writers and wakes the next one when the lock is released."""
        fd: int | None = getattr(self._local, "lock_fd", None)
        if fd is None:
            fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            self._local.lock_fd = fd
            with self._lock:
                self._lock_fds.append(fd)
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)

    def in_transaction(self) -> bool:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        return conn is not None and conn.in_transaction

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
            for fd in self._lock_fds:
                os.close(fd)
            self._lock_fds.clear()
        self._local = threading.local()
