"""Request quotas (ADR 20): a call over its account's rate in its Region is refused with
``ThrottlingError`` before it runs; `cofre quotas set` changes a rate for one account.

Which quota a call counts against comes from ``cofre.core.quotas``; for a cryptographic
operation it is the kind of its key, read from the key cache (a key's kind never
changes; an alias is looked up again after any alias or key change). The buckets are a
port (:class:`RateLimiter`): one table shared by the processes of a node. Overrides live
in the store and are read at start and whenever the change feed says they changed, so
the hot path never waits on the database for them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

from cofre.core import quotas as table
from cofre.core.iam.principals import Caller
from cofre.core.ids import key_row_id, parse_key_ref
from cofre.errors import CofreError, ThrottlingError, ValidationError
from cofre.service.cache.keycache import KeyCache
from cofre.service.ports import Clock, Storage

log = logging.getLogger(__name__)

_KEY_PARAM = {"ReEncrypt": "DestinationKeyId"}
_FIXED_KIND = {
    "GenerateMac": table.HMAC, "VerifyMac": table.HMAC,
    "DeriveSharedSecret": table.ECC, "GenerateRandom": table.SYMMETRIC,
}  # fmt: skip
_MAX_MEMO = 10_000
_NONE = ("", 0.0)  # no quota: not throttled


class RateLimiter(Protocol):
    """Token buckets by name."""

    def take(self, name: str, rate: float) -> bool:
        """Spend one token of ``name`` (filled at ``rate`` a second); False if none."""
        ...

    def close(self) -> None: ...


class QuotaGate:
    def __init__(
        self, storage: Storage, cache: KeyCache, clock: Clock, limiter: RateLimiter | None
    ) -> None:
        """``limiter`` None: quotas are off (nothing is ever throttled)."""
        self._storage = storage
        self._cache = cache
        self._clock = clock
        self._limiter = limiter
        self._overrides: dict[tuple[str, str], float] = {}
        self._kinds: dict[tuple[str, str, str], str] = {}
        self._buckets: dict[tuple[str, str, str, str, str | None], tuple[str, float]] = {}

    @property
    def enabled(self) -> bool:
        return self._limiter is not None

    # the hot path ---------------------------------------------------------------------------
    def charge(
        self, caller: Caller, service: str, operation: str, params: Mapping[str, Any]
    ) -> None:
        """Count a call against its quota; ``ThrottlingError`` if it is over."""
        limiter = self._limiter
        if limiter is None:
            return
        text = params.get(_KEY_PARAM.get(operation, "KeyId"))
        if type(text) is not str:
            text = None
        memo = (caller.account_id, caller.region, service, operation, text)
        bucket = self._buckets.get(memo)
        if bucket is None:
            bucket = self._bucket(caller, service, operation, params)
            if len(self._buckets) >= _MAX_MEMO:
                self._buckets.clear()
            self._buckets[memo] = bucket
        if bucket is not _NONE and not limiter.take(bucket[0], bucket[1]):
            raise ThrottlingError(table.MESSAGES.get(service, "Rate exceeded"))

    def _bucket(
        self, caller: Caller, service: str, operation: str, params: Mapping[str, Any]
    ) -> tuple[str, float]:
        """The bucket a call is charged to (name, rate), or ``_NONE``: what ``charge``
        remembers per (account, Region, service, operation, key named) until the
        overrides, a key or an alias change."""
        if service == "kms" and operation in table.BY_KEY:
            quota = self._kind_quota(caller, operation, params)
        else:
            found = table.fixed_quota(service, operation)
            if found is None:
                return _NONE
            quota = found
        account, region = caller.account_id, caller.region
        return f"{account}/{region}/{quota}", self.rate(account, region, quota)

    def _kind_quota(self, caller: Caller, operation: str, params: Mapping[str, Any]) -> str:
        fixed = _FIXED_KIND.get(operation)
        if fixed is not None:
            return fixed
        text = params.get(_KEY_PARAM.get(operation, "KeyId"))
        if not isinstance(text, str):
            return table.SYMMETRIC  # a symmetric ciphertext names its own key
        memo = (caller.account_id, caller.region, text)
        kind = self._kinds.get(memo)
        if kind is None:
            # unknown: symmetric (the handler answers the error), remembered until a key
            # or an alias changes, so that a name that names nothing costs one look
            kind = self._look_up_kind(caller, text) or table.SYMMETRIC
            if len(self._kinds) >= _MAX_MEMO:
                self._kinds.clear()
            self._kinds[memo] = kind
        return kind

    def _look_up_kind(self, caller: Caller, text: str) -> str | None:
        """The quota of the key ``text`` names, through the cache (None: not found). A
        lookup that must wait raises ``WouldBlock`` (the call moves to a thread)."""
        try:
            ref = parse_key_ref(text, allow_alias=True)
        except CofreError:
            return None
        account = ref.account_id or caller.account_id
        region = ref.region or caller.region
        key_id = ref.key_id
        if key_id is None and ref.alias_name is not None:
            key_id = self._cache.alias_target(account, region, ref.alias_name)
        if key_id is None:
            return None
        entry = self._cache.key(key_row_id(key_id, region))
        if entry is None:
            return None
        return table.key_kind_quota(entry.key.key_spec)

    # rates --------------------------------------------------------------------------------
    def rate(self, account: str, region: str, quota: str) -> float:
        """The rate of ``quota`` for ``account`` in ``region``: its override, or AWS's
        default."""
        rate = self._overrides.get((account, quota))
        return rate if rate is not None else table.default_rate(quota, region) or 0.0

    def overrides(self) -> dict[tuple[str, str], float]:
        return dict(self._overrides)

    def load(self) -> None:
        """Read the overrides from the store (blocks)."""
        with self._storage.read() as tx:
            rows = tx.quota_overrides()
        self._overrides = {(account, quota): float(rate) for account, quota, rate in rows}
        self._buckets = {}

    def set_rate(self, account_id: str, quota: str, rate: float | None) -> None:
        """Override ``quota`` for ``account_id`` (None: back to the default); every
        process of every node follows through the change feed."""
        if not table.is_quota(quota):
            raise ValidationError(f"Unknown quota {quota[:100]!r}; see `cofre quotas list`.")
        with self._storage.write() as tx:
            if rate is None:
                tx.delete_quota_override(account_id, quota)
            else:
                if not 0 < rate <= 1_000_000:
                    raise ValidationError("The rate must be above 0 and at most 1000000.")
                tx.put_quota_override(account_id, quota, repr(float(rate)), self._clock.now())
        self.load()

    # the change feed (a KeyCache listener) ------------------------------------------------
    def invalidate(self, kind: str, ref: str) -> None:
        if kind == "quota":
            try:
                self.load()
            except Exception:
                log.warning("cannot read the quota overrides; keeping the ones known")
        elif kind in ("alias", "key"):
            self._kinds.clear()
            self._buckets.clear()

    def clear(self) -> None:
        self._kinds.clear()
        self._buckets.clear()

    def close(self) -> None:
        if self._limiter is not None:
            self._limiter.close()
