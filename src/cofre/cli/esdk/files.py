"""Files for ``cofre encrypt`` / ``cofre decrypt``: which outputs, written how.

Naming follows the official aws-encryption-cli: an output directory receives the input's
file name plus a suffix (``.encrypted`` / ``.decrypted`` unless ``--suffix``); with
``--recursive`` the input tree is replicated below the output directory.

An output file is written to a temporary file in its target directory and renamed into
place only when the whole message has been processed and verified; on any failure the
temporary file is deleted, so no partial plaintext is ever left behind. Without
``--overwrite`` the rename is a hard link that fails if the target exists (no race).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, BinaryIO

import click

from cofre import esdk

STDIO = "-"
PROGRESS_MIN_BYTES = 64 << 20


class OutputExistsError(Exception):
    """The output file exists and overwriting was not allowed."""


@dataclass(frozen=True)
class Job:
    """One message to make: ``source`` / ``target`` are paths, or ``-`` for stdin/stdout."""

    source: str
    target: str


def plan(source: str, target: str, *, recursive: bool, suffix: str) -> list[Job]:
    """The jobs for ``-i source -o target``; click.UsageError for pairings that make no
    sense (a directory without ``-r``, a directory into a file or stdout)."""
    if source == STDIO:
        if target != STDIO and Path(target).is_dir():
            raise click.UsageError("stdin input needs a file or '-' as --output")
        return [Job(STDIO, target)]
    src = Path(source)
    if src.is_dir():
        if not recursive:
            raise click.UsageError(f"{source} is a directory: add --recursive")
        if target == STDIO or (Path(target).exists() and not Path(target).is_dir()):
            raise click.UsageError("a directory input needs a directory as --output")
        files = sorted(p for p in src.rglob("*") if p.is_file() and not p.is_symlink())
        dest = Path(target)
        return [
            Job(str(f), str(dest / f.relative_to(src).parent / (f.name + suffix))) for f in files
        ]
    if not src.is_file():
        raise click.UsageError(f"{source}: no such file or directory")
    if target != STDIO and Path(target).is_dir():
        return [Job(source, str(Path(target) / (src.name + suffix)))]
    return [Job(source, target)]


@contextlib.contextmanager
def open_source(job: Job) -> Iterator[tuple[BinaryIO, int | None]]:
    """The input stream and its length when known."""
    if job.source == STDIO:
        yield sys.stdin.buffer, None
        return
    with open(job.source, "rb") as stream:
        yield stream, os.fstat(stream.fileno()).st_size


@contextlib.contextmanager
def atomic_output(
    target: str, *, overwrite: bool, private: bool, expected: int | None = None
) -> Iterator[BinaryIO]:
    """Write to a temporary file beside ``target``; rename it into place on success.

    ``expected``: the likely output size, reserved up front (appending to ext4 without a
    reservation costs several times more); the file is cut to what was written.
    """
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as stream:
            if expected and hasattr(os, "posix_fallocate"):
                with contextlib.suppress(OSError):
                    os.posix_fallocate(fd, 0, expected)
            yield stream
            stream.flush()
            os.ftruncate(fd, stream.tell())
        if not private:  # mkstemp made it 0600; encrypted output gets the usual umask mode
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        _publish(tmp, path, overwrite)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _publish(tmp: str, path: Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)  # fails if path exists: never clobbers, even in a race
    except FileExistsError as exc:
        raise OutputExistsError(f"{path} exists (use --overwrite)") from exc
    except OSError:  # no hard links on this file system
        if path.exists():
            raise OutputExistsError(f"{path} exists (use --overwrite)") from None
        os.replace(tmp, path)


class Progress:
    """A progress bar on stderr for large inputs, when stderr is a terminal."""

    def __init__(self, stream: BinaryIO, length: int | None, label: str) -> None:
        self._stream = stream
        self._bar: Any = None
        if length is not None and length >= PROGRESS_MIN_BYTES and sys.stderr.isatty():
            self._bar = click.progressbar(length=length, label=label, file=sys.stderr)
            self._bar.__enter__()

    def read(self, n: int = -1) -> bytes:
        data = self._stream.read(n)
        if self._bar is not None:
            self._bar.update(len(data))
        return data

    def close(self) -> None:
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def header_json(header: esdk.MessageHeader) -> dict[str, Any]:
    """The header as the official CLI's metadata prints it (bytes in base64)."""
    edks = sorted(
        header.encrypted_data_keys, key=lambda e: e.provider_id.encode() + e.provider_info
    )
    result: dict[str, Any] = {
        "version": f"{float(header.version)}",
        "type": 128 if header.version == 1 else None,
        "algorithm": official_name(header.suite),
        "message_id": _b64(header.message_id),
        "encryption_context": dict(header.encryption_context),
        "encrypted_data_keys": [
            {
                "key_provider": {
                    "provider_id": _b64(e.provider_id.encode("utf-8")),
                    "key_info": _b64(e.provider_info),
                },
                "encrypted_data_key": _b64(e.ciphertext),
            }
            for e in edks
        ],
        "content_type": int(header.content_type),
        "header_iv_length": header.suite.spec.iv_length if header.version == 1 else None,
        "frame_length": header.frame_length,
        "commitment_key": _b64(header.suite_data) if header.suite_data else None,
    }
    if header.authenticated_only_context:
        result["authenticated_only_context"] = dict(header.authenticated_only_context)
    return result


def official_name(suite: esdk.AlgorithmSuite) -> str:
    """The official SDK's name for a suite (it calls the identity-KDF ones ``..._TAG16``)."""
    return suite.name.removesuffix("_NO_KDF")


class Metadata:
    """JSON lines, one per processed file, to a file (appended, or truncated with
    ``--overwrite-metadata``) or stdout; nothing when suppressed."""

    def __init__(self, target: str | None, truncate: bool) -> None:
        self._stream: IO[str] | None = None
        self._close = False
        if target == STDIO:
            self._stream = sys.stdout
        elif target is not None:
            self._stream = open(target, "w" if truncate else "a", encoding="utf-8")
            self._close = True

    def write(self, record: dict[str, Any]) -> None:
        if self._stream is not None:
            self._stream.write(json.dumps(record, sort_keys=True) + "\n")
            self._stream.flush()

    def close(self) -> None:
        if self._close and self._stream is not None:
            self._stream.close()
