"""The billing arithmetic on hand-made trails: hours, key-months, rotations, deletion,
price classes and the free tier, every figure worked out here by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest

from cofre.core.usage.bill import bill, hours_by_month, key_months
from cofre.core.usage.meter import KeyLife, Meter
from cofre.core.usage.prices import AWS_LIST_PRICE, PriceTable

A, B = "111122223333", "444455556666"
DEC = datetime(2026, 12, 1, tzinfo=UTC)
JAN = datetime(2027, 1, 1, tzinfo=UTC)


def at(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    year = 2026 if month >= 11 else 2027
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def arn(key: str, account: str = A) -> str:
    return f"arn:aws:kms:us-east-1:{account}:key/{key}"


def record(name: str, when: datetime, *, key: str | None = None, account: str = A,
           caller: str | None = None, spec: str = "SYMMETRIC_DEFAULT", error: bool = False,
           service: bool = False, **params: Any) -> dict[str, Any]:  # fmt: skip
    caller = caller or account
    out: dict[str, Any] = {
        "eventSource": "kms.amazonaws.com", "eventName": name, "eventTime": iso(when),
        "eventType": "AwsServiceEvent" if service else "AwsApiCall",
        "recipientAccountId": caller if not service else account,
        "userIdentity": {"type": "Root", "accountId": caller},
        "requestParameters": params or None,
    }  # fmt: skip
    if key is not None:
        out["resources"] = [{"ARN": arn(key, account), "type": "AWS::KMS::Key"}]
    if name == "CreateKey" and key is not None:
        out["responseElements"] = {"keyMetadata": {
            "keyId": key, "aWSAccountId": account, "keySpec": spec, "keyManager": "CUSTOMER",
            "origin": "AWS_KMS"}}  # fmt: skip
    if error:
        out["errorCode"] = "AccessDeniedException"
    return out


def test_hours_touched_count_whole_and_split_at_months() -> None:
    assert hours_by_month(at(1, 0, 30), at(1, 10, 30)) == {(2026, 12): 11}
    assert hours_by_month(at(31, 22, 15), at(1, 1, 0, month=1)) == {(2026, 12): 2, (2027, 1): 1}
    assert hours_by_month(at(5, 3), at(5, 3)) == {}


def test_a_key_is_billed_until_its_deletion_is_scheduled_and_rotations_up_to_two() -> None:
    rotations = [at(2, 0, 30), at(3, 0, 30), at(4, 0, 30)]
    life = KeyLife("k", A, created=at(1, 0, 30), rotations=rotations, scheduled=at(11, 0, 30))
    months = key_months(life, DEC, JAN, billed_rotations=2)
    # the key: 1 Dec 00h..11 Dec 00h = 241 hours; rotations from 2 Dec (217) and 3 Dec (193)
    assert months == Fraction(241 + 217 + 193, 744)


def test_a_cancelled_deletion_is_billed_as_if_never_scheduled() -> None:
    meter = Meter(DEC, JAN)
    for event in (
        record("CreateKey", at(1, 5, 10), key="k"),
        record("ScheduleKeyDeletion", at(2, 5, 10), key="k"),
        record("CancelKeyDeletion", at(3, 5, 10), key="k"),
        record("ScheduleKeyDeletion", at(10, 5, 10), key="k"),
        record("DeleteKey", at(17, 5, 10), key="k", service=True),
    ):
        meter.see(event)
    report = bill(meter, AWS_LIST_PRICE, now=JAN + timedelta(days=1)).to_json()
    key = report["accounts"][0]["keys"][0]
    hours = 9 * 24 + 1  # 1 Dec 05h .. 10 Dec 05h, both hours touched
    assert key["key_months"] == str((Decimal(hours) / 744).quantize(Decimal("0.000001")))


def test_price_classes_the_free_tier_and_cross_account_copies() -> None:
    meter = Meter(at(10, 0), JAN)
    events = [
        record("CreateKey", at(1, 0, 5), key="sym"),
        record("CreateKey", at(1, 0, 5), key="rsa", spec="RSA_2048"),
        record("CreateKey", at(1, 0, 5), key="ecc", spec="ECC_NIST_P256"),
        record("CreateKey", at(1, 0, 5), key="mac", spec="HMAC_256"),
        *[record("Encrypt", at(5, 1), key="sym") for _ in range(3)],  # before the window
        *[record("Encrypt", at(12, 1), key="sym") for _ in range(4)],
        *[record("GenerateMac", at(12, 1), key="mac") for _ in range(2)],
        *[record("Sign", at(12, 1), key="rsa") for _ in range(5)],
        *[record("Sign", at(12, 1), key="ecc") for _ in range(6)],
        record("GenerateDataKeyPair", at(12, 1), key="sym", keyPairSpec="RSA_4096"),
        record("GenerateDataKeyPair", at(12, 1), key="sym", keyPairSpec="ECC_NIST_P384"),
        record("Decrypt", at(12, 1), key="sym", error=True),  # failed: not billed
        record("Encrypt", at(12, 1), key="sym", caller=B),  # B's call with A's key
        {**record("Encrypt", at(12, 1), key="sym", caller=B), "recipientAccountId": A,
         "userIdentity": {"type": "AWSAccount", "accountId": B}},  # A's copy of it
    ]  # fmt: skip
    for event in events:
        meter.see(event)
    prices = PriceTable.from_json({"free_requests_per_month": 9})
    report = bill(meter, prices, now=JAN).to_json()
    a, b = report["accounts"]
    assert (a["account_id"], b["account_id"]) == (A, B)
    lines = {(r["operation"], r["price_class"]): (r["count"], r["cost"]) for r in a["requests"]}
    # 9 free a month; 7 went before the window (4 CreateKey, 3 Encrypt); 2 left, to the
    # dearest free class first
    # (both free classes cost 0.03: then by operation, Encrypt before GenerateMac)
    assert lines == {
        ("Encrypt", "standard"): (4, "0.000006"),
        ("GenerateMac", "hmac"): (2, "0.000006"),
        ("Sign", "rsa_2048"): (5, "0.000015"),
        ("Sign", "asymmetric"): (6, "0.000090"),
        ("GenerateDataKeyPair", "rsa_data_key_pair"): (1, "0.001200"),
        ("GenerateDataKeyPair", "ecc_data_key_pair"): (1, "0.000010"),
    }
    assert a["free_tier_requests"] == 2
    keys = sum(Decimal(k["cost"]) for k in a["keys"])
    assert Decimal(a["total"]) == keys + Decimal("0.001327")
    assert b["requests"] == [
        {"operation": "Encrypt", "price_class": "standard", "count": 1, "cost": "0.000000"}
    ]
    assert b["keys"] == [] and b["free_tier_requests"] == 1 and b["total"] == "0.000000"


def test_aws_managed_keys_are_free_and_listed() -> None:
    meter = Meter(DEC, JAN)
    meter.see(record("Encrypt", at(3, 0), key="managed"))
    assert meter.unknown_keys() == ["managed"]
    meter.know("managed", account_id=A, created=at(1, 0), key_manager="AWS", origin="AWS_KMS",
               key_spec="SYMMETRIC_DEFAULT")  # fmt: skip
    (key,) = bill(meter, AWS_LIST_PRICE, now=JAN).to_json()["accounts"][0]["keys"]
    assert (
        key["key_manager"] == "AWS"
        and key["key_months"] == "1.000000"
        and key["cost"] == "0.000000"
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"key_month": 1.5}, "as a string"),
        ({"key_month": "-1"}, "zero or more"),
        ({"requests": {"gold": {"per_10000": "1"}}}, "unknown price class"),
        ({"free_requests_per_month": -1}, "whole number"),
        ({"currency": ""}, "currency"),
        ({"surprise": 1}, "unknown price table fields"),
    ],
)
def test_a_bad_price_table_is_refused_with_its_field(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PriceTable.from_json(table)


def test_the_window_is_whole_hours() -> None:
    with pytest.raises(ValueError, match="whole hour"):
        Meter(DEC + timedelta(minutes=5), JAN)
