"""The shared backend: PostgreSQL, so several Cofre nodes serve one set of keys.

Rows a write transaction changes are locked with ``SELECT ... FOR UPDATE``; migrations
take an advisory lock so that nodes starting together migrate once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from cofre.errors import InternalError
from cofre.service.ports import ReadTx, WriteTx
from cofre.storage.faults import from_postgres
from cofre.storage.migrate import migrations
from cofre.storage.sql.transaction import SqlTx

log = logging.getLogger(__name__)

_MIGRATION_LOCK = 0x636F667265  # "cofre"


_UNIQUE = (psycopg.errors.UniqueViolation,)


def _placeholders(statement: str) -> str:
    return statement.replace("?", "%s")


class PostgresStorage:
    def __init__(
        self,
        url: str,
        now: Callable[[], datetime],
        max_connections: int = 8,
        *,
        read_only: bool = False,
    ) -> None:
        """``read_only``: every transaction is read-only (for tools that must not change
        a store, such as ``cofre audit verify``)."""
        self._now = now
        self._local = threading.local()
        self._checking = threading.Lock()
        try:
            self._pool = ConnectionPool(
                url,
                min_size=1,
                max_size=max_connections,
                open=True,
                timeout=5.0,  # a call waits this long for a connection, then fails (retryable)
                kwargs={"connect_timeout": 5}
                | ({"options": "-c default_transaction_read_only=on"} if read_only else {}),
            )
            self._pool.wait(timeout=15.0)
        except (psycopg.Error, Exception) as exc:  # the pool raises its own PoolTimeout
            raise InternalError("Cannot connect to the PostgreSQL database.") from exc

    def schema_version(self) -> int:
        """The schema version of the database (0: never migrated)."""
        with self._pool.connection() as conn:
            found = conn.execute("SELECT to_regclass('schema_migrations')").fetchone()
            if found is None or found[0] is None:
                return 0
            row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()
            return int(row[0]) if row else 0

    def migrate(self) -> int:
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations"
                " (version BIGINT PRIMARY KEY, name TEXT NOT NULL)"
            )
            row = conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_migrations").fetchone()
            version = int(row[0]) if row else 0
            for migration in migrations("postgresql"):
                if migration.version <= version:
                    continue
                for statement in migration.statements():
                    conn.execute(statement.encode())
                conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (migration.version, migration.name),
                )
                version = migration.version
        return version

    @contextmanager
    def _transaction(self, lock_suffix: str) -> Iterator[SqlTx]:
        outer: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if outer is not None:
            # Opened inside another transaction on this thread (the authorization step
            # reads policies while a use case holds its transaction): join it, as the
            # SQLite backend does, rather than take a second pooled connection.
            # A joined write is a savepoint (see the SQLite backend), which also keeps a
            # failed statement, such as a unique violation a use case catches and retries,
            # from aborting the outer transaction.
            try:
                if not lock_suffix:
                    with outer.cursor() as cursor:
                        yield SqlTx(cursor, _placeholders, self._now, "", _UNIQUE)
                    return
                with outer.transaction(), outer.cursor() as cursor:
                    yield SqlTx(cursor, _placeholders, self._now, lock_suffix, _UNIQUE)
            except psycopg.Error as exc:  # the use case sees Cofre's error, not psycopg's
                raise from_postgres(exc, "in a joined transaction") from exc
            return
        try:
            with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
                self._local.conn = conn
                try:
                    yield SqlTx(cursor, _placeholders, self._now, lock_suffix, _UNIQUE)
                finally:
                    self._local.conn = None
        except (psycopg.Error, PoolTimeout) as exc:
            error = from_postgres(exc, "in a transaction")
            if error.retryable:
                self._check_soon()
            raise error from exc

    def _check_soon(self) -> None:
        """After a lost connection (a restart, say), have the pool test its idle
        connections in the background, so that the next calls get live ones."""
        if self._checking.acquire(blocking=False):
            threading.Thread(target=self._check, name="cofre-pg-check", daemon=True).start()

    def _check(self) -> None:
        try:
            self._pool.check()
        except Exception:
            log.warning("cannot check the database connections", exc_info=True)
        finally:
            self._checking.release()

    @contextmanager
    def read(self) -> Iterator[ReadTx]:
        with self._transaction("") as tx:
            yield tx

    @contextmanager
    def write(self, *, flush: bool = True) -> Iterator[WriteTx]:
        joined = getattr(self._local, "conn", None) is not None
        with self._transaction(" FOR UPDATE") as tx:
            if not flush and not joined:  # commit without waiting for the WAL flush
                tx._exec("SET LOCAL synchronous_commit TO OFF")
            yield tx

    def in_transaction(self) -> bool:
        return getattr(self._local, "conn", None) is not None

    def pool_stats(self) -> dict[str, int]:
        """The connection pool now (size, idle, waiting), for metrics: no query."""
        stats = self._pool.get_stats()
        return {
            "size": int(stats.get("pool_size", 0)),
            "idle": int(stats.get("pool_available", 0)),
            "waiting": int(stats.get("requests_waiting", 0)),
            "max": int(stats.get("pool_max", 0)),
        }

    def close(self) -> None:
        self._pool.close()
