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

from cofre.service.ports import ReadTx, WriteTx
from cofre.storage.faults import from_sqlite
from cofre.storage.migrate import migrations
from cofre.storage.sql.transaction import SqlTx

log = logging.getLogger(__name__)


def _identity(statement: str) -> str:
    return statement


class SqliteStorage:
    def __init__(self, path: Path, now: Callable[[], datetime], *, read_only: bool = False) -> None:
        """``read_only``: every connection refuses writes (``PRAGMA query_only``): for
        tools that must not change a store, such as ``cofre audit verify``."""
        self._path = path
        self._read_only = read_only
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
            # 16 MiB of page cache a connection (default 2 MiB): a store of 100,000 keys and
            # parameters keeps its index pages in memory (bench/scale.py)
            conn.execute("PRAGMA cache_size=-16384")
            if self._read_only:
                conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def schema_version(self) -> int:
        """The schema version of the database (0: never migrated)."""
        conn = self._connection()
        found = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        ).fetchone()
        if found is None:
            return 0
        return int(conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations")
                   .fetchone()[0])  # fmt: skip

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
        try:
            conn = self._connection()
        except (sqlite3.Error, OSError) as exc:
            raise from_sqlite(exc, "opening the database") from exc
        cursor = conn.cursor()
        if conn.in_transaction:
            # A transaction opened inside another on the same thread (the authorization
            # step reads policies while a use case holds its transaction; a mutating call
            # holds one around its effect and its audit record): it joins the outer one,
            # which commits or rolls back for both. A joined write is a savepoint, so
            # that a use case that catches its own failure and retries leaves nothing of
            # the failed attempt behind.
            with self._joined(conn, cursor, savepoint=begin != "BEGIN") as tx:
                yield tx
            return
        try:
            cursor.execute(begin)
        except sqlite3.Error as exc:
            cursor.close()
            raise from_sqlite(exc, "beginning a transaction") from exc
        try:
            yield SqlTx(cursor, _identity, self._now, "", (sqlite3.IntegrityError,))
        except (sqlite3.Error, OSError) as exc:
            self._rollback(conn)
            cursor.close()
            raise from_sqlite(exc, "running a statement") from exc
        except BaseException:
            self._rollback(conn)
            cursor.close()
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback(conn)
            raise from_sqlite(exc, "committing") from exc
        finally:
            cursor.close()

    @contextmanager
    def _joined(
        self, conn: sqlite3.Connection, cursor: sqlite3.Cursor, *, savepoint: bool
    ) -> Iterator[SqlTx]:
        if savepoint:
            cursor.execute("SAVEPOINT joined")
        try:
            yield SqlTx(cursor, _identity, self._now, "", (sqlite3.IntegrityError,))
        except BaseException:
            if savepoint and conn.in_transaction:
                try:
                    cursor.execute("ROLLBACK TO joined")
                    cursor.execute("RELEASE joined")
                except sqlite3.Error:  # the outer transaction is gone: it reports the cause
                    log.debug("could not roll back to a savepoint", exc_info=True)
            raise
        else:
            if savepoint:
                cursor.execute("RELEASE joined")
        finally:
            cursor.close()

    @staticmethod
    def _rollback(conn: sqlite3.Connection) -> None:
        """Roll back if a transaction is still open (a failed COMMIT may have ended it);
        a failure here is secondary to the one being reported, so it is only noted."""
        if not conn.in_transaction:
            return
        try:
            conn.execute("ROLLBACK")
        except sqlite3.Error:
            log.debug("rollback after a failure failed too", exc_info=True)

    @contextmanager
    def read(self) -> Iterator[ReadTx]:
        with self._transaction("BEGIN") as tx:
            yield tx

    @contextmanager
    def write(self, *, flush: bool = True) -> Iterator[WriteTx]:
        try:
            conn = self._connection()
            if not conn.in_transaction:  # a connection's sync level, set between transactions
                wanted = "FULL" if flush else "NORMAL"
                if getattr(self._local, "sync", "FULL") != wanted:
                    conn.execute(f"PRAGMA synchronous={wanted}")
                    self._local.sync = wanted
        except (sqlite3.Error, OSError) as exc:
            raise from_sqlite(exc, "opening the database") from exc
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
        try:
            if fd is None:
                fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
                self._local.lock_fd = fd
                with self._lock:
                    self._lock_fds.append(fd)
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as exc:
            raise from_sqlite(exc, "taking the writer's lock") from exc
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
