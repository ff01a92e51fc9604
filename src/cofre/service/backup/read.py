"""Reading a backup back, every frame checked before it is used: ``cofre backup verify``
reads it to the end and keeps nothing, ``cofre restore`` hands the rows to a store.

A damaged file is named by its place: the byte offset of the frame that fails, and the
table and first row it holds (docs/formats/backup.md, "Verification").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cofre.core.backup.format import (
    END,
    FORMAT_VERSION,
    HEADER,
    ROWS,
    TABLE,
    TRAILER,
    Frame,
    Reader,
    table_digest,
)
from cofre.core.backup.rows import Row, TableShape, decode_rows, row_count
from cofre.errors import BackupError
from cofre.service.backup.ports import NoProgress, Progress
from cofre.service.backup.write import BackupSummary, audit_head


@dataclass(frozen=True)
class BackupHeader:
    format: int
    backend: str
    schema_version: int
    migrations: list[tuple[int, str]]
    tables: list[TableShape]
    rows: dict[str, int]
    created_at: str
    cofre_version: str


def _header(frame: Frame) -> BackupHeader:
    value = frame.json()
    try:
        version = int(value["format"])
        if version > FORMAT_VERSION:
            raise BackupError(
                f"the backup is of format version {version}; this Cofre reads up to"
                f" {FORMAT_VERSION}: use a newer Cofre"
            )
        return BackupHeader(
            format=version,
            backend=str(value["backend"]),
            schema_version=int(value["schema_version"]),
            migrations=[(int(v), str(n)) for v, n in value["migrations"]],
            tables=[TableShape.from_json(t) for t in value["tables"]],
            rows={str(k): int(v) for k, v in value["rows"].items()},
            created_at=str(value["created_at"]),
            cofre_version=str(value.get("cofre_version", "")),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BackupError(f"byte offset {frame.offset}: the header is malformed") from exc


OnHeader = Callable[[BackupHeader], None]
OnRows = Callable[[TableShape, list[Row]], None]


class _Place:
    """Where the reading is, for messages."""

    def __init__(self) -> None:
        self.table = ""
        self.row = 0
        self.offset = 0

    def __str__(self) -> str:
        if not self.table:
            return f"byte offset {self.offset}"
        return f"byte offset {self.offset} (table {self.table}, rows from {self.row})"


def read_backup(
    read: Callable[[int], bytes],
    *,
    on_header: OnHeader | None = None,
    on_rows: OnRows | None = None,
    progress: Progress | None = None,
) -> BackupSummary:
    """Read and check a whole backup, handing its header and rows on as they come; what
    it holds. ``BackupError`` names the first damage."""
    progress = progress or NoProgress()
    reader = Reader(read)
    place = _Place()
    try:
        return _read(reader, place, on_header, on_rows, progress)
    except BackupError as error:
        if not place.table or f"table {place.table}" in error.message:
            raise
        where = f"table {place.table}, rows from {place.row}"
        raise BackupError(f"{error.message} ({where})") from error


def _expect(reader: Reader, kind: bytes, what: str) -> Frame:
    found = reader.next()
    if found is None:
        raise BackupError(f"the file ends at byte {reader.offset} before the {what} (truncated)")
    if found.kind != kind:
        raise BackupError(
            f"byte offset {found.offset}: a {found.name} frame where the {what} belongs"
        )
    return found


def _read(
    reader: Reader,
    place: _Place,
    on_header: OnHeader | None,
    on_rows: OnRows | None,
    progress: Progress,
) -> BackupSummary:
    header = _header(_expect(reader, HEADER, "header"))
    if on_header is not None:
        on_header(header)
    summary = BackupSummary(header.backend, header.schema_version, header.created_at)
    progress.start(sum(header.rows.values()))
    digests: dict[str, dict[str, Any]] = {}
    for table in header.tables:
        place.table, place.row = table.name, 0
        start = _expect(reader, TABLE, f"start of table {table.name}")
        place.offset = start.offset
        if start.json().get("table") != table.name:
            raise BackupError(f"byte offset {start.offset}: not the start of table {table.name}")
        progress.table(table.name, header.rows.get(table.name, 0))
        hashes: list[bytes] = []
        while True:
            place.offset = reader.offset
            found = reader.next()
            if found is None:
                raise BackupError(f"the file ends at byte {reader.offset} inside table"
                                  f" {table.name} (truncated)")  # fmt: skip
            if found.kind != ROWS:
                break
            rows = decode_rows(table, found.payload, lambda: str(place))
            hashes.append(found.digest)
            if on_rows is not None:
                on_rows(table, rows)
            summary.audit_head = audit_head(table, rows) or summary.audit_head
            place.row += row_count(found.payload)
            progress.advance(len(rows))
        if found.kind != END:
            raise BackupError(f"byte offset {found.offset}: a {found.name} frame inside table"
                              f" {table.name}")  # fmt: skip
        end = found.json()
        digest = table_digest(hashes)
        if end.get("rows") != place.row or end.get("sha256") != digest:
            raise BackupError(
                f"byte offset {found.offset}: table {table.name} ends with {place.row} rows"
                f" where {end.get('rows')} were written, or with frames missing, doubled or"
                " moved"
            )
        digests[table.name] = {"rows": place.row, "sha256": digest}
        summary.tables[table.name] = place.row
    place.table = ""
    before = reader.file_digest()
    trailer = _expect(reader, TRAILER, "trailer")
    value = trailer.json()
    if value.get("file_sha256") != before:
        raise BackupError(f"byte offset {trailer.offset}: the file's checksum does not match")
    if value.get("tables") != digests or value.get("rows") != summary.rows:
        raise BackupError(f"byte offset {trailer.offset}: the trailer lists other tables or rows")
    if not reader.at_end():
        raise BackupError(f"byte offset {reader.offset}: bytes follow the trailer")
    summary.size = reader.offset
    return summary
