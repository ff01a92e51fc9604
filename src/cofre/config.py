"""The one place that reads the environment: settings for ``cofre serve`` and its workers."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from pathlib import Path

SERVE_ENV = "_COFRE_SERVE_SETTINGS"  # how the serving process hands settings to its workers


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database: str | None = None  # None: SQLite in the data dir; or postgresql://...
    host: str = "127.0.0.1"
    port: int = 4566
    workers: int = 1
    regions: tuple[str, ...] = ()  # empty: any well-formed region
    tls_cert: Path | None = None
    tls_key: Path | None = None
    admin_access_key_id: str | None = field(default=None, repr=False)
    admin_secret_access_key: str | None = field(default=None, repr=False)
    account_id: str | None = None
    root_key_b64: str | None = field(default=None, repr=False)
    change_poll_interval: float = 0.2
    job_interval: float = 5.0
    clock_offset_file: Path | None = None  # tests only (dev): see service.clock.OffsetClock
    dev: bool = False  # development mode: test hooks honoured, only the file seal served
    pkcs11_library: str | None = None  # the pkcs11 seal's PKCS#11 module
    pkcs11_pin_file: Path | None = field(default=None, repr=False)
    seal_kms_endpoint_url: str | None = None  # the kms seal's endpoint (default: the record's)
    audit_digest_interval: float = 60.0  # seconds between signed digests of the audit chain
    audit_retention_days: float | None = None  # None: keep audit events forever
    audit_flush: bool = False  # group commits of records wait for the disk, not the OS
    audit_ingester: bool = True  # this process appends its audit journal to the chain
    # (False in the workers of a supervisor, which appends for them: ADR 11, "Journal")
    audit_journal_file_bytes: int = 16 * 1024 * 1024  # allocated per audit journal file
    webhook_poll_interval: float = 0.5  # seconds between outbox rounds (ADR 0013)
    webhook_lease: float = 60.0  # seconds a node holds a claimed delivery
    webhook_timeout: float = 10.0  # seconds per webhook request
    xks_ca_bundle: str | None = None  # CAs trusted for custom key stores' XKS proxies
    xks_timeout: float = 2.0  # seconds per XKS proxy request (ADR 22)
    xks_listen: str | None = None  # "host:port": a listener of the XKS API alone
    webhook_retry_base: float = 1.0  # first retry delay, doubling on each failure
    webhook_retry_cap: float = 300.0  # longest delay between attempts
    webhook_max_age: float = 86_400.0  # a delivery failing for this long is dropped
    metrics: bool = True  # GET /metrics and the request counts behind it
    metrics_listen: str | None = None  # HOST:PORT of a listener for GET /metrics only
    quotas: bool = True  # request quotas (ADR 20); COFRE_QUOTAS=off or --quotas off
    log_format: str = "text"  # "json": one object per line, and an access line per call

    @property
    def metrics_address(self) -> tuple[str, int] | None:
        """``metrics_listen`` as (host, port); None when /metrics is on the API port."""
        if self.metrics_listen is None:
            return None
        host, _, port = self.metrics_listen.rpartition(":")
        return host.strip("[]"), int(port)

    console: bool = True  # the web console at /console/ (ADR 15); off: --no-console
    console_session_seconds: float = 3600.0  # a console session's lifetime

    @property
    def audit_retention(self) -> timedelta | None:
        if self.audit_retention_days is None:
            return None
        return timedelta(days=self.audit_retention_days)

    @property
    def database_url(self) -> str:
        if self.database:
            return self.database
        return f"sqlite:///{self.data_dir / 'cofre.db'}"

    @classmethod
    def with_environment(cls, **flags: object) -> Settings:
        """Flags from the command line, secrets and fixed identities from the environment."""
        env = os.environ
        seal: dict[str, object] = {
            "pkcs11_library": env.get("COFRE_PKCS11_LIBRARY") or None,
            "pkcs11_pin_file": Path(env["COFRE_PKCS11_PIN_FILE"])
            if env.get("COFRE_PKCS11_PIN_FILE")
            else None,
            "seal_kms_endpoint_url": env.get("COFRE_SEAL_KMS_ENDPOINT_URL") or None,
        }
        if flags.get("quotas") is None:  # a flag given wins over the environment
            flags["quotas"] = env.get("COFRE_QUOTAS", "on").lower() not in ("off", "0", "false")
        for name in list(seal):  # a flag given wins over the environment
            if flags.get(name) is not None:
                seal[name] = flags.pop(name)
            else:
                flags.pop(name, None)
        return cls(
            admin_access_key_id=env.get("COFRE_ADMIN_ACCESS_KEY_ID") or None,
            admin_secret_access_key=env.get("COFRE_ADMIN_SECRET_ACCESS_KEY") or None,
            account_id=env.get("COFRE_ACCOUNT_ID") or None,
            root_key_b64=env.get("COFRE_ROOT_KEY") or None,
            clock_offset_file=Path(env["COFRE_CLOCK_OFFSET_FILE"])
            if env.get("COFRE_CLOCK_OFFSET_FILE")
            else None,
            **seal,  # type: ignore[arg-type]
            audit_digest_interval=float(env.get("COFRE_AUDIT_DIGEST_INTERVAL") or 60.0),
            audit_retention_days=float(env["COFRE_AUDIT_RETENTION_DAYS"])
            if env.get("COFRE_AUDIT_RETENTION_DAYS")
            else None,
            audit_flush=env.get("COFRE_AUDIT_FLUSH", "").lower() in ("1", "true", "yes"),
            audit_journal_file_bytes=max(
                4096, int(env.get("COFRE_AUDIT_JOURNAL_FILE_BYTES") or 16 * 1024 * 1024)
            ),
            job_interval=float(env.get("COFRE_JOB_INTERVAL") or 5.0),
            webhook_poll_interval=float(env.get("COFRE_WEBHOOK_POLL_INTERVAL") or 0.5),
            webhook_lease=float(env.get("COFRE_WEBHOOK_LEASE") or 60.0),
            webhook_timeout=float(env.get("COFRE_WEBHOOK_TIMEOUT") or 10.0),
            xks_ca_bundle=env.get("COFRE_XKS_CA_BUNDLE") or None,
            xks_timeout=float(env.get("COFRE_XKS_TIMEOUT") or 2.0),
            webhook_retry_base=float(env.get("COFRE_WEBHOOK_RETRY_BASE") or 1.0),
            webhook_retry_cap=float(env.get("COFRE_WEBHOOK_RETRY_CAP") or 300.0),
            webhook_max_age=float(env.get("COFRE_WEBHOOK_MAX_AGE") or 86_400.0),
            **flags,  # type: ignore[arg-type]
        )

    def to_worker_env(self) -> str:
        """Settings for workers, without secrets (workers read those from the environment)."""
        data = asdict(self)
        for secret in ("admin_secret_access_key", "root_key_b64"):
            data[secret] = None
        return json.dumps(data, default=str)

    @classmethod
    def from_worker_env(cls) -> Settings:
        data = json.loads(os.environ[SERVE_ENV])
        data["data_dir"] = Path(data["data_dir"])
        data["regions"] = tuple(data["regions"])
        for name in ("tls_cert", "tls_key", "clock_offset_file", "pkcs11_pin_file"):
            data[name] = Path(data[name]) if data[name] else None
        data["root_key_b64"] = os.environ.get("COFRE_ROOT_KEY") or None
        return cls(**data)
