"""Opening a store: the backend a URL names (migrated to this code's schema), or an
existing store for a tool that only reads it (``cofre audit verify`` ...). A composition
root, as ``cofre.container`` is: it sees the service layer and the storage backends."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cofre.config import Settings
from cofre.errors import CofreError, SealError
from cofre.service.audit.chain import MacKeySource
from cofre.service.audit.ingest import JournalIngester
from cofre.service.audit.models import botocore_model
from cofre.service.audit.reads import AuditReader
from cofre.service.audit.signing import DigestSigner
from cofre.service.audit.signing_key import SigningKey
from cofre.service.audit.trail import AuditTrail
from cofre.service.clock import SystemClock
from cofre.service.ports import Clock, Storage
from cofre.service.rootkey import check_root_key, stored_check
from cofre.service.seal.files import ROOT_KEY_FILE, FileRoot
from cofre.service.seal.keeper import SealAccess, open_keyring, open_root, read_record
from cofre.service.seal.keyring import Keyring
from cofre.storage.audit_journal import JournalFiles, journal_dir
from cofre.storage.migrate import latest_version

if TYPE_CHECKING:
    from cofre.storage.load import PostgresLoader, SqliteLoader
    from cofre.storage.snapshot import PostgresSnapshot, SqliteSnapshot


def open_storage(url: str, clock: Clock, *, read_only: bool = False) -> Storage:
    """The backend ``url`` names, migrated to this code's schema (``read_only``: as it is,
    refusing every write)."""
    if url.startswith(("postgresql://", "postgres://")):
        from cofre.storage.postgres import PostgresStorage

        storage: Storage = PostgresStorage(url, clock.now, read_only=read_only)
    elif url.startswith("sqlite:///"):
        from cofre.storage.sqlite import SqliteStorage

        storage = SqliteStorage(Path(url[len("sqlite:///") :]), clock.now, read_only=read_only)
    else:
        raise ValueError(f"Unsupported database URL scheme: {url.split(':', 1)[0]}")
    if not read_only:
        storage.migrate()
    return storage


def prepare_data_dir(path: Path) -> None:
    """Make the data directory (0700), or insist on one that others cannot read: refuse
    one they can, and tighten its files to 0600 (stores made by earlier releases) -- all
    but a root key others could read, which the file seal refuses: it may be exposed."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise DataDirError(
            f"the data directory {path} can be read by others (mode {mode:o}): it holds the"
            f" store's keys, wrapped; make it private with `chmod 700 {path}`"
        )
    for entry in path.rglob("*"):
        if entry.name == ROOT_KEY_FILE:
            continue
        current = entry.stat().st_mode & 0o777
        if current & 0o077:
            os.chmod(entry, current & 0o700)


class DataDirError(CofreError):
    """The data directory is not private."""


class NotAStoreError(CofreError):
    """The data directory or database is not an initialised Cofre store."""


@dataclass
class ExistingStore:
    """A store opened by a tool that only reads it (``cofre audit verify``, ``export``,
    ``public-key``): nothing is created, migrated or written."""

    storage: Storage
    reads: AuditReader
    signing: DigestSigner
    journal_backlog: int  # journaled bytes not yet in the chain (a server appends them)
    macs_checked: bool  # False: the seal does not open by itself (shamir): no MAC key

    def close(self) -> None:
        self.storage.close()


def open_existing(settings: Settings) -> ExistingStore:
    """Open an initialised store for reading; ``NotAStoreError`` (or ``SealError``) for
    anything else -- an empty directory, a database Cofre never started on, a schema older
    than this code's, a missing or wrong root key -- without writing."""
    url = settings.database_url
    if settings.database is None and not (settings.data_dir / "cofre.db").exists():
        raise NotAStoreError(
            f"{settings.data_dir} is not the data directory of a Cofre server (no cofre.db)"
        )
    storage = open_storage(url, SystemClock(), read_only=True)
    try:
        dialect = "sqlite" if url.startswith("sqlite:") else "postgresql"
        version, latest = storage.schema_version(), latest_version(dialect)
        if version == 0:
            raise NotAStoreError("the database holds no Cofre store (no schema)")
        if version != latest:
            raise NotAStoreError(
                f"the store's schema is version {version}, this cofre's {latest}: start"
                " `cofre serve` on it once (it migrates) and try again"
            )
        stored = stored_check(storage)
        if stored is None:
            raise NotAStoreError("the store was never started: it has no key check")
        keyring = Keyring()
        keyring.load(_keyring_key(storage, settings))
        check_root_key(stored, keyring)
        macs = MacKeySource(keyring, storage)
        reads = AuditReader(storage, macs.keys)
        signing = DigestSigner(storage, SystemClock(), SigningKey(keyring, os.urandom))
        journal = JournalFiles(journal_dir(settings.data_dir), flush=False)
        backlog = JournalIngester(journal, storage, _no_append, flush=False).backlog()
        return ExistingStore(storage, reads, signing, backlog, True)
    except BaseException:
        storage.close()
        raise


