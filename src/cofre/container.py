"""Wires the service layer together: storage, root key, caches, use cases, background work."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from cofre.config import Settings
from cofre.core.crypto import Cipher, Random, derive_key
from cofre.core.kms.keys import Key
from cofre.errors import CofreError
from cofre.service.audit.ingest import JournalIngester
from cofre.service.audit.models import botocore_model
from cofre.service.audit.reads import AuditReader
from cofre.service.audit.signing import DigestSigner
from cofre.service.audit.signing_key import SigningKey
from cofre.service.audit.trail import AUDIT_MAC_LABEL, AuditTrail
from cofre.service.authz.authorizer import PolicyAuthorizer
from cofre.service.authz.policy_store import PolicyStore
from cofre.service.background import report_failure
from cofre.service.backup.trust import existing_root_key
from cofre.service.blocking import GuardedStorage
from cofre.service.cache.changefeed import ChangeFollower
from cofre.service.cache.keycache import KeyCache
from cofre.service.calls import MutatingCalls
from cofre.service.clock import OffsetClock, SystemClock
from cofre.service.health import Health
from cofre.service.iam.accounts import AccountService
from cofre.service.iam.policies import IamPolicies
from cofre.service.iam.roles import IamRoles
from cofre.service.iam.users import IamUsers
from cofre.service.kms.aliases import AliasService
from cofre.service.kms.asymmetric import AsymmetricService
from cofre.service.kms.crypto import CryptoService
from cofre.service.kms.grants import GrantService, GrantTokens
from cofre.service.kms.imports import ImportService
from cofre.service.kms.key_usage import KeyUsageQueries
from cofre.service.kms.keys import KeyService
from cofre.service.kms.resolver import KeyResolver
from cofre.service.params.delivery import DeliverySettings, DeliveryWorker
from cofre.service.params.labels import ParamLabels
from cofre.service.params.outbox import WebhookOutbox
from cofre.service.params.policy_jobs import ParamPolicyJobs
from cofre.service.params.reads import ParamQueries
from cofre.service.params.secure import SecureStrings
from cofre.service.params.tags import ParamTags
from cofre.service.params.webhooks import WebhookService
from cofre.service.params.writes import ParamService
from cofre.service.ports import Clock, Storage
from cofre.service.randomness import RandomPool
from cofre.service.rootkey import (
    check_root_key,
    load_root_key,
    stored_check,
    verify_root_key,
)
from cofre.storage.audit_journal import JournalFiles, journal_dir
from cofre.storage.migrate import latest_version

if TYPE_CHECKING:
    from cofre.storage.load import PostgresLoader, SqliteLoader
    from cofre.storage.snapshot import PostgresSnapshot, SqliteSnapshot

log = logging.getLogger(__name__)


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

    def close(self) -> None:
        self.storage.close()


def open_existing(settings: Settings) -> ExistingStore:
    """Open an initialised store for reading; ``NotAStoreError`` (or ``RootKeyError``)
    for anything else -- an empty directory, a database Cofre never started on, a
    schema older than this code's, a missing or wrong root key -- without writing."""
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
            raise NotAStoreError("the store was never started: it has no root key check")
        key = load_root_key(settings.data_dir, settings.root_key_b64, os.urandom, create=False)
        root = Cipher(key)
        check_root_key(stored, root)
        journal = JournalFiles(journal_dir(settings.data_dir), flush=False)
        reads = AuditReader(storage, derive_key(root, AUDIT_MAC_LABEL))
        signing = DigestSigner(storage, SystemClock(), SigningKey(root, os.urandom))
        backlog = JournalIngester(journal, storage, _no_append, flush=False).backlog()
        return ExistingStore(storage, reads, signing, backlog)
    except BaseException:
        storage.close()
        raise


def _no_append(_tx: object, _batch: object) -> None:
    raise AssertionError("a reader appends nothing")


def _delivery_settings(settings: Settings) -> DeliverySettings:
    return DeliverySettings(
        poll_interval=settings.webhook_poll_interval,
        lease=settings.webhook_lease,
        timeout=settings.webhook_timeout,
        retry_base=settings.webhook_retry_base,
        retry_cap=settings.webhook_retry_cap,
        max_age=settings.webhook_max_age,
    )


