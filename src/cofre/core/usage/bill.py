"""Pricing what :class:`~cofre.core.usage.meter.Meter` counted: the usage report.

Exact arithmetic (``Fraction``, ``Decimal``; never a float), rounded once per figure:

* A key is billed by the hour, each hour it is held for any part of counting whole, from
  its creation until its deletion is scheduled (a cancelled schedule does not count) or
  it is deleted. Each of its first ``billed_rotations`` rotations is billed the same way
  from the rotation on. An hour is 1/(hours in its calendar month) of a key-month, so a
  key held all of any month is exactly one key-month. ``key_months`` adds up the key's
  billed versions; it and the key's cost are rounded to 6 decimal places.
* A request is priced by its class (:mod:`cofre.core.usage.prices`). Each account's
  monthly free requests go first to the requests of that month made before the window
  (a window that starts mid-month), then to the window's, the dearest class first. A
  line's cost is its requests less its free ones, at the class's price (exact).
* An account's total is the sum of its lines, as shown.
"""

from __future__ import annotations

import calendar
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any

from cofre.core.usage.meter import KeyLife, Meter, RequestBucket, month_of
from cofre.core.usage.prices import (
    ASYMMETRIC,
    ECC_DATA_KEY_PAIR,
    HMAC,
    RSA_2048,
    RSA_DATA_KEY_PAIR,
    STANDARD,
    PriceTable,
)

HOUR = timedelta(hours=1)
PLACES = Decimal("0.000001")
_ASYMMETRIC_USE = frozenset(
    {"Encrypt", "Decrypt", "ReEncrypt", "Sign", "Verify", "GetPublicKey", "DeriveSharedSecret"}
)
_DATA_KEY_PAIR = frozenset({"GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext"})
_MAC = frozenset({"GenerateMac", "VerifyMac"})


def _round(value: Fraction | Decimal) -> Decimal:
    if isinstance(value, Fraction):
        value = Decimal(value.numerator) / Decimal(value.denominator)
    return value.quantize(PLACES, rounding=ROUND_HALF_EVEN)


def _floor_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _ceil_hour(moment: datetime) -> datetime:
    floor = _floor_hour(moment)
    return floor if floor == moment else floor + HOUR


def _next_month(moment: datetime) -> datetime:
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return moment.replace(year=year, month=month, day=1, hour=0, minute=0, second=0, microsecond=0)


def hours_in_month(month: tuple[int, int]) -> int:
    return calendar.monthrange(*month)[1] * 24


def hours_by_month(start: datetime, end: datetime) -> dict[tuple[int, int], int]:
    """The clock hours that ``[start, end)`` touches, counted per calendar month (UTC)."""
    out: dict[tuple[int, int], int] = {}
    cursor, last = _floor_hour(start), _ceil_hour(end)
    while cursor < last:
        upto = min(_next_month(cursor), last)
        out[month_of(cursor)] = out.get(month_of(cursor), 0) + (upto - cursor) // HOUR
        cursor = upto
    return out


def key_months(life: KeyLife, start: datetime, end: datetime, billed_rotations: int) -> Fraction:
    """The key-months ``life`` is billed for in ``[start, end)``."""
    if life.created is None:
        return Fraction(0)
    stop = min(end, life.end) if life.end is not None else end
    total = Fraction(0)
    for since in [life.created, *sorted(life.rotations)[:billed_rotations]]:
        begin = max(since, start)
        if begin < stop:
            for month, hours in hours_by_month(begin, stop).items():
                total += Fraction(hours, hours_in_month(month))
    return total


def price_class(bucket: RequestBucket, specs: Mapping[str, str]) -> str:
    """The price class of a request, from its operation and the specs of its keys."""
    if bucket.operation in _DATA_KEY_PAIR:
        pair = bucket.key_pair_spec or ""
        return RSA_DATA_KEY_PAIR if pair.startswith("RSA") else ECC_DATA_KEY_PAIR
    if bucket.operation in _ASYMMETRIC_USE:
        asymmetric = [
            s
            for s in (specs.get(k, "") for k in bucket.key_ids)
            if s.startswith(("RSA", "ECC", "SM2"))
        ]
        if asymmetric:
            return RSA_2048 if all(s == "RSA_2048" for s in asymmetric) else ASYMMETRIC
    if bucket.operation in _MAC:
        return HMAC
    return STANDARD


@dataclass(frozen=True)
class KeyLine:
    key_id: str
    key_manager: str
    origin: str
    key_spec: str
    key_months: Decimal
    cost: Decimal


@dataclass(frozen=True)
class RequestLine:
    operation: str
    price_class: str
    count: int
    free: int
    cost: Decimal


