"""``cofre backup``, ``cofre backup verify`` and ``cofre restore`` (docs/formats/backup.md,
ADR 17).

``cofre backup`` reads a store while its servers serve: one read-only snapshot, no root
key needed, nothing written but the audit journals brought into the chain first (with the
root key already there, if any). ``cofre restore`` makes a new store; the operator brings
the root of trust (``--root-key-file`` copies a root key file in, once it has been
checked against the backup).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import BinaryIO

import click

from cofre.cli.progress import progress_bar
from cofre.config import Settings
from cofre.errors import CofreError
from cofre.service.backup.read import read_backup
from cofre.service.backup.restore import restore_backup
from cofre.service.backup.trust import existing_root_key, requires_root_key
from cofre.service.backup.write import BackupSummary, write_backup
from cofre.service.clock import SystemClock
from cofre.service.seal.files import ROOT_KEY_FILE, write_new_key
from cofre.stores import (
    open_existing_storage,
    open_loader,
    open_snapshot,
    settle_audit_journals,
)


def _fail(error: CofreError, what: str) -> None:
    click.echo(f"cofre: {what}: {error.message}", err=True)
    sys.exit(1)


def _size(n: int) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def _report(summary: BackupSummary, verb: str, where: Path) -> None:
    tables = sum(1 for _ in summary.tables)
    click.echo(
        f"{verb} {where}: {summary.rows} rows in {tables} tables, {_size(summary.size)}"
        f" (schema version {summary.schema_version}, from {summary.backend})"
    )
    held = [f"{name} {rows}" for name, rows in summary.tables.items() if rows]
    if held:
        click.echo("  " + ", ".join(held))
    head = summary.audit_head
    if head is not None:
        click.echo(f"  audit chain head: seq {head['seq']}, hash {head['hash']}")


@contextmanager
def _new_file(path: Path) -> Iterator[BinaryIO]:
    """``path``, written whole or not at all: a ``.partial`` file renamed at the end,
    readable by its owner only (the backup holds the trail and wrapped secrets)."""
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb", buffering=1024 * 1024) as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        if path.exists():
            raise FileExistsError(path)
        os.rename(partial, path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


_DATA_DIR = click.option(
    "--data-dir",
    default="./data",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The server's data directory (the SQLite database, the audit journals).",
)
_DATABASE = click.option(
    "--database", default=None, help="postgresql://... (default: SQLite in the data dir)."
)


@click.group(invoke_without_command=True)
@_DATA_DIR
@_DATABASE
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The backup file to write (an existing file is never overwritten).",
)
@click.pass_context
def backup(ctx: click.Context, data_dir: Path, database: str | None, output: Path | None) -> None:
    """Write a consistent snapshot of the store to one file, while servers serve."""
    if ctx.invoked_subcommand is not None:
        return
    if output is None:
        raise click.UsageError("give --output FILE (or: cofre backup verify FILE)")
    if output.exists():
        click.echo(f"cofre: {output} exists; not overwriting", err=True)
        sys.exit(1)
    settings = Settings.with_environment(data_dir=data_dir.resolve(), database=database)
    clock = SystemClock()
    try:
        storage = open_existing_storage(settings, clock, read_only=False, current=False)
        try:
            note = settle_audit_journals(settings, storage, clock)
        finally:
            storage.close()
        with open_snapshot(settings) as snapshot, _new_file(output) as out:
            with progress_bar("backing up") as progress:
                summary = write_backup(
                    snapshot,
                    out.write,
                    created_at=clock.now(),
                    cofre_version=version("cofre"),
                    progress=progress,
                )
    except CofreError as error:
        _fail(error, "backup failed")
    _report(summary, "backup written to", output)
    click.echo(f"  {note}")


@backup.command()
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
def verify(file: Path) -> None:
    """Check a backup without restoring it: every frame, table and the whole file.

    Exit status 0 when intact; 1 naming the place of the first damage otherwise.
    """
    try:
        with open(file, "rb") as source, progress_bar("verifying") as progress:
            summary = read_backup(source.read, progress=progress)
    except CofreError as error:
        click.echo(f"backup DAMAGED: {error.message}")
        sys.exit(1)
    _report(summary, "backup intact:", file)


@click.command()
@click.option(
    "--input",
    "source",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="The backup file.",
)
@click.option(
    "--data-dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="The new server's data directory (with SQLite, it must hold no database yet).",
)
@_DATABASE
@click.option(
    "--root-key-file",
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Copy this root key file into the new data directory, once checked against the"
    " backup (without it, bring the root key yourself).",
)
def restore(source: Path, data_dir: Path, database: str | None, root_key_file: Path | None) -> None:
    """Rebuild a store from a backup, into a new data directory or an empty database."""
    settings = Settings.with_environment(data_dir=data_dir.resolve(), database=database)
    target_key = settings.data_dir / ROOT_KEY_FILE
    try:
        if root_key_file is not None:
            if target_key.exists():
                raise click.UsageError(f"{target_key} exists already; not replacing it")
            root: bytes | None = _read_key_file(root_key_file)
        else:
            root = existing_root_key(settings.data_dir, settings.root_key_b64)
        check = requires_root_key(root) if root is not None else None
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)  # the new server's
        with open(source, "rb") as read, open_loader(settings) as loader:
            with progress_bar("restoring") as progress:
                summary = restore_backup(read.read, loader, progress=progress, check_meta=check)
        if root_key_file is not None and root is not None:
            _write_key(target_key, root)
    except CofreError as error:
        _fail(error, "restore failed")
    _report(summary, "restored", settings.data_dir if database is None else Path("the database"))
    if root is None:
        click.echo(
            "  the restored store opens with the seal of the store it was backed up from:"
            " its unseal keys, HSM key or KMS key -- or, on the file seal, its root key"
            f" (COFRE_ROOT_KEY, or {ROOT_KEY_FILE} mode 0600 in the data directory)"
        )
    elif root_key_file is not None:
        click.echo(f"  root key checked against the backup and copied to {target_key}")
    else:
        click.echo("  the root key found here opens the restored store")


def _read_key_file(path: Path) -> bytes:
    """A root key file: 32 bytes, readable by its owner only (as ``cofre serve`` wants)."""
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise click.UsageError(f"{path} must not be readable by group or others (mode {mode:o})")
    key = path.read_bytes()
    if len(key) != 32:
        raise click.UsageError(f"{path} must hold 32 bytes")
    return key


def _write_key(path: Path, key: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_new_key(path, key)
