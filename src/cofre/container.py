"""Wires the service layer together: storage, root key, caches, use cases, background work."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from cofre.config import Settings
from cofre.core.crypto import Cipher, Random
from cofre.core.kms.keys import Key
from cofre.service.audit.models import botocore_model
from cofre.service.audit.trail import AuditTrail
from cofre.service.authz.authorizer import PolicyAuthorizer
from cofre.service.authz.policy_store import PolicyStore
from cofre.service.blocking import GuardedStorage
from cofre.service.cache.changefeed import ChangeFollower
from cofre.service.cache.keycache import KeyCache
from cofre.service.calls import MutatingCalls
from cofre.service.clock import OffsetClock, SystemClock
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
from cofre.service.rootkey import load_root_key, verify_root_key
from cofre.storage.audit_journal import JournalFiles, journal_dir

log = logging.getLogger(__name__)


def open_storage(url: str, clock: Clock) -> Storage:
    if url.startswith(("postgresql://", "postgres://")):
        from cofre.storage.postgres import PostgresStorage

        storage: Storage = PostgresStorage(url, clock.now)
    elif url.startswith("sqlite:///"):
        from cofre.storage.sqlite import SqliteStorage

        storage = SqliteStorage(Path(url[len("sqlite:///") :]), clock.now)
    else:
        raise ValueError(f"Unsupported database URL scheme: {url.split(':', 1)[0]}")
    storage.migrate()
    return storage


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
            except Exception:
                log.exception("background jobs failed; retrying at the next interval")

    def close(self) -> None:
        self._stop.set()
        self.follower.stop()
        self.deliveries.stop()
        if self._jobs is not None:
            self._jobs.join(timeout=5)
        self.audit.close()
        self.storage.close()
