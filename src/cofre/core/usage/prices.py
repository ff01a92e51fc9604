"""What keys and requests cost: AWS's list price by default, or a table of one's own
(``cofre usage report --price-table FILE``; docs/usage.md lists the sources).

AWS KMS (us-east-1, as of 2026): each customer managed key $1 per month, prorated
hourly, whatever its spec or origin; AWS managed keys free; the first and second
rotations of a key's material each add $1 per month, later ones nothing; no charge while
a key is scheduled for deletion (unless the deletion is cancelled). Requests: $0.03 per
10,000; $0.03 per 10,000 that use RSA 2048 asymmetric keys; $0.15 per 10,000 that use
other asymmetric keys; $0.10 per 10,000 ECC GenerateDataKeyPair and $12.00 per 10,000
RSA GenerateDataKeyPair requests. 20,000 requests a month per account are free, except
those that use asymmetric keys and GenerateDataKeyPair requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

STANDARD = "standard"  # symmetric keys, and requests that name no key
HMAC = "hmac"  # GenerateMac, VerifyMac (AWS prices them as standard requests)
RSA_2048 = "rsa_2048"  # cryptographic requests with RSA_2048 keys
ASYMMETRIC = "asymmetric"  # ... with any other asymmetric key (RSA 3072/4096, ECC, SM2)
ECC_DATA_KEY_PAIR = "ecc_data_key_pair"  # GenerateDataKeyPair[WithoutPlaintext], ECC pairs
RSA_DATA_KEY_PAIR = "rsa_data_key_pair"  # ... RSA pairs
CLASSES = (STANDARD, HMAC, RSA_2048, ASYMMETRIC, ECC_DATA_KEY_PAIR, RSA_DATA_KEY_PAIR)


@dataclass(frozen=True, slots=True)
class RequestPrice:
    per_10000: Decimal
    free_tier: bool  # counted against the monthly free requests


@dataclass(frozen=True, slots=True)
class PriceTable:
    currency: str
    key_month: Decimal  # a key (and each billed rotation of its material) for a month
    billed_rotations: int  # rotations that add a key-month each (AWS: the first two)
    aws_managed_keys_free: bool
    free_requests_per_month: int  # per account
    requests: Mapping[str, RequestPrice]

    def to_json(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "key_month": str(self.key_month),
            "billed_rotations": self.billed_rotations,
            "aws_managed_keys_free": self.aws_managed_keys_free,
            "free_requests_per_month": self.free_requests_per_month,
            "requests": {
                name: {"per_10000": str(p.per_10000), "free_tier": p.free_tier}
                for name, p in self.requests.items()
            },
        }

    @classmethod
    def from_json(cls, value: Any, base: PriceTable | None = None) -> PriceTable:
        """A table from its JSON form; fields it leaves out keep ``base``'s (AWS's list
        price). ``ValueError`` says what is wrong."""
        base = base or AWS_LIST_PRICE
        if not isinstance(value, dict):
            raise ValueError("a price table is a JSON object")
        unknown = set(value) - set(base.to_json())
        if unknown:
            raise ValueError(f"unknown price table fields: {', '.join(sorted(unknown))}")
        requests = dict(base.requests)
        given = value.get("requests", {})
        if not isinstance(given, dict):
            raise ValueError("requests: an object of price classes")
        for name, price in given.items():
            if name not in CLASSES:
                raise ValueError(f"requests: unknown price class {name!r} ({', '.join(CLASSES)})")
            if not isinstance(price, dict) or set(price) - {"per_10000", "free_tier"}:
                raise ValueError(f"requests.{name}: give per_10000 and/or free_tier")
            old = requests[name]
            requests[name] = RequestPrice(
                _money(price.get("per_10000", old.per_10000), f"requests.{name}.per_10000"),
                _flag(price.get("free_tier", old.free_tier), f"requests.{name}.free_tier"),
            )
        currency = value.get("currency", base.currency)
        if not isinstance(currency, str) or not currency:
            raise ValueError("currency: a name such as USD")
        return cls(
            currency=currency,
            key_month=_money(value.get("key_month", base.key_month), "key_month"),
            billed_rotations=_count(
                value.get("billed_rotations", base.billed_rotations), "billed_rotations"
            ),
            aws_managed_keys_free=_flag(
                value.get("aws_managed_keys_free", base.aws_managed_keys_free),
                "aws_managed_keys_free",
            ),
            free_requests_per_month=_count(
                value.get("free_requests_per_month", base.free_requests_per_month),
                "free_requests_per_month",
            ),
            requests=requests,
        )


def _money(value: Any, name: str) -> Decimal:
    """A price: a decimal string or an integer (a JSON float would not be exact)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError(f'{name}: give the price as a string, such as "0.03"')
    try:
        price = Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(f"{name}: {value!r} is not a number") from exc
    if not price.is_finite() or price < 0:
        raise ValueError(f"{name}: a price is a number of zero or more")
    return price


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name}: a whole number of zero or more")
    return value


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name}: true or false")
    return value


AWS_LIST_PRICE = PriceTable(
    currency="USD",
    key_month=Decimal("1.00"),
    billed_rotations=2,
    aws_managed_keys_free=True,
    free_requests_per_month=20_000,
    requests={
        STANDARD: RequestPrice(Decimal("0.03"), True),
        HMAC: RequestPrice(Decimal("0.03"), True),
        RSA_2048: RequestPrice(Decimal("0.03"), False),
        ASYMMETRIC: RequestPrice(Decimal("0.15"), False),
        ECC_DATA_KEY_PAIR: RequestPrice(Decimal("0.10"), False),
        RSA_DATA_KEY_PAIR: RequestPrice(Decimal("12.00"), False),
    },
)
