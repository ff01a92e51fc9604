"""Filling an empty store from a backup, in one transaction (``cofre restore``).

The schema is made here by the same migrations ``cofre serve`` runs, up to the backup's
version, inside the transaction that loads the rows: a restore that fails part way
leaves the database as empty as it found it (SQLite and PostgreSQL both roll back DDL).
A store that holds any table already is refused.
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import psycopg

from cofre.core.backup.rows import Row, TableShape
from cofre.errors import RestoreError
from cofre.storage.catalog import MIGRATIONS_TABLE, postgres_tables, quote, sqlite_tables
from cofre.storage.migrate import migrations

_MIGRATION_LOCK = 0x636F667265  # the lock ``cofre serve`` migrates under (postgres.py)


def _insert(table: TableShape, mark: str) -> str:
    columns = ", ".join(quote(c) for c in table.columns)
    marks = ", ".join(mark for _ in table.columns)
    return f"INSERT INTO {quote(table.name)} ({columns}) VALUES ({marks})"  # noqa: S608


def _not_empty(names: list[str]) -> RestoreError:
    shown = ", ".join(sorted(names)[:5]) + (", ..." if len(names) > 5 else "")
    return RestoreError(
        f"the target already holds {len(names)} tables ({shown}): restore needs an empty"
        " store (a new data directory, or an empty PostgreSQL database)"
    )


def _sqlite_names(conn: sqlite3.Connection) -> list[str]:
    return [
        str(row[0])
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"
        )
    ]


class _Loader(ABC):
    backend = ""

    def latest_version(self) -> int:
        found = migrations(self.backend)
        return found[-1].version if found else 0

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close(commit=False)

    @abstractmethod
    def close(self, *, commit: bool) -> None:
        """Commit (``commit``) or roll back what was loaded, and close the connection."""


class SqliteLoader(_Loader):
    backend = "sqlite"

    def __init__(self, path: Path) -> None:
        self._path = path
        if path.exists():  # look before taking the write lock of what may be a live store
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as probe:
                existing = _sqlite_names(probe)
            probe.close()
            if existing:
                raise _not_empty(existing)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._conn = sqlite3.connect(path, isolation_level=None)
        self._open = True
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.execute("BEGIN IMMEDIATE")

    def create_schema(self, version: int) -> list[TableShape]:
        existing = _sqlite_names(self._conn)
        if existing:
            raise _not_empty(existing)
        self._conn.execute(
            f"CREATE TABLE {MIGRATIONS_TABLE} (version INTEGER PRIMARY KEY, name TEXT NOT NULL)"
        )
        for migration in migrations("sqlite"):
            if migration.version > version:
                break
            for statement in migration.statements():
                self._conn.execute(statement)
            self._conn.execute(
                f"INSERT INTO {MIGRATIONS_TABLE} (version, name) VALUES (?, ?)",  # noqa: S608
                (migration.version, migration.name),
            )
        tables = sqlite_tables(self._conn)
        for table in reversed(tables):  # the rows migrations seed: the backup has them
            self._conn.execute(f"DELETE FROM {quote(table.name)}")  # noqa: S608
        return tables

    def insert(self, table: TableShape, rows: Sequence[Row]) -> None:
        self._conn.executemany(_insert(table, "?"), rows)

    def commit(self) -> None:
        self.close(commit=True)

    def close(self, *, commit: bool) -> None:
        if not self._open:
            return
        self._open = False
        try:
            if commit:
                problems = self._conn.execute("PRAGMA foreign_key_check").fetchall()
                if problems:
                    raise RestoreError(
                        f"rows of table {problems[0][0]} name rows that are not there"
                    )
                self._conn.execute("COMMIT")
            else:
                self._conn.execute("ROLLBACK")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise
        finally:
            self._conn.close()


class PostgresLoader(_Loader):
    backend = "postgresql"

    def __init__(self, url: str) -> None:
        try:
            self._conn: psycopg.Connection[Any] = psycopg.connect(url, connect_timeout=15)
        except psycopg.Error as exc:
            raise RestoreError(f"cannot connect to the PostgreSQL database: {exc}") from exc
        self._open = True
        self._tables: list[TableShape] = []

    def create_schema(self, version: int) -> list[TableShape]:
        conn = self._conn
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        existing = [t.name for t in postgres_tables(conn)]
        if conn.execute(
            "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relname = %s",
            (MIGRATIONS_TABLE,),
        ).fetchone():
            existing.append(MIGRATIONS_TABLE)
        if existing:
            raise _not_empty(existing)
        conn.execute(
            f"CREATE TABLE {MIGRATIONS_TABLE} (version BIGINT PRIMARY KEY, name TEXT NOT NULL)"
        )
        for migration in migrations("postgresql"):
            if migration.version > version:
                break
            for statement in migration.statements():
                conn.execute(statement.encode())
            conn.execute(
                f"INSERT INTO {MIGRATIONS_TABLE} (version, name) VALUES (%s, %s)",  # noqa: S608
                (migration.version, migration.name),
            )
        self._tables = postgres_tables(conn)
        for table in reversed(self._tables):
            conn.execute(f"DELETE FROM {quote(table.name)}".encode())  # noqa: S608
        return list(self._tables)

    def insert(self, table: TableShape, rows: Sequence[Row]) -> None:
        columns = ", ".join(quote(c) for c in table.columns)
        statement = f"COPY {quote(table.name)} ({columns}) FROM STDIN"
        with self._conn.cursor() as cursor, cursor.copy(statement.encode()) as copy:
            for row in rows:
                copy.write_row(row)

    def commit(self) -> None:
        """Move each serial column's sequence past the rows loaded, then commit."""
        conn = self._conn
        for table in self._tables:
            for column in table.columns:
                found = conn.execute(
                    "SELECT pg_get_serial_sequence(%s, %s)", (quote(table.name), column)
                ).fetchone()
                if found and found[0]:
                    conn.execute(
                        f"SELECT setval(%s, COALESCE((SELECT MAX({quote(column)})"  # noqa: S608
                        f" FROM {quote(table.name)}), 0) + 1, false)",
                        (found[0],),
                    )
        self.close(commit=True)

    def close(self, *, commit: bool) -> None:
        if not self._open:
            return
        self._open = False
        try:
            if commit:
                self._conn.commit()
            else:
                self._conn.rollback()
        finally:
            self._conn.close()
