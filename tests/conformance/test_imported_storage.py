"""Conformance of the imported-material storage (schema 7) on every backend: records,
the IMPORTED flag the read derives, single-version deletion, and what a key's deletion
takes with it."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest

from cofre.core.kms.imported import ImportedMaterial
from cofre.core.kms.keys import KeyVersion, Origin, RotationType
from cofre.service.clock import ManualClock
from cofre.service.ports import Storage
from cofre.storage.migrate import migrations
from cofre.storage.postgres import PostgresStorage
from cofre.storage.sql.common import to_micros
from cofre.storage.sqlite import SqliteStorage
from tests.conformance.test_storage import ACCOUNT, REGION, T0, Db, insert_key
from tests.conftest import BACKENDS, require_postgres
from tests.support.server import postgres_database

SECOND = timedelta(seconds=1)
SECOND_ID = b"\x02" * 32
STAGED_ID = b"\x03" * 32


def test_imported_materials_round_trip_with_derived_import_state(db: Db) -> None:
    key = insert_key(db.storage, origin=Origin.EXTERNAL)
    first = ImportedMaterial(key.key_id, key.current_version_id, "KEY_MATERIAL_DOES_NOT_EXPIRE",
                             None, T0, description="first one")  # fmt: skip
    rotated = ImportedMaterial(key.key_id, SECOND_ID, "KEY_MATERIAL_EXPIRES",
                               T0.replace(year=2026), T0 + SECOND, None, None,
                               T0 + 2 * SECOND, RotationType.ON_DEMAND)  # fmt: skip
    staged = ImportedMaterial(key.key_id, STAGED_ID, "KEY_MATERIAL_DOES_NOT_EXPIRE", None,
                              T0 + 3 * SECOND, "next", b"wrapped:staged")  # fmt: skip
    with db.storage.write() as tx:
        for material in (first, rotated, staged):
            tx.put_imported_material(material)
    with db.storage.read() as tx:
        got = tx.imported_materials(key.key_id)
    # ``first`` has its key_versions row; ``rotated`` has none (deleted); ``staged`` waits.
    assert got == [first, rotated.evolve(imported=False), staged]
    assert got[2].pending_rotation and not got[0].pending_rotation

    with db.storage.write() as tx:  # upsert: rotate the staged one in
        tx.insert_version(KeyVersion(key.key_id, STAGED_ID, b"w", T0, RotationType.ON_DEMAND))
        tx.put_imported_material(staged.evolve(pending_wrapped=None, rotated_at=T0,
                                               rotation_type=RotationType.ON_DEMAND))  # fmt: skip
        tx.delete_version(key.key_id, key.current_version_id)
    with db.storage.read() as tx:
        got = tx.imported_materials(key.key_id)
        versions = [v.version_id for v in tx.versions(key.key_id)]
    assert versions == [STAGED_ID]
    assert [m.imported for m in got] == [False, False, True]
    assert got[2].rotation_type is RotationType.ON_DEMAND and got[2].pending_wrapped is None

    with db.storage.write() as tx:
        tx.delete_imported_material(key.key_id, SECOND_ID)
    with db.storage.read() as tx:
        assert [m.material_id for m in tx.imported_materials(key.key_id)] == [
            key.current_version_id,
            STAGED_ID,
        ]


def test_delete_key_takes_its_imported_materials(db: Db) -> None:
    doomed = insert_key(db.storage, origin=Origin.EXTERNAL)
    kept = insert_key(db.storage, origin=Origin.EXTERNAL)
    with db.storage.write() as tx:
        for key in (doomed, kept):
            record = ImportedMaterial(
                key.key_id, key.current_version_id, "KEY_MATERIAL_DOES_NOT_EXPIRE", None, T0
            )
            tx.put_imported_material(record)
    with db.storage.write() as tx:
        tx.delete_key(doomed.key_id)
    with db.storage.read() as tx:
        assert tx.imported_materials(doomed.key_id) == []
        assert len(tx.imported_materials(kept.key_id)) == 1


Execute = Callable[[str, tuple[object, ...]], object]
LEGACY_KEY = "1234abcd-12ab-34cd-56ef-1234567890ab"
LEGACY_MATERIAL = b"\x07" * 32


def populate_schema_before_7(execute: Execute, dialect: str) -> None:
    """A database of schema 4..6 holding an imported key whose material was deleted."""
    version_type = "INTEGER" if dialect == "sqlite" else "BIGINT"
    execute(f"CREATE TABLE schema_migrations (version {version_type} PRIMARY KEY,"
            " name TEXT NOT NULL)", ())  # fmt: skip
    for migration in migrations(dialect):
        if migration.version >= 7:
            break
        for statement in migration.statements():
            execute(statement, ())
        execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                (migration.version, migration.name))  # fmt: skip
    execute(
        "INSERT INTO keys (key_id, account_id, region, arn, created_at, description, key_spec,"
        " key_usage, origin, key_manager, state, policy, current_version_id, rotation_enabled,"
        " revision, imported_material_id) VALUES (?, ?, ?, ?, ?, '', 'SYMMETRIC_DEFAULT',"
        " 'ENCRYPT_DECRYPT', 'EXTERNAL', 'CUSTOMER', 'PendingImport', '{}', ?, 0, 1, ?)",
        (LEGACY_KEY, ACCOUNT, REGION, f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{LEGACY_KEY}",
         to_micros(T0), b"", LEGACY_MATERIAL),
    )  # fmt: skip


@pytest.mark.parametrize("backend", BACKENDS)
def test_schema_7_keeps_the_material_of_keys_imported_before(backend: str, tmp_path: Path) -> None:
    clock = ManualClock(T0)
    storage: Storage
    if backend == "postgres":
        require_postgres()
        with postgres_database() as url:
            with psycopg.connect(url, autocommit=True) as pg:
                populate_schema_before_7(
                    lambda sql, params: pg.execute(sql.replace("?", "%s").encode(), params),
                    "postgresql",
                )
            storage = PostgresStorage(url, clock.now)
            check_legacy(storage, "postgresql")
    else:
        path = tmp_path / "old.db"
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            populate_schema_before_7(conn.execute, "sqlite")
        finally:
            conn.close()
        check_legacy(SqliteStorage(path, clock.now), "sqlite")


def check_legacy(storage: Storage, dialect: str) -> None:
    try:
        assert storage.migrate() == migrations(dialect)[-1].version
        with storage.read() as tx:
            model = "KEY_MATERIAL_DOES_NOT_EXPIRE"
            legacy = ImportedMaterial(LEGACY_KEY, LEGACY_MATERIAL, model, None, T0, imported=False)
            assert tx.imported_materials(LEGACY_KEY) == [legacy]
    finally:
        storage.close()
