"""Tampering with a stored audit trail behind Cofre's back, as an attacker with write access
to the database would: read the records out of the segment rows, change the list, write
it back as segments. The segment layout is written out here a second time (from
docs/formats/audit-chain.md), not imported, so the tests also check the format."""

from __future__ import annotations

import json
import sqlite3
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import zstandard

Frame = tuple[int, bytes, bytes, bytes]  # seq, body, hash, mac
Edit = Callable[[list[Frame]], list[Frame]]
_HEADER = struct.Struct(">QI")


def decode(data: bytes) -> list[Frame]:
    assert data[0] in (1, 2, 3), "segment version 1 (zlib), 2 (stored) or 3 (zstd)"
    if data[0] == 3:
        raw = zstandard.ZstdDecompressor().decompress(data[1:])
    else:
        raw = zlib.decompress(data[1:]) if data[0] == 1 else data[1:]
    frames: list[Frame] = []
    offset = 0
    while offset < len(raw):
        seq, length = _HEADER.unpack_from(raw, offset)
        offset += _HEADER.size
        hash_, mac = raw[offset : offset + 32], raw[offset + 32 : offset + 64]
        offset += 64
        frames.append((seq, raw[offset : offset + length], hash_, mac))
        offset += length
    return frames


def encode(frames: list[Frame]) -> bytes:
    raw = b"".join(_HEADER.pack(s, len(b)) + h + m + b for s, b, h, m in frames)
    return b"\x03" + zstandard.ZstdCompressor().compress(raw)


def _rewrite(cursor: Any, mark: str, edit: Edit) -> None:
    segments = cursor.execute(
        "SELECT first_seq, first_time, last_time, data FROM audit_segments ORDER BY first_seq"
    ).fetchall()
    spans = cursor.execute(
        "SELECT DISTINCT account_id, region FROM audit_segment_accounts"
    ).fetchall()
    frames = [frame for row in segments for frame in decode(bytes(row[3]))]
    changed = edit(frames)
    cursor.execute("DELETE FROM audit_segment_accounts")
    cursor.execute("DELETE FROM audit_segments")
    if not changed:
        return
    first, last = changed[0][0], changed[-1][0]
    low = min(row[1] for row in segments)
    high = max(row[2] for row in segments)
    marks = ", ".join([mark] * 5)
    cursor.execute(
        "INSERT INTO audit_segments (first_seq, last_seq, first_time, last_time, data)"
        f" VALUES ({marks})",
        (first, last, low, high, encode(changed)),
    )
    for account, region in spans:
        cursor.execute(
            "INSERT INTO audit_segment_accounts (account_id, region, first_seq, first_time,"
            f" last_time) VALUES ({marks})",
            (account, region, first, low, high),
        )


def tamper(data_dir: Path, database: str | None, edit: Edit) -> None:
    """Apply ``edit`` to the stored records of the trail in ``database`` (PostgreSQL URL)
    or, without one, in the SQLite database of ``data_dir``."""
    if database:
        with psycopg.connect(database) as conn, conn.cursor() as cursor:
            _rewrite(cursor, "%s", edit)
        return
    db = sqlite3.connect(data_dir / "cofre.db")
    with db:
        _rewrite(db.cursor(), "?", edit)
    db.close()


def replace_in_body(seq: int, old: bytes, new: bytes) -> Edit:
    def edit(frames: list[Frame]) -> list[Frame]:
        return [(s, b.replace(old, new) if s == seq else b, h, m) for s, b, h, m in frames]

    return edit


def delete(*seqs: int) -> Edit:
    return lambda frames: [f for f in frames if f[0] not in seqs]


def delete_from(seq: int) -> Edit:
    return lambda frames: [f for f in frames if f[0] < seq]


def swap(a: int, b: int) -> Edit:
    def edit(frames: list[Frame]) -> list[Frame]:
        by_seq = {f[0]: f for f in frames}
        fa, fb = by_seq[a], by_seq[b]
        by_seq[a], by_seq[b] = (a, *fb[1:]), (b, *fa[1:])
        return [by_seq[s] for s in sorted(by_seq)]

    return edit


def insert_copy(at: int, of: int) -> Edit:
    """Shift the records from ``at`` on by one and put a copy of record ``of`` at ``at``."""

    def edit(frames: list[Frame]) -> list[Frame]:
        copy = next(f for f in frames if f[0] == of)
        shifted = [(s + 1 if s >= at else s, b, h, m) for s, b, h, m in frames]
        return sorted([*shifted, (at, *copy[1:])], key=lambda f: f[0])

    return edit


def _rows(data_dir: Path, database: str | None, statement: str) -> list[Any]:
    if database:
        with psycopg.connect(database) as conn:
            return conn.execute(statement.encode()).fetchall()
    db = sqlite3.connect(data_dir / "cofre.db")
    try:
        return db.execute(statement).fetchall()
    finally:
        db.close()


def stored_bodies(data_dir: Path, database: str | None) -> list[bytes]:
    """Every stored record's bytes, in seq order."""
    rows = _rows(data_dir, database, "SELECT data FROM audit_segments ORDER BY first_seq")
    return [frame[1] for row in rows for frame in decode(bytes(row[0]))]


def stored_events(data_dir: Path, database: str | None) -> list[dict[str, Any]]:
    return [json.loads(body) for body in stored_bodies(data_dir, database)]


_BLOCK_SQLITE = (
    "CREATE TRIGGER cofre_test_audit_full BEFORE INSERT ON audit_segments"
    " BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
)
_BLOCK_POSTGRES = (
    "CREATE OR REPLACE FUNCTION cofre_test_audit_full() RETURNS trigger AS $$"
    " BEGIN RAISE EXCEPTION 'could not extend file: No space left on device'; END $$"
    " LANGUAGE plpgsql",
    "CREATE TRIGGER cofre_test_audit_full BEFORE INSERT ON audit_segments"
    " FOR EACH ROW EXECUTE FUNCTION cofre_test_audit_full()",
)


def block_audit(data_dir: Path, database: str | None, blocked: bool) -> None:
    """Make every append to the trail fail in the database, as a full disk would (only
    the trail's table: the rest of the database stays writable), or undo that."""
    if database:
        with psycopg.connect(database, autocommit=True) as conn:
            if blocked:
                for statement in _BLOCK_POSTGRES:
                    conn.execute(statement.encode())
            else:
                conn.execute(b"DROP TRIGGER cofre_test_audit_full ON audit_segments")
        return
    db = sqlite3.connect(data_dir / "cofre.db")
    with db:
        db.execute(_BLOCK_SQLITE if blocked else "DROP TRIGGER cofre_test_audit_full")
    db.close()
