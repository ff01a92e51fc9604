"""The backup file format: rows round-trip exactly, and every damage is found and placed.

Checked exhaustively on a small backup: each single flipped byte and each truncation is
refused, naming a byte offset (and the table, inside one)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from cofre.core.backup.format import HASH_LEN, MAGIC, ROWS, frame
from cofre.core.backup.rows import BYTES, INT, TEXT, Row, TableShape
from cofre.errors import BackupError
from cofre.service.backup.read import read_backup
from cofre.service.backup.write import write_backup

ACCOUNTS = TableShape("accounts", ("account_id", "created_at"), (TEXT, INT), ("account_id",))
KEYS = TableShape(
    "keys", ("key_id", "wrapped", "deleted_at", "note"), (TEXT, BYTES, INT, TEXT), ("key_id",)
)
CHAIN = TableShape("audit_chain", ("id", "head_seq", "head_hash"), (INT, INT, BYTES), ("id",))


class FakeSnapshot:
    backend = "sqlite"
    schema_version = 8

    def __init__(self, data: dict[str, list[Row]]) -> None:
        self.data = data
        self.migrations = [(n, f"000{n}_x.sql") for n in range(1, 9)]

    def tables(self) -> list[TableShape]:
        return [ACCOUNTS, KEYS, CHAIN]

    def count(self, table: TableShape) -> int:
        return len(self.data[table.name])

    def rows(self, table: TableShape, batch: int) -> Iterator[list[Row]]:
        rows = self.data[table.name]
        for at in range(0, len(rows), batch):
            yield rows[at : at + batch]


DATA: dict[str, list[Row]] = {
    "accounts": [("111122223333", 1_700_000_000_000_000), ("444455556666", -5)],
    "keys": [
        (f"key-{n:02d}", bytes([n]) * (n % 5), None if n % 3 else n * 10**15, "ü\u2603" * (n % 2))
        for n in range(12)
    ],
    "audit_chain": [(1, 42, b"\x00\xff" * 16)],
}


def _backup(data: dict[str, list[Row]] = DATA, batch: int = 5) -> bytes:
    out = io.BytesIO()
    write_backup(FakeSnapshot(data), out.write, created_at=datetime(2026, 12, 7, tzinfo=UTC),
                 cofre_version="0.1.0", batch=batch)  # fmt: skip
    return out.getvalue()


def _read(blob: bytes) -> tuple[dict[str, list[Row]], object]:
    seen: dict[str, list[Row]] = {}
    summary = read_backup(
        io.BytesIO(blob).read, on_rows=lambda t, rows: seen.setdefault(t.name, []).extend(rows)
    )
    return seen, summary


def _frames(blob: bytes) -> list[tuple[int, bytes]]:
    """(offset, whole frame) of each frame."""
    out, at = [], len(MAGIC)
    while at < len(blob):
        end = at + 5 + int.from_bytes(blob[at + 1 : at + 5], "big") + HASH_LEN
        out.append((at, blob[at:end]))
        at = end
    return out


def test_rows_round_trip_exactly() -> None:
    seen, summary = _read(_backup())
    assert seen == DATA
    assert summary.tables == {"accounts": 2, "keys": 12, "audit_chain": 1}  # type: ignore[attr-defined]
    assert summary.audit_head == {"seq": 42, "hash": ("00ff" * 16)}  # type: ignore[attr-defined]


def test_an_empty_table_and_one_frame_per_batch() -> None:
    blob = _backup({**DATA, "keys": []}, batch=1)
    seen, _ = _read(blob)
    assert "keys" not in seen and seen["accounts"] == DATA["accounts"]


def test_every_flipped_byte_is_found_and_placed() -> None:
    blob = _backup()
    for at in range(len(blob)):
        damaged = bytearray(blob)
        damaged[at] ^= 0x01
        with pytest.raises(BackupError) as caught:
            _read(bytes(damaged))
        message = caught.value.message
        if at < len(MAGIC):
            assert "not a Cofre backup" in message
        else:
            assert "byte offset" in message or "ends" in message, (at, message)


def test_a_flipped_byte_in_rows_names_the_table_and_rows() -> None:
    blob = _backup()
    frames = _frames(blob)
    start = next(n for n, (_, f) in enumerate(frames) if f[:1] == b"T" and b'"keys"' in f)
    second = frames[start + 2]  # the keys table's second rows frame: rows 5 to 9
    assert second[1][:1] == ROWS
    at = second[0] + 12
    damaged = bytearray(blob)
    damaged[at] ^= 0x80
    with pytest.raises(BackupError, match=rf"byte offset {second[0]}: .*table keys, rows from 5"):
        _read(bytes(damaged))


def test_every_truncation_is_refused() -> None:
    blob = _backup()
    for end in range(len(blob)):
        with pytest.raises(BackupError):
            _read(blob[:end])


def test_bytes_after_the_trailer_are_refused() -> None:
    with pytest.raises(BackupError, match="follow the trailer"):
        _read(_backup() + b"\x00")


def test_frames_swapped_inside_a_table_are_found() -> None:
    blob = _backup()
    frames = [f for _, f in _frames(blob)]
    rows = [n for n, f in enumerate(frames) if f[:1] == ROWS]
    first, second = rows[2], rows[3]  # two frames of the keys table
    frames[first], frames[second] = frames[second], frames[first]
    with pytest.raises(BackupError, match="missing, doubled or moved"):
        _read(MAGIC + b"".join(frames[:]))


def test_a_forged_frame_with_a_good_checksum_still_breaks_the_file_checksum() -> None:
    blob = _backup()
    trailer_at = blob.rindex(b"Z")  # the trailer frame's kind byte
    forged = frame(b"Z", blob[trailer_at + 5 : -HASH_LEN].replace(b'"rows":15', b'"rows":16'))
    with pytest.raises(BackupError):
        _read(blob[:trailer_at] + forged)


def test_a_newer_format_is_refused_by_name() -> None:
    blob = _backup()
    header_end = len(MAGIC) + 5 + int.from_bytes(blob[len(MAGIC) + 1 : len(MAGIC) + 5], "big")
    payload = blob[len(MAGIC) + 5 : header_end].replace(b'"format":1', b'"format":9')
    rebuilt = MAGIC + frame(b"H", payload) + blob[header_end + HASH_LEN :]
    with pytest.raises(BackupError, match="format version 9"):
        _read(rebuilt)


def test_large_blobs_are_framed_by_size_and_round_trip() -> None:
    big = {**DATA, "keys": [(f"key-{n:02d}", bytes([n]) * 2**20, None, "") for n in range(20)]}
    blob = _backup(big, batch=2000)
    frames = _frames(blob)
    start = next(n for n, (_, f) in enumerate(frames) if f[:1] == b"T" and b'"keys"' in f)
    sizes = []
    for _, f in frames[start + 1 :]:
        if f[:1] != ROWS:
            break
        sizes.append(int.from_bytes(f[5:9], "big"))  # each frame's row count
    assert sizes == [8, 8, 4]  # about 8 MiB of values a frame
    seen, _ = _read(blob)
    assert seen["keys"] == big["keys"]
