"""Every table of a store, read from the database's own catalog: the backup carries
whatever the migrations made, so a table a later migration adds is in the next backup
with nothing to register (docs/adr/0017-backup-and-usage.md).

A column's kind is what both backends store (``cofre.core.backup.rows``): SQLite's
INTEGER / TEXT / BLOB, PostgreSQL's BIGINT / TEXT / BYTEA. Any other type is refused by
name, so a migration that brings one must teach the backup it first.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

from cofre.core.backup.rows import BYTES, INT, TEXT, TableShape
from cofre.errors import BackupError

MIGRATIONS_TABLE = "schema_migrations"  # carried in the backup's header, not as a table

_SQLITE_KINDS = (("INT", INT), ("BLOB", BYTES), ("TEXT", TEXT), ("CHAR", TEXT), ("CLOB", TEXT))
_POSTGRES_KINDS = {
    "bigint": INT, "integer": INT, "smallint": INT,
    "text": TEXT, "character varying": TEXT, "bytea": BYTES,
}  # fmt: skip


def quote(name: str) -> str:
    """An identifier from the catalog, quoted for both dialects."""
    return '"' + name.replace('"', '""') + '"'


def _kind(table: str, column: str, declared: str, kinds: Any) -> str:
    for found, kind in kinds:
        if found in declared:
            return str(kind)
    raise BackupError(
        f"table {table} column {column} has type {declared or 'none'}, which backups do not"
        " carry (only integers, text and bytes)"
    )


def dependency_order(names: Iterable[str], parents: dict[str, set[str]]) -> list[str]:
    """Tables with the ones their foreign keys name first, otherwise by name."""
    order: list[str] = []
    placed: set[str] = set()
    remaining = sorted(names)
    while remaining:
        ready = [n for n in remaining if not (parents.get(n, set()) - placed - {n})]
        if not ready:  # a cycle of foreign keys (none in Cofre's schema): keep name order
            ready = remaining[:1]
        for name in ready:
            order.append(name)
            placed.add(name)
        remaining = [n for n in remaining if n not in placed]
    return order


def sqlite_tables(conn: sqlite3.Connection) -> list[TableShape]:
    names = [
        str(row[0])
        for row in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
            " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name != ?",
            (MIGRATIONS_TABLE,),
        )
    ]
    shapes: dict[str, TableShape] = {}
    parents: dict[str, set[str]] = {}
    for name in names:
        info = conn.execute(f"PRAGMA table_info({quote(name)})").fetchall()
        columns = tuple(str(row[1]) for row in info)
        kinds = tuple(_kind(name, str(row[1]), str(row[2]).upper(), _SQLITE_KINDS) for row in info)
        keys = sorted((int(row[5]), str(row[1])) for row in info if int(row[5]) > 0)
        shapes[name] = TableShape(name, columns, kinds, tuple(c for _, c in keys))
        fks = conn.execute(f"PRAGMA foreign_key_list({quote(name)})").fetchall()
        parents[name] = {str(row[2]) for row in fks}
    return [shapes[n] for n in dependency_order(names, parents)]


def postgres_tables(conn: Any) -> list[TableShape]:
    """``conn``: a psycopg connection; the tables of its current schema."""
    names = [
        str(row[0])
        for row in conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
            " AND c.relname != %s",
            (MIGRATIONS_TABLE,),
        )
    ]
    columns: dict[str, list[tuple[str, str]]] = {n: [] for n in names}
    for table, column, declared in conn.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position"
    ):
        if table in columns:
            columns[table].append((str(column), str(declared)))
    keys: dict[str, list[str]] = {n: [] for n in names}
    for table, column in conn.execute(
        "SELECT c.relname, a.attname FROM pg_index i"
        " JOIN pg_class c ON c.oid = i.indrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
        " WHERE i.indisprimary AND n.nspname = current_schema()"
        " ORDER BY c.relname, array_position(i.indkey::int2[], a.attnum)"
    ):
        if table in keys:
            keys[table].append(str(column))
    parents: dict[str, set[str]] = {n: set() for n in names}
    for child, parent in conn.execute(
        "SELECT c.relname, p.relname FROM pg_constraint k"
        " JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid"
        " JOIN pg_namespace n ON n.oid = k.connamespace"
        " WHERE k.contype = 'f' AND n.nspname = current_schema()"
    ):
        if child in parents:
            parents[child].add(str(parent))
    shapes = {}
    for name in names:
        kinds = []
        for column, declared in columns[name]:
            kind = _POSTGRES_KINDS.get(declared.lower())
            if kind is None:
                kind = _kind(name, column, declared, ())
            kinds.append(kind)
        shapes[name] = TableShape(
            name, tuple(c for c, _ in columns[name]), tuple(kinds), tuple(keys[name])
        )
    return [shapes[n] for n in dependency_order(names, parents)]
