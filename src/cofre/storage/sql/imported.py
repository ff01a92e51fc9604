"""The SQL of imported key materials: a mixin of ``SqlTx`` (``cofre.storage.sql.transaction``).

A material is IMPORTED while its key_versions row exists or while it is staged
(``pending_wrapped``); the read computes that, writes never store it.
"""

# Statements are built only from constant column lists; every value is a bound parameter.
# ruff: noqa: S608

from __future__ import annotations

from typing import Any

from cofre.core.kms.imported import ImportedMaterial
from cofre.core.kms.keys import RotationType
from cofre.storage.sql.common import Row, SqlHelpers, dt, from_micros, to_micros

_COLUMNS = (
    "key_id, material_id, description, expiration_model, valid_to, imported_at,"
    " pending_wrapped, rotated_at, rotation_type"
)


def _row(material: ImportedMaterial) -> tuple[Any, ...]:
    return (
        material.row_id,
        material.material_id,
        material.description,
        material.expiration_model,
        to_micros(material.valid_to),
        to_micros(material.imported_at),
        material.pending_wrapped,
        to_micros(material.rotated_at),
        None if material.rotation_type is None else material.rotation_type.value,
    )


def _from_row(row: Row) -> ImportedMaterial:
    return ImportedMaterial(
        row_id=row[0],
        material_id=bytes(row[1]),
        description=row[2],
        expiration_model=row[3],
        valid_to=from_micros(row[4]),
        imported_at=dt(row[5]),
        pending_wrapped=None if row[6] is None else bytes(row[6]),
        rotated_at=from_micros(row[7]),
        rotation_type=None if row[8] is None else RotationType(row[8]),
        imported=bool(row[9]),
    )


class ImportedSql(SqlHelpers):
    def imported_materials(self, row_id: str) -> list[ImportedMaterial]:
        rows = self._all(
            f"SELECT {_COLUMNS}, (pending_wrapped IS NOT NULL OR EXISTS (SELECT 1 FROM"
            " key_versions v WHERE v.key_id = m.key_id AND v.version_id = m.material_id))"
            " FROM imported_materials m WHERE key_id = ? ORDER BY imported_at, material_id",
            (row_id,),
        )
        return [_from_row(r) for r in rows]

    def put_imported_material(self, material: ImportedMaterial) -> None:
        self._exec(
            f"INSERT INTO imported_materials ({_COLUMNS}) VALUES ({', '.join('?' * 9)})"
            " ON CONFLICT (key_id, material_id) DO UPDATE SET description ="
            " excluded.description, expiration_model = excluded.expiration_model,"
            " valid_to = excluded.valid_to, imported_at = excluded.imported_at,"
            " pending_wrapped = excluded.pending_wrapped, rotated_at = excluded.rotated_at,"
            " rotation_type = excluded.rotation_type",
            _row(material),
        )

    def delete_imported_material(self, row_id: str, material_id: bytes) -> None:
        self._exec(
            "DELETE FROM imported_materials WHERE key_id = ? AND material_id = ?",
            (row_id, material_id),
        )

    def delete_version(self, row_id: str, version_id: bytes) -> None:
        self._exec(
            "DELETE FROM key_versions WHERE key_id = ? AND version_id = ?", (row_id, version_id)
        )
