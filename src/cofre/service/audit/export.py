"""Exports of the trail for a SIEM: JSON Lines, or gzip files in CloudTrail's S3 layout.

An export covers a contiguous stretch of the chain (``audit_seq_range``: from the first
event at or after ``since`` to the last one before ``until``), so it can be verified
offline: the manifest written next to the events holds the seq range, the chain hash
before the first event and after the last, the signed digests that end inside the range
and the public key (docs/formats/audit-chain.md).

* ``jsonl``: ``cofre-audit-<first>-<last>.jsonl``, one record per line, each line exactly
  the stored canonical bytes (so line i is seq first+i and its hash can be recomputed).
* ``cloudtrail``: ``AWSLogs/<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/
  <account>_CloudTrail_<region>_<yyyymmddThhmmZ>_<unique>.json.gz``, each holding
  ``{"Records": [...]}`` for one account, Region and five minutes, as CloudTrail delivers.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from cofre.core.audit.chain import ChainedEvent, SignedDigest
from cofre.service.audit.reads import AuditReader
from cofre.service.audit.signing_key import PUBLIC_KEY_META
from cofre.service.ports import Storage

FORMATS = ("jsonl", "cloudtrail")
_BUCKET_SECONDS = 300
_KEEP_OPEN = 3  # buckets a file stays open after newer events arrive (late arrivals)


@dataclass
class ExportSummary:
    files: list[Path] = field(default_factory=list)
    events: int = 0
    first_seq: int | None = None
    last_seq: int | None = None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _manifest(
    storage: Storage, trail: AuditReader, summary: ExportSummary, last_hash: bytes
) -> dict[str, Any]:
    first, last = summary.first_seq or 0, summary.last_seq or 0
    with storage.read() as tx:
        state = tx.audit_chain_state()
        before = tx.audit_events_after(first - 2, 1, first - 1)
        pem = tx.get_meta(PUBLIC_KEY_META)
    if first - 1 == state.anchor.seq:
        previous = state.anchor.hash
    else:
        previous = before[0].hash if before else b""
    digests: Iterable[SignedDigest] = (d for d in trail.digests() if first <= d.last_seq <= last)
    return {
        "format": "cofre-audit-export/v1",
        "firstSeq": first,
        "lastSeq": last,
        "events": summary.events,
        "previousHash": previous.hex(),
        "lastHash": last_hash.hex(),
        "digests": [
            {
                "firstSeq": d.first_seq,
                "lastSeq": d.last_seq,
                "headHash": d.head_hash.hex(),
                "signedAt": d.signed_at.isoformat(),
                "signature": _b64(d.signature),
            }
            for d in digests
        ],
        "publicKey": pem,
    }


def _write_new(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "xb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())


def export_trail(
    trail: AuditReader,
    storage: Storage,
    out_dir: Path,
    *,
    fmt: str = "jsonl",
    since: datetime | None = None,
    until: datetime | None = None,
) -> ExportSummary:
    """Write the events of ``[since, until)`` under ``out_dir``; never overwrites a file."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    trail.settle()
    with storage.read() as tx:
        span = tx.audit_seq_range(since, until)
    summary = ExportSummary()
    if span is None:
        return summary
    first, last = span
    summary.first_seq, summary.last_seq = first, last
    events = trail.events(first - 1, last)
    name = f"cofre-audit-{first:012d}-{last:012d}"
    if fmt == "jsonl":
        path = out_dir / f"{name}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        last_hash = b""
        with open(path, "xb") as out:
            for event in events:
                out.write(event.body + b"\n")
                last_hash = event.hash
                summary.events += 1
            out.flush()
            os.fsync(out.fileno())
        summary.files.append(path)
    else:
        last_hash = _cloudtrail_files(events, out_dir, summary)
    manifest = _manifest(storage, trail, summary, last_hash)
    manifest_path = out_dir / f"{name}.manifest.json"
    _write_new(manifest_path, json.dumps(manifest, indent=2).encode() + b"\n")
    summary.files.append(manifest_path)
    return summary


class _GzipRecords:
    """One CloudTrail log file being written: ``{"Records":[`` ... ``]}``."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._raw: IO[bytes] = open(path, "xb")
        self._gz = gzip.GzipFile(fileobj=self._raw, mode="wb", mtime=0)
        self._gz.write(b'{"Records":[')
        self._first = True

    def add(self, body: bytes) -> None:
        self._gz.write(body if self._first else b"," + body)
        self._first = False

    def close(self) -> None:
        self._gz.write(b"]}")
        self._gz.close()
        self._raw.flush()
        os.fsync(self._raw.fileno())
        self._raw.close()


def _cloudtrail_path(out_dir: Path, account: str, region: str, bucket: int, seq: int) -> Path:
    moment = datetime.fromtimestamp(bucket * _BUCKET_SECONDS, UTC)
    account = account or "unknown"
    region = region or "unknown"
    name = f"{account}_CloudTrail_{region}_{moment:%Y%m%dT%H%MZ}_{seq:016X}.json.gz"
    return (
        out_dir / "AWSLogs" / account / "CloudTrail" / region
        / f"{moment:%Y}" / f"{moment:%m}" / f"{moment:%d}" / name
    )  # fmt: skip


def _cloudtrail_files(
    events: Iterable[ChainedEvent], out_dir: Path, summary: ExportSummary
) -> bytes:
    """Write the files; returns the hash of the last event."""
    open_files: dict[tuple[str, str, int], _GzipRecords] = {}
    last_hash = b""
    try:
        for event in events:
            index = event.index
            bucket = int(index.event_time.timestamp()) // _BUCKET_SECONDS
            key = (index.account_id, index.region, bucket)
            writer = open_files.get(key)
            if writer is None:
                path = _cloudtrail_path(out_dir, key[0], key[1], bucket, event.seq)
                writer = open_files[key] = _GzipRecords(path)
                summary.files.append(path)
            writer.add(event.body)
            summary.events += 1
            last_hash = event.hash
            for stale in [k for k in open_files if k[2] < bucket - _KEEP_OPEN]:
                open_files.pop(stale).close()
    finally:
        for writer in open_files.values():
            writer.close()
    return last_hash