def _keyring_key(storage: Storage, settings: Settings) -> bytes:
    """K, opened the way ``cofre serve`` opens it, without writing anything."""
    access = SealAccess(
        _file_root(settings),
        settings.pkcs11_library,
        settings.pkcs11_pin_file,
        settings.seal_kms_endpoint_url,
    )
    record = read_record(storage)
    if record is None:  # a store made before seals: its root key is the keyring key
        return access.file.read()
    if record.seal_type == "shamir":
        raise SealError(
            "this store is on the shamir seal: offline tools cannot open it without its unseal keys"
        )
    return open_keyring(record, open_root(record, access, repair=False))


def _file_root(settings: Settings) -> FileRoot:
    return FileRoot.in_dir(settings.data_dir, settings.root_key_b64)


def _no_append(_tx: object, _batch: object) -> None:
    raise AssertionError("a reader appends nothing")


# operations: ``cofre backup``, ``restore`` and ``usage`` (ADR 17) --------------------------


def open_existing_storage(
    settings: Settings, clock: Clock, *, read_only: bool, current: bool
) -> Storage:
    """The store a server uses, as it is: nothing created, no migration run; with
    ``current``, only a store of this code's schema (``NotAStoreError`` otherwise)."""
    url = settings.database_url
    if settings.database is None and not (settings.data_dir / "cofre.db").is_file():
        raise NotAStoreError(
            f"{settings.data_dir} is not the data directory of a Cofre server (no cofre.db)"
        )
    storage = open_storage(url, clock, read_only=read_only)
    try:
        version = storage.schema_version()
        latest = latest_version("sqlite" if url.startswith("sqlite:") else "postgresql")
        if version == 0:
            raise NotAStoreError("the database holds no Cofre store (no schema)")
        if current and version != latest:
            raise NotAStoreError(
                f"the store's schema is version {version}, this cofre's {latest}: start"
                " `cofre serve` on it once (it migrates) and try again"
            )
    except BaseException:
        storage.close()
        raise
    return storage


def journal_backlog(settings: Settings, storage: Storage) -> int:
    """Bytes of the data directory's audit journals the chain does not hold yet."""
    journal = JournalFiles(journal_dir(settings.data_dir), flush=False)
    return JournalIngester(journal, storage, _no_append, flush=False).backlog()


def settle_audit_journals(settings: Settings, storage: Storage, clock: Clock) -> str:
    """Bring what the data directory's audit journals hold into the chain, as a serving
    process does, with the keyring key opened the way it opens it (nothing is made), for
    ``cofre backup`` (ADR 17: the backup holds every call answered before it began). What
    happened."""
    journals = journal_dir(settings.data_dir)
    if not journals.is_dir():
        return "no audit journal in the data directory"
    waiting = journal_backlog(settings, storage)
    if not waiting:
        return "the audit journals hold nothing the chain lacks"
    dialect = "sqlite" if settings.database_url.startswith("sqlite:") else "postgresql"
    stored = stored_check(storage)
    missing = f"{waiting} bytes of audit journal are not in the chain yet, and not in this backup"
    if stored is None or storage.schema_version() != latest_version(dialect):
        return f"{missing} (the store is not of this code's schema: start `cofre serve` on it)"
    record = read_record(storage)
    if record is not None and record.seal_type == "shamir":
        return f"{missing} (the store is on the shamir seal: an unsealed server brings them in)"
    if (record is None or record.seal_type == "file") and not _file_root(settings).exists():
        return f"{missing} (no root key here to bring them in: COFRE_ROOT_KEY or root.key)"
    key = _keyring_key(storage, settings)  # a wrong root key: SealError, nothing chained
    keyring = Keyring()
    keyring.load(key)
    check_root_key(stored, keyring)  # a wrong key would chain them under a wrong MAC
    trail = AuditTrail(
        storage, clock, os.urandom, keyring, botocore_model, flush=settings.audit_flush,
        journal=JournalFiles(journals, flush=settings.audit_flush),
    )  # fmt: skip
    assert trail.ingester is not None
    appended = trail.ingester.catch_up()
    return f"{appended} journaled audit records brought into the chain first"


def open_snapshot(settings: Settings) -> SqliteSnapshot | PostgresSnapshot:
    """A consistent read-only view of the whole store (close it)."""
    from cofre.storage.snapshot import PostgresSnapshot, SqliteSnapshot

    url = settings.database_url
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresSnapshot(url)
    return SqliteSnapshot(Path(url[len("sqlite:///") :]))


def open_loader(settings: Settings) -> SqliteLoader | PostgresLoader:
    """An empty store to restore into, in one transaction (close it)."""
    from cofre.storage.load import PostgresLoader, SqliteLoader

    url = settings.database_url
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresLoader(url)
    if not url.startswith("sqlite:///"):
        raise ValueError(f"Unsupported database URL scheme: {url.split(':', 1)[0]}")
    return SqliteLoader(Path(url[len("sqlite:///") :]))
