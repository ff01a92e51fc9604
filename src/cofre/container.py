"""Wires the service layer together: storage, root key, caches, use cases, background work."""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from cofre.config import Settings
from cofre.core.crypto import Random
from cofre.core.kms.keys import Key
from cofre.errors import SealError
from cofre.service.audit.models import botocore_model
from cofre.service.audit.trail import AuditTrail
from cofre.service.authz.authorizer import PolicyAuthorizer
from cofre.service.authz.policy_store import PolicyStore
from cofre.service.background import report_failure
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
from cofre.service.kms.custom_stores import CustomKeyStores
from cofre.service.kms.external import ExternalKeys
from cofre.service.kms.grants import GrantService, GrantTokens
from cofre.service.kms.imports import ImportService
from cofre.service.kms.jobs import KeyJobs
from cofre.service.kms.key_usage import KeyUsageQueries
from cofre.service.kms.keys import KeyService
from cofre.service.kms.multi_region import MultiRegionService
from cofre.service.kms.resolver import KeyResolver
from cofre.service.kms.xks_client import XksClient
from cofre.service.ops.quotas import QuotaGate
from cofre.service.ops.stats import NodeStats
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
from cofre.service.rootkey import stored_check
from cofre.service.seal.files import FileRoot
from cofre.service.seal.keeper import SealAccess, SealControl, SealKeeper, read_record
from cofre.service.seal.keyring import Keyring
from cofre.service.seal.setup import SealChoice, adopt_legacy, initialise
from cofre.service.xks.proxy import XksDirectory, XksProxy
from cofre.service.xks.stores import XksStores
from cofre.storage.audit_journal import JournalFiles, journal_dir
from cofre.storage.buckets import SharedBuckets, quota_buckets
from cofre.stores import open_storage

log = logging.getLogger(__name__)


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
    keyring: Keyring
    keeper: SealKeeper
    seal_control: SealControl  # the keeper, or a worker's link to its supervisor's
    cache: KeyCache
    resolver: KeyResolver
    keys: KeyService
    key_jobs: KeyJobs
    multi_region: MultiRegionService
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
    stats: NodeStats
    quotas: QuotaGate
    xks_stores: XksStores
    xks: XksProxy
    custom_stores: CustomKeyStores
    _stop: threading.Event
    _jobs: threading.Thread | None = None

    @classmethod
    def build(
        cls,
        settings: Settings,
        clock: Clock | None = None,
        random: Random | None = None,
        *,
        open_seal: bool = True,
    ) -> Services:
        """Every use case over the store ``settings`` name, and the node's seal keeper.
        With ``open_seal`` the seal is set up if the store has none (the ``file`` seal, or
        adopting a store made before seals) and opened if it opens by itself; without it
        the keyring stays empty until a keeper elsewhere (a supervisor) hands it over."""
        if clock is None:
            offset_file = settings.clock_offset_file if settings.dev else None
            clock = OffsetClock(offset_file) if offset_file is not None else SystemClock()
        random = random or os.urandom
        settings.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        backend = open_storage(settings.database_url, clock)
        storage: Storage = GuardedStorage(backend)
        root = Keyring()  # empty (sealed) until the keeper opens the seal
        cache = KeyCache(storage, root)
        root.on_drop(cache.clear)
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
        keeper = SealKeeper(storage, root, seal_access(settings), random)
        limiter = SharedBuckets(quota_buckets(settings.data_dir)) if settings.quotas else None
        quotas = QuotaGate(storage, cache, clock, limiter)
        cache.add_listener(quotas)
        xks_directory = XksDirectory(storage, root)
        cache.add_listener(xks_directory)
        custom_stores = CustomKeyStores(
            storage, authorizer, clock, root, random,
            XksClient(settings.xks_timeout, settings.xks_ca_bundle), cache.invalidate,
        )  # fmt: skip
        external = ExternalKeys(custom_stores, random)
        cache.add_listener(external)
        services = cls(
            settings=settings,
            storage=storage,
            clock=clock,
            keyring=root,
            keeper=keeper,
            seal_control=keeper,
            cache=cache,
            resolver=resolver,
            keys=KeyService(resolver, custom_stores),
            key_jobs=KeyJobs(resolver, audit),
            multi_region=MultiRegionService(resolver, audit),
            aliases=AliasService(resolver),
            crypto=CryptoService(resolver, random, external),
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
            health=Health(storage, clock, audit.problem, lambda: root.sealed),
            key_usage=KeyUsageQueries(resolver, audit.reads),
            follower=ChangeFollower(storage, cache, settings.change_poll_interval),
            quotas=quotas,
            stats=NodeStats(
                storage,
                lambda: root.sealed,
                audit.backlog,
                getattr(backend, "pool_stats", None),
            ),
            xks_stores=XksStores(storage, authorizer, resolver, clock, root, random),
            xks=XksProxy(xks_directory, cache, root, random),
            custom_stores=custom_stores,
            _stop=threading.Event(),
        )
        if open_seal:
            try:
                prepare_seal(storage, keeper, settings, random)
                keeper.open()
            except BaseException:
                services.close()
                raise
        return services

    def start_background(self, *, ingest: bool | None = None) -> None:
        """Follow the change feed; run due deletions and rotations."""
        self.follower.start()
        if self.quotas.enabled:
            self.quotas.load()  # after the follower starts: no change falls in between
        self.audit.start(ingest=self.settings.audit_ingester if ingest is None else ingest)
        self.deliveries.start()
        self._jobs = threading.Thread(target=self._run_jobs, name="cofre-jobs", daemon=True)
        self._jobs.start()

    def _run_jobs(self) -> None:
        while not self._stop.wait(self.settings.job_interval):
            if self.keyring.sealed:
                continue  # rotations and deletions wait for the keyring
            try:
                now = self.clock.now()
                self.key_jobs.run_due_jobs(now)
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
        self.quotas.close()
        self.storage.close()


def reset_quota_buckets(data_dir: Path) -> None:
    """Forget the node's quota buckets (``cofre serve`` at start, before its workers)."""
    SharedBuckets.reset(quota_buckets(data_dir))


def seal_access(settings: Settings) -> SealAccess:
    """How this node reaches its seal, from its settings."""
    return SealAccess(
        FileRoot.in_dir(settings.data_dir, settings.root_key_b64),
        settings.pkcs11_library,
        settings.pkcs11_pin_file,
        settings.seal_kms_endpoint_url,
    )


def prepare_seal(storage: Storage, keeper: SealKeeper, settings: Settings, random: Random) -> None:
    """A store without a seal gets one: a store made before seals is adopted (its root key
    becomes the keyring key), an empty one takes the ``file`` seal. In development mode
    only the ``file`` seal is served."""
    if read_record(storage) is None:
        access = seal_access(settings)
        if stored_check(storage) is not None:
            adopt_legacy(storage, access, random)
        else:
            initialise(storage, SealChoice("file"), access, random)
    if settings.dev and keeper.record().seal_type != "file":
        raise SealError(
            "development mode (--dev) serves only stores on the file seal: its test hooks"
            " must not reach a store with a real root of trust"
        )
