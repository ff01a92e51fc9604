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
from psycopg_pool import ConnectionPool

from cofre.errors import InternalError
from cofre.service.ports import ReadTx, WriteTx
from cofre.storage.migrate import migrations
from cofre.storage.sql.transaction import SqlTx

log = logging.getLogger(__name__)

_MIGRATION_LOCK = 0x636F667265  # "cofre"


def _placeholders(statement: str) -> str:
    return statement.replace("?", "%s")


class PostgresStorage:
    def __init__(self, url: str, now: Callable[[], datetime], max_connections: int = 8) -> None:
        self._now = now
        self._local = threading.local()
        try:
            self._pool = ConnectionPool(
                url, min_size=1, max_size=max_connections, open=True, timeout=15.0
            )
            self._pool.wait(timeout=15.0)
        except (psycopg.Error, Exception) as exc:  # the pool raises its own PoolTimeout
            raise InternalError("Cannot connect to the PostgreSQL database.") from exc

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
            if not lock_suffix:
                with outer.cursor() as cursor:
                    yield SqlTx(
                        cursor, _placeholders, self._now, "", (psycopg.errors.UniqueViolation,)
                    )
                return
            with outer.transaction(), outer.cursor() as cursor:
                yield SqlTx(
                    cursor, _placeholders, self._now, lock_suffix, (psycopg.errors.UniqueViolation,)
                )
            return
        try:
            with self._pool.connection() as conn, conn.transaction(), conn.cursor() as cursor:
                self._local.conn = conn
                try:
                    yield SqlTx(
                        cursor,
                        _placeholders,
                        self._now,
                        lock_suffix,
                        (psycopg.errors.UniqueViolation,),
                    )
                finally:
                    self._local.conn = None
        except psycopg.OperationalError as exc:
            log.warning("database error: %s", type(exc).__name__)
            raise InternalError("The database is unavailable.") from exc

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

    def close(self) -> None:
        self._pool.close()
