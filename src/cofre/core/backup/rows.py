"""Tables and their rows in a backup: the shape of a table, and a batch of rows as one
compressed frame (docs/formats/backup.md, "Rows").

A value is one of three kinds, the ones both backends store: ``int`` (SQLite INTEGER,
PostgreSQL BIGINT), ``text`` and ``bytes`` (BLOB, BYTEA); NULL is JSON null. Bytes travel
as base64 (standard alphabet, padded), so a row is a JSON array and a batch one JSON
array of rows, compressed with zstd.
"""

from __future__ import annotations

import base64
import binascii
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import zstandard

from cofre.errors import BackupError

INT, TEXT, BYTES = "int", "text", "bytes"
KINDS = (INT, TEXT, BYTES)
_COUNT = struct.Struct(">I")
_LEVEL = 3
MAX_ROWS_BYTES = 512 * 1024 * 1024  # decompressed, per frame: a bound against a zip bomb

Row = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class TableShape:
    """A table as the backup knows it: its name, columns and their kinds (and, where it
    is read, the primary key that orders its rows)."""

    name: str
    columns: tuple[str, ...]
    kinds: tuple[str, ...]
    key: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "columns": list(self.columns), "kinds": list(self.kinds)}

    @classmethod
    def from_json(cls, value: Any) -> TableShape:
        try:
            shape = cls(
                str(value["name"]),
                tuple(str(c) for c in value["columns"]),
                tuple(str(k) for k in value["kinds"]),
            )
        except (KeyError, TypeError) as exc:
            raise BackupError("the header's table list is malformed") from exc
        if len(shape.columns) != len(shape.kinds) or not set(shape.kinds) <= set(KINDS):
            raise BackupError(f"the header's description of table {shape.name} is malformed")
        return shape

    def differences(self, other: TableShape) -> list[str]:
        """What differs between this table and ``other`` of the same name (column order
        aside): columns missing on either side, or of another kind."""
        mine, theirs = (
            dict(zip(self.columns, self.kinds, strict=True)),
            dict(zip(other.columns, other.kinds, strict=True)),
        )
        out = [f"column {c} is missing" for c in mine if c not in theirs]
        out += [f"column {c} is not in the backup" for c in theirs if c not in mine]
        out += [
            f"column {c} is {theirs[c]} here but {k} in the backup"
            for c, k in mine.items()
            if c in theirs and theirs[c] != k
        ]
        return out


def _encoders(shape: TableShape) -> list[int]:
    return [i for i, kind in enumerate(shape.kinds) if kind == BYTES]


def encode_rows(
    shape: TableShape, rows: Sequence[Row], compressor: zstandard.ZstdCompressor
) -> bytes:
    """A batch of rows as one frame's payload: count | zstd(JSON)."""
    blobs = _encoders(shape)
    if blobs:
        out: list[Any] = []
        for row in rows:
            values = list(row)
            for i in blobs:
                value = values[i]
                if value is not None:
                    values[i] = base64.b64encode(value).decode("ascii")
            out.append(values)
        data = orjson.dumps(out)
    else:
        data = orjson.dumps([list(row) for row in rows])
    return _COUNT.pack(len(rows)) + compressor.compress(data)


def row_count(payload: bytes) -> int:
    """The number of rows a frame's payload says it holds (before it is decoded)."""
    return int(_COUNT.unpack_from(payload)[0]) if len(payload) >= _COUNT.size else 0


def decode_rows(shape: TableShape, payload: bytes, where: Callable[[], str]) -> list[Row]:
    """The rows of one frame's payload, checked against the table's shape; ``where`` names
    the frame for an error."""
    if len(payload) < _COUNT.size:
        raise BackupError(f"{where()}: the rows frame is too short")
    (count,) = _COUNT.unpack_from(payload)
    try:
        data = zstandard.ZstdDecompressor().decompress(
            payload[_COUNT.size :], max_output_size=MAX_ROWS_BYTES
        )
        rows = orjson.loads(data)
    except (zstandard.ZstdError, orjson.JSONDecodeError) as exc:
        raise BackupError(f"{where()}: the rows do not decode") from exc
    if not isinstance(rows, list) or len(rows) != count:
        raise BackupError(f"{where()}: the frame does not hold the {count} rows it says")
    width = len(shape.columns)
    blobs = _encoders(shape)
    out: list[Row] = []
    for n, row in enumerate(rows):
        if not isinstance(row, list) or len(row) != width:
            raise BackupError(f"{where()}, row {n}: not a row of {width} values")
        for i, kind in enumerate(shape.kinds):
            value = row[i]
            if value is None:
                continue
            if kind == INT and (type(value) is not int):
                raise BackupError(f"{where()}, row {n}: column {shape.columns[i]} is not an int")
            if kind != INT and not isinstance(value, str):
                raise BackupError(f"{where()}, row {n}: column {shape.columns[i]} is not text")
        for i in blobs:
            if row[i] is not None:
                try:
                    row[i] = base64.b64decode(row[i], validate=True)
                except (binascii.Error, ValueError) as exc:
                    raise BackupError(
                        f"{where()}, row {n}: column {shape.columns[i]} is not base64"
                    ) from exc
        out.append(tuple(row))
    return out
