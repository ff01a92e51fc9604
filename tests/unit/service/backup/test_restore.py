"""restore_backup refuses what it must before any row is loaded: another schema version,
tables or columns that differ; and loads nothing it has not checked."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from cofre.core.backup.rows import INT, TEXT, Row, TableShape
from cofre.errors import BackupError, RestoreError
from cofre.service.backup.restore import restore_backup
from cofre.service.backup.write import write_backup
from tests.unit.core.backup.test_format import ACCOUNTS, CHAIN, DATA, KEYS, FakeSnapshot


class FakeLoader:
    backend = "sqlite"

    def __init__(self, version: int = 8, tables: list[TableShape] | None = None) -> None:
        self.version = version
        self.tables = tables if tables is not None else [ACCOUNTS, KEYS, CHAIN]
        self.created: int | None = None
        self.rows: dict[str, list[Row]] = {}
        self.committed = False

    def latest_version(self) -> int:
        return self.version

    def create_schema(self, version: int) -> list[TableShape]:
        self.created = version
        return self.tables

    def insert(self, table: TableShape, rows: Sequence[Row]) -> None:
        self.rows.setdefault(table.name, []).extend(rows)

    def commit(self) -> None:
        self.committed = True


def _backup() -> bytes:
    out = io.BytesIO()
    write_backup(FakeSnapshot(DATA), out.write, created_at=datetime(2026, 12, 7, tzinfo=UTC),
                 cofre_version="0.1.0", batch=4)  # fmt: skip
    return out.getvalue()


def test_a_backup_loads_and_commits() -> None:
    loader = FakeLoader()
    summary = restore_backup(io.BytesIO(_backup()).read, loader)
    assert loader.created == 8 and loader.committed and loader.rows == DATA
    assert summary.rows == 15


@pytest.mark.parametrize(
    ("version", "message"),
    [(9, "schema version 8 .* this Cofre's schema is version 9"), (7, "newer than this Cofre's")],
)
def test_another_schema_version_is_refused(version: int, message: str) -> None:
    loader = FakeLoader(version=version)
    with pytest.raises(RestoreError, match=message):
        restore_backup(io.BytesIO(_backup()).read, loader)
    assert loader.created is None and not loader.rows and not loader.committed


def test_tables_or_columns_that_differ_are_refused_by_name() -> None:
    renamed = TableShape("keys", ("key_id", "wrapped", "deleted_at", "comment"),
                         (TEXT, "bytes", INT, TEXT))  # fmt: skip
    extra = TableShape("grants", ("grant_id",), (TEXT,))
    loader = FakeLoader(tables=[ACCOUNTS, renamed, CHAIN, extra])
    with pytest.raises(RestoreError) as caught:
        restore_backup(io.BytesIO(_backup()).read, loader)
    assert "table grants is not in the backup" in caught.value.message
    assert "table keys: column comment is missing" in caught.value.message
    assert not loader.rows


def test_damage_found_late_commits_nothing() -> None:
    blob = bytearray(_backup())
    blob[-40] ^= 1  # inside the trailer
    loader = FakeLoader()
    with pytest.raises(BackupError):
        restore_backup(io.BytesIO(bytes(blob)).read, loader)
    assert loader.rows and not loader.committed  # the loader's transaction is rolled back


def test_the_meta_check_sees_the_meta_table_before_the_commit() -> None:
    meta = TableShape("meta", ("name", "value"), (TEXT, TEXT), ("name",))
    snapshot = FakeSnapshot({**DATA, "meta": [("root_key_check", "abc"), ("x", "y")]})
    snapshot.tables = lambda: [ACCOUNTS, KEYS, CHAIN, meta]  # type: ignore[method-assign]
    out = io.BytesIO()
    write_backup(snapshot, out.write, created_at=datetime(2026, 12, 7, tzinfo=UTC),
                 cofre_version="0.1.0")  # fmt: skip
    seen: list[dict[str, str]] = []

    def refuse(found: dict[str, str]) -> None:
        seen.append(found)
        raise RestoreError("wrong root key")

    loader = FakeLoader(tables=[ACCOUNTS, KEYS, CHAIN, meta])
    with pytest.raises(RestoreError, match="wrong root key"):
        restore_backup(io.BytesIO(out.getvalue()).read, loader, check_meta=refuse)
    assert seen == [{"root_key_check": "abc", "x": "y"}] and not loader.committed