@dataclass
class AccountUsage:
    account_id: str
    keys: list[KeyLine] = field(default_factory=list)
    requests: list[RequestLine] = field(default_factory=list)

    @property
    def free_tier_requests(self) -> int:
        return sum(line.free for line in self.requests)

    @property
    def total(self) -> Decimal:
        return sum((k.cost for k in self.keys), Decimal(0)) + sum(
            (r.cost for r in self.requests), Decimal(0)
        )


@dataclass
class UsageReport:
    start: datetime
    end: datetime
    currency: str
    accounts: list[AccountUsage]

    def to_json(self) -> dict[str, Any]:
        """The report's JSON shape (docs/usage.md): amounts as decimal strings."""
        iso = "%Y-%m-%dT%H:%M:%SZ"
        return {
            "from": self.start.strftime(iso),
            "to": self.end.strftime(iso),
            "currency": self.currency,
            "accounts": [_account_json(a) for a in self.accounts],
        }


def _account_json(usage: AccountUsage) -> dict[str, Any]:
    keys = [
        {
            "key_id": k.key_id,
            "key_manager": k.key_manager,
            "origin": k.origin,
            "key_spec": k.key_spec,
            "key_months": str(k.key_months),
            "cost": str(k.cost),
        }
        for k in usage.keys
    ]
    requests = [
        {"operation": r.operation, "price_class": r.price_class, "count": r.count,
         "cost": str(r.cost)}
        for r in usage.requests
    ]  # fmt: skip
    return {
        "account_id": usage.account_id,
        "keys": keys,
        "requests": requests,
        "free_tier_requests": usage.free_tier_requests,
        "total": str(usage.total),
    }


def bill(
    meter: Meter, prices: PriceTable, now: datetime, account_id: str | None = None
) -> UsageReport:
    """The report of what ``meter`` saw, at ``prices``; keys still held are billed up to
    ``now`` when the window runs past it."""
    end = min(meter.end, now.astimezone(UTC))
    accounts: dict[str, AccountUsage] = defaultdict(lambda: AccountUsage(""))
    for life in sorted(meter.keys.values(), key=lambda k: (k.account_id, k.key_id)):
        held = key_months(life, meter.start, end, prices.billed_rotations)
        if held == 0 or (account_id is not None and life.account_id != account_id):
            continue
        free = prices.aws_managed_keys_free and life.key_manager == "AWS"
        cost = Decimal(0) if free else _round(held * Fraction(prices.key_month))
        line = KeyLine(life.key_id, life.key_manager, life.origin, life.key_spec, _round(held),
                       cost.quantize(PLACES))  # fmt: skip
        accounts[life.account_id].keys.append(line)
    specs = {k: life.key_spec for k, life in meter.keys.items()}
    for account, lines in _request_lines(meter, prices, specs, account_id).items():
        accounts[account].requests.extend(lines)
    out = []
    for account in sorted(accounts):
        usage = accounts[account]
        usage.account_id = account
        out.append(usage)
    return UsageReport(meter.start, meter.end, prices.currency, out)


def _request_lines(
    meter: Meter, prices: PriceTable, specs: Mapping[str, str], account_id: str | None
) -> dict[str, list[RequestLine]]:
    counts: Counter[tuple[str, tuple[int, int], bool, str, str]] = Counter()
    for bucket, n in meter.requests.items():
        if account_id is None or bucket.account_id == account_id:
            key = (bucket.account_id, bucket.month, bucket.in_window, bucket.operation,
                   price_class(bucket, specs))  # fmt: skip
            counts[key] += n
    used: Counter[tuple[str, tuple[int, int]]] = Counter()  # free requests taken before the window
    window: dict[tuple[str, tuple[int, int]], Counter[tuple[str, str]]] = defaultdict(Counter)
    for (account, month, in_window, operation, klass), n in counts.items():
        if not in_window:
            used[account, month] += n if prices.requests[klass].free_tier else 0
        else:
            window[account, month][operation, klass] += n
    totals: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    free: dict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    for (account, month), lines in sorted(window.items()):
        budget = max(0, prices.free_requests_per_month - used[account, month])
        dearest = sorted(lines, key=lambda line: (-prices.requests[line[1]].per_10000, line))
        for line in dearest:
            totals[account][line] += lines[line]
            if prices.requests[line[1]].free_tier and budget:
                taken = min(budget, lines[line])
                free[account][line] += taken
                budget -= taken
    out: dict[str, list[RequestLine]] = {}
    for account, lines in totals.items():
        out[account] = []
        for (operation, klass), n in sorted(lines.items()):
            taken = free[account][operation, klass]
            cost = _round((n - taken) * prices.requests[klass].per_10000 / 10_000)
            out[account].append(RequestLine(operation, klass, n, taken, cost))
    return out