@dataclass
class Services:
    settings: Settings
    storage: Storage
    clock: Clock
    cache: KeyCache
    resolver: KeyResolver
    keys: KeyService
    aliases: AliasService
    crypto: CryptoService
    asymmetric: AsymmetricService
    imports: ImportService
    accounts: AccountService
    authorizer: PolicyAuthorizer
    grants: GrantService
    users: IamUsers
    policies: IamPolicies
    roles: IamRoles
    params: ParamService
    param_labels: ParamLabels
    param_policies: ParamPolicyJobs
    param_queries: ParamQueries
    param_tags: ParamTags
    webhooks: WebhookService
    deliveries: DeliveryWorker
    audit: AuditTrail
    mutating: MutatingCalls
    health: Health
    key_usage: KeyUsageQueries
    follower: ChangeFollower
    _stop: threading.Event
    _jobs: threading.Thread | None = None

    @classmethod
    def build(
        cls,
        settings: Settings,
        clock: Clock | None = None,
        random: Random | None = None,
    ) -> Services:
        if clock is None:
            offset_file = settings.clock_offset_file
            clock = OffsetClock(offset_file) if offset_file is not None else SystemClock()
        random = random or RandomPool()
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        storage: Storage = GuardedStorage(open_storage(settings.database_url, clock))
        root = Cipher(load_root_key(settings.data_dir, settings.root_key_b64, random))
        verify_root_key(storage, root, random)
        cache = KeyCache(storage, root)
        policy_store = PolicyStore(storage)
        cache.add_listener(policy_store)
        tokens = GrantTokens(root, random)

        def aliases_of(key: Key) -> list[str]:
            with storage.read() as tx:
                found = tx.list_aliases(key.account_id, key.region, key.key_id, None, 100)
            return [a.name for a in found]

        authorizer = PolicyAuthorizer(policy_store, clock, tokens.grant_id, aliases_of)
        resolver = KeyResolver(storage, cache, authorizer, clock, random, root)
        secure = SecureStrings(CryptoService(resolver, random), resolver, random)
        outbox = WebhookOutbox(random)
        audit = AuditTrail(
            storage,
            clock,
            random,
            root,
            botocore_model,
            digest_interval=settings.audit_digest_interval,
            retention=settings.audit_retention,
            authorizer=authorizer,
            flush=settings.audit_flush,
            journal=JournalFiles(
                journal_dir(settings.data_dir),
                flush=settings.audit_flush,
                file_bytes=settings.audit_journal_file_bytes,
            ),
        )
        return cls(
            settings=settings,
            storage=storage,
            clock=clock,
            cache=cache,
            resolver=resolver,
            keys=KeyService(resolver, audit),
            aliases=AliasService(resolver),
            crypto=CryptoService(resolver, random),
            asymmetric=AsymmetricService(resolver),
            imports=ImportService(resolver, root, random),
            accounts=AccountService(storage, root, clock, random, authorizer),
            authorizer=authorizer,
            grants=GrantService(resolver, tokens),
            users=IamUsers(storage, cache, authorizer, clock, random, root),
            policies=IamPolicies(storage, cache, authorizer, clock, random),
            roles=IamRoles(storage, cache, authorizer, clock, random, root),
            params=ParamService(storage, authorizer, clock, secure, outbox),
            param_labels=ParamLabels(storage, authorizer, clock, outbox),
            param_policies=ParamPolicyJobs(storage, outbox),
            param_queries=ParamQueries(storage, authorizer, secure),
            param_tags=ParamTags(storage, authorizer),
            webhooks=WebhookService(storage, authorizer, clock, root, random),
            deliveries=DeliveryWorker(storage, root, clock, random, _delivery_settings(settings)),
            audit=audit,
            mutating=MutatingCalls(storage, audit),
            health=Health(storage, clock, audit.problem),
            key_usage=KeyUsageQueries(resolver, audit.reads),
            follower=ChangeFollower(storage, cache, settings.change_poll_interval),
            _stop=threading.Event(),
        )

    def start_background(self) -> None:
        """Follow the change feed; run due deletions and rotations."""
        self.follower.start()
        self.audit.start(ingest=self.settings.audit_ingester)
        self.deliveries.start()
        self._jobs = threading.Thread(target=self._run_jobs, name="cofre-jobs", daemon=True)
        self._jobs.start()

    def _run_jobs(self) -> None:
        while not self._stop.wait(self.settings.job_interval):
            try:
                now = self.clock.now()
                self.keys.run_due_jobs(now)
                self.param_policies.run_due_policies(now)
                with self.storage.write() as tx:
                    tx.prune_changes(now - timedelta(hours=1))
                    tx.delete_expired_credentials(now - timedelta(minutes=5))
            except Exception as exc:
                report_failure(log, "background jobs failed; retrying at the next interval", exc)

    def close(self) -> None:
        self._stop.set()
        self.follower.stop()
        self.deliveries.stop()
        if self._jobs is not None:
            self._jobs.join(timeout=5)
        self.audit.close()
        self.storage.close()


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
    process does, with the root key already there (none is made), for ``cofre backup``
    (ADR 17: the backup holds every call answered before it began). What happened."""
    journals = journal_dir(settings.data_dir)
    if not journals.is_dir():
        return "no audit journal in the data directory"
    waiting = journal_backlog(settings, storage)
    if not waiting:
        return "the audit journals hold nothing the chain lacks"
    root = existing_root_key(settings.data_dir, settings.root_key_b64)
    dialect = "sqlite" if settings.database_url.startswith("sqlite:") else "postgresql"
    stored = stored_check(storage)
    if root is None or stored is None or storage.schema_version() != latest_version(dialect):
        return (
            f"{waiting} bytes of audit journal are not in the chain yet, and not in this backup"
            " (no root key here to bring them in: COFRE_ROOT_KEY or root.key)"
        )
    check_root_key(stored, Cipher(root))  # a wrong key would chain them under a wrong MAC
    trail = AuditTrail(
        storage, clock, RandomPool(), Cipher(root), botocore_model, flush=settings.audit_flush,
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
