"""A consistent, read-only view of a whole store, for ``cofre backup`` while servers run.

One read transaction holds every table still: SQLite's WAL gives a reader the database as
of its first read, whatever writers commit meanwhile; PostgreSQL's REPEATABLE READ gives
one snapshot to every statement of the transaction. Neither blocks a writer. Nothing is
written and nothing created (SQLite is opened read-only; no migration runs).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote as url_quote

import psycopg
from psycopg import IsolationLevel

from cofre.core.backup.rows import Row, TableShape
from cofre.errors import BackupError
from cofre.storage.catalog import MIGRATIONS_TABLE, postgres_tables, quote, sqlite_tables


def _select(table: TableShape) -> str:
    columns = ", ".join(quote(c) for c in table.columns)
    order = f" ORDER BY {', '.join(quote(c) for c in table.key)}" if table.key else ""
    return f"SELECT {columns} FROM {quote(table.name)}{order}"  # noqa: S608 (catalog names)


def _migrations(rows: list[Any]) -> list[tuple[int, str]]:
    return [(int(v), str(n)) for v, n in rows]


class SqliteSnapshot:
    backend = "sqlite"

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise BackupError(f"there is no Cofre database at {path}")
        uri = f"file:{url_quote(str(path))}?mode=ro"
        self._conn = sqlite3.connect(uri, uri=True, isolation_level=None)
        try:
            self._conn.execute("PRAGMA busy_timeout=15000")
            self._conn.execute("BEGIN")  # the snapshot starts at the first read
            self.migrations = _migrations(
                self._conn.execute(
                    f"SELECT version, name FROM {MIGRATIONS_TABLE} ORDER BY version"  # noqa: S608
                ).fetchall()
            )
            self._tables = sqlite_tables(self._conn)
        except sqlite3.Error as exc:
            self._conn.close()
            raise BackupError(f"{path} is not a Cofre database ({exc})") from exc
        self.schema_version = self.migrations[-1][0] if self.migrations else 0

    def tables(self) -> list[TableShape]:
        return list(self._tables)

    def count(self, table: TableShape) -> int:
        row = self._conn.execute(f"SELECT COUNT(*) FROM {quote(table.name)}").fetchone()  # noqa: S608
        return int(row[0])

    def rows(self, table: TableShape, batch: int) -> Iterator[list[Row]]:
        cursor = self._conn.execute(_select(table))
        try:
            while found := cursor.fetchmany(batch):
                yield found
        finally:
            cursor.close()

    def close(self) -> None:
        try:
            self._conn.execute("ROLLBACK")
        finally:
            self._conn.close()

    def __enter__(self) -> SqliteSnapshot:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class PostgresSnapshot:
    backend = "postgresql"

    def __init__(self, url: str) -> None:
        try:
            self._conn: psycopg.Connection[Any] = psycopg.connect(url, connect_timeout=15)
        except psycopg.Error as exc:
            raise BackupError(f"cannot connect to the PostgreSQL database: {exc}") from exc
        self._conn.isolation_level = IsolationLevel.REPEATABLE_READ
        self._conn.read_only = True
        try:
            self.migrations = _migrations(
                self._conn.execute(
                    f"SELECT version, name FROM {MIGRATIONS_TABLE} ORDER BY version"  # noqa: S608
                ).fetchall()
            )
            self._tables = postgres_tables(self._conn)
        except psycopg.Error as exc:
            self._conn.close()
            raise BackupError(f"the database is not a Cofre database ({exc})") from exc
        self.schema_version = self.migrations[-1][0] if self.migrations else 0

    def tables(self) -> list[TableShape]:
        return list(self._tables)

    def count(self, table: TableShape) -> int:
        row = self._conn.execute(f"SELECT COUNT(*) FROM {quote(table.name)}").fetchone()  # noqa: S608
        return int(row[0]) if row else 0

    def rows(self, table: TableShape, batch: int) -> Iterator[list[Row]]:
        with self._conn.cursor(name="cofre_backup") as cursor:  # server-side: memory-bounded
            cursor.itersize = batch
            cursor.execute(_select(table).encode())
            while found := cursor.fetchmany(batch):
                yield [tuple(row) for row in found]

    def close(self) -> None:
        try:
            self._conn.rollback()
        finally:
            self._conn.close()

    def __enter__(self) -> PostgresSnapshot:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
