"""``cofre backup``: every table of a store's snapshot, streamed into one file.

Key material, secret access keys, webhook secrets and the digest signing key are stored
wrapped under the root of trust, and the backup carries the rows as they are: the file
alone opens nothing. The root key itself is never in it (docs/formats/backup.md).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import zstandard

from cofre.core.backup.format import END, FORMAT_VERSION, HEADER, ROWS, TABLE, Writer, table_digest
from cofre.core.backup.rows import BYTES, Row, TableShape, encode_rows
from cofre.errors import BackupError
from cofre.service.backup.ports import NoProgress, Progress, StoreSnapshot

BATCH = 2000  # rows a frame holds at most
FRAME_BYTES = 8 * 1024 * 1024  # ... and about this many bytes of values: a frame is held whole
_BYTES_FETCH = 100  # rows read at a time from tables with byte columns (segments are large)
_LEVEL = 3
AUDIT_CHAIN_TABLE = "audit_chain"  # its one row: the head of the hash chain


@dataclass
class BackupSummary:
    """What a backup holds: rows per table, bytes, the audit chain head."""

    backend: str
    schema_version: int
    created_at: str
    tables: dict[str, int] = field(default_factory=dict)
    size: int = 0
    audit_head: dict[str, Any] | None = None

    @property
    def rows(self) -> int:
        return sum(self.tables.values())


def audit_head(table: TableShape, rows: list[Row]) -> dict[str, Any] | None:
    """The chain head held by the audit_chain table's row, as the summary shows it."""
    if table.name != AUDIT_CHAIN_TABLE or not rows or "head_seq" not in table.columns:
        return None
    row = dict(zip(table.columns, rows[0], strict=True))
    head_hash = row.get("head_hash")
    return {
        "seq": int(row["head_seq"]),
        "hash": bytes(head_hash).hex() if head_hash is not None else None,
    }


def _frames(snapshot: StoreSnapshot, table: TableShape, batch: int) -> Iterator[list[Row]]:
    """The table's rows in frames of at most ``batch`` rows and about ``FRAME_BYTES`` of
    byte values (a table of large blobs, such as audit segments, is read a few rows at a
    time: memory stays bounded by a frame)."""
    blobs = [i for i, kind in enumerate(table.kinds) if kind == BYTES]
    if not blobs:
        yield from snapshot.rows(table, batch)
        return
    pending: list[Row] = []
    size = 0
    for rows in snapshot.rows(table, min(batch, _BYTES_FETCH)):
        for row in rows:
            pending.append(row)
            size += sum(len(row[i]) for i in blobs if row[i] is not None)
            if len(pending) >= batch or size >= FRAME_BYTES:
                yield pending
                pending, size = [], 0
    if pending:
        yield pending


def write_backup(
    snapshot: StoreSnapshot,
    write: Callable[[bytes], object],
    *,
    created_at: datetime,
    cofre_version: str,
    progress: Progress | None = None,
    batch: int = BATCH,
) -> BackupSummary:
    """Write ``snapshot`` through ``write``, ``batch`` rows a frame; what was written."""
    progress = progress or NoProgress()
    tables = snapshot.tables()
    counts = {t.name: snapshot.count(t) for t in tables}
    summary = BackupSummary(snapshot.backend, snapshot.schema_version, created_at.isoformat())
    out = Writer(write)
    out.put_json(
        HEADER,
        {
            "format": FORMAT_VERSION,
            "cofre_version": cofre_version,
            "created_at": summary.created_at,
            "backend": snapshot.backend,
            "schema_version": snapshot.schema_version,
            "migrations": [list(m) for m in snapshot.migrations],
            "tables": [t.to_json() for t in tables],
            "rows": counts,
        },
    )
    progress.start(sum(counts.values()))
    compressor = zstandard.ZstdCompressor(level=_LEVEL)
    digests: dict[str, dict[str, Any]] = {}
    for table in tables:
        progress.table(table.name, counts[table.name])
        out.put_json(TABLE, {"table": table.name, "rows": counts[table.name]})
        hashes: list[bytes] = []
        done = 0
        for rows in _frames(snapshot, table, batch):
            hashes.append(out.put(ROWS, encode_rows(table, rows, compressor)))
            summary.audit_head = audit_head(table, rows) or summary.audit_head
            done += len(rows)
            progress.advance(len(rows))
        if done != counts[table.name]:  # one snapshot: it cannot move
            raise BackupError(f"table {table.name} changed while it was read")
        digest = table_digest(hashes)
        out.put_json(END, {"table": table.name, "rows": done, "sha256": digest})
        digests[table.name] = {"rows": done, "sha256": digest}
        summary.tables[table.name] = done
    out.trailer({"tables": digests, "rows": summary.rows, "audit_head": summary.audit_head})
    summary.size = out.size
    return summary
