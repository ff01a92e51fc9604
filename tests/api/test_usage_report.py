"""``cofre usage report`` on a known workload: keys made, rotated, scheduled for deletion,
cancelled and deleted at known hours of the server's (test) clock, and a counted number of
calls of each price class; every figure of the JSON report is checked, worked out here
from the hours and counts alone."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.conftest import BACKENDS
from tests.support.backends import backend_database
from tests.support.server import ACCOUNT_ID, CLOCK_ENV, COFRE, CofreServer

OCTOBER = 31 * 24  # hours


def at(month: int, day: int, hour: int = 0) -> datetime:
    """Half past the hour, so that a second or two of drift never crosses an hour."""
    return datetime(2026, month, day, hour, 30, tzinfo=UTC)


def six(value: Fraction) -> str:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return str(exact.quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN))


class Clock:
    """Sets the server's clock (an offset from the real one, read from a file)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def set(self, moment: datetime) -> None:
        self.path.write_text(str((moment - datetime.now(UTC)).total_seconds()))
        time.sleep(0.3)  # the server rereads the file at most every 0.1 s


@pytest.fixture(scope="module", params=BACKENDS)
def workload(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[CofreServer, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp(f"usage-{request.param}")
    clock = Clock(tmp / "clock")
    with backend_database(request.param) as url:
        env = {CLOCK_ENV: str(clock.path), "COFRE_JOB_INTERVAL": "0.2"}
        server = CofreServer(tmp / "data", database=url, env=env).start()
        try:
            yield server, _run(server, clock)
        finally:
            server.stop()


def _run(server: CofreServer, clock: Clock) -> dict[str, str]:
    kms = server.client("kms")

    def create(**spec: Any) -> str:
        return str(kms.create_key(**spec)["KeyMetadata"]["KeyId"])

    clock.set(at(9, 30, 22))  # before the window: held from its first hour
    keys = {"old": create()}
    clock.set(at(10, 1, 0))
    keys["sym"] = create()
    keys["rsa"] = create(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")
    keys["ecc"] = create(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    keys["hmac"] = create(KeySpec="HMAC_256", KeyUsage="GENERATE_VERIFY_MAC")
    blobs = [kms.encrypt(KeyId=keys["sym"], Plaintext=b"x")["CiphertextBlob"] for _ in range(7)]
    for blob in blobs[:5]:
        kms.decrypt(CiphertextBlob=blob)
    with pytest.raises(ClientError):  # a failed call is no billed request
        kms.decrypt(CiphertextBlob=b"\x01" * 80)
    for _ in range(4):
        kms.sign(KeyId=keys["rsa"], Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256")
    for _ in range(3):
        kms.sign(KeyId=keys["ecc"], Message=b"m", SigningAlgorithm="ECDSA_SHA_256")
    for _ in range(2):
        kms.generate_mac(KeyId=keys["hmac"], Message=b"m", MacAlgorithm="HMAC_SHA_256")
    kms.generate_data_key_pair(KeyId=keys["sym"], KeyPairSpec="RSA_2048")
    for _ in range(2):
        kms.generate_data_key_pair(KeyId=keys["sym"], KeyPairSpec="ECC_NIST_P256")
    for day in (2, 3, 4):  # three rotations: the first two are billed
        clock.set(at(10, day))
        kms.rotate_key_on_demand(KeyId=keys["sym"])
    clock.set(at(10, 10))
    for name in ("rsa", "ecc", "hmac"):
        kms.schedule_key_deletion(KeyId=keys[name], PendingWindowInDays=7)
    clock.set(at(10, 12))
    kms.cancel_key_deletion(KeyId=keys["ecc"])  # billed as though never scheduled
    clock.set(at(11, 3))  # after the window: the deletions fall due and are carried out
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            kms.describe_key(KeyId=keys["hmac"])
        except ClientError as error:
            assert error.response["Error"]["Code"] == "NotFoundException"
            break
        time.sleep(0.2)
    else:
        pytest.fail("the scheduled deletion did not happen")
    server.stop()  # its journal is in the chain once it has stopped; the report reads it
    return keys


def _report(server: CofreServer, *extra: str) -> dict[str, Any]:
    args = [COFRE, "usage", "report", "--data-dir", str(server.data_dir),
            "--from", "2026-10-01", "--to", "2026-11-01", "--format", "json", *extra]  # fmt: skip
    if server.database:
        args += ["--database", server.database]
    env = {**os.environ, "COFRE_ROOT_KEY": server.root_key, CLOCK_ENV: server.env[CLOCK_ENV]}
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    parsed: dict[str, Any] = json.loads(done.stdout)
    return parsed


# hours each key is billed in October (each started hour counts whole)
HELD = {
    "old": OCTOBER,  # made in September, never deleted
    "sym": OCTOBER,  # 1 Oct 00:30 onwards
    "rsa": 9 * 24 + 1,  # 1 Oct 00h .. 10 Oct 00h, when its deletion was scheduled
    "ecc": OCTOBER,  # its deletion was cancelled
    "hmac": 9 * 24 + 1,  # scheduled on 10 Oct, deleted on 3 Nov
}
ROTATED = [OCTOBER - 24, OCTOBER - 48, OCTOBER - 72]  # from 2, 3 and 4 Oct
SPECS = {"old": "SYMMETRIC_DEFAULT", "sym": "SYMMETRIC_DEFAULT", "rsa": "RSA_2048",
         "ecc": "ECC_NIST_P256", "hmac": "HMAC_256"}  # fmt: skip
REQUESTS = {  # (operation, price class): count
    ("CancelKeyDeletion", "standard"): 1,
    ("CreateKey", "standard"): 4,
    ("Decrypt", "standard"): 5,
    ("Encrypt", "standard"): 7,
    ("GenerateDataKeyPair", "ecc_data_key_pair"): 2,
    ("GenerateDataKeyPair", "rsa_data_key_pair"): 1,
    ("GenerateMac", "hmac"): 2,
    ("RotateKeyOnDemand", "standard"): 3,
    ("ScheduleKeyDeletion", "standard"): 3,
    ("Sign", "asymmetric"): 3,
    ("Sign", "rsa_2048"): 4,
}
PAID = {"ecc_data_key_pair": "0.10", "rsa_data_key_pair": "12.00", "asymmetric": "0.15",
        "rsa_2048": "0.03"}  # fmt: skip


def _key_hours(name: str, billed_rotations: int) -> int:
    return HELD[name] + (sum(ROTATED[:billed_rotations]) if name == "sym" else 0)


def test_every_figure_at_aws_list_price(workload: tuple[CofreServer, dict[str, str]]) -> None:
    server, keys = workload
    report = _report(server)
    assert (report["from"], report["to"], report["currency"]) == (
        "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z", "USD"
    )  # fmt: skip
    (account,) = report["accounts"]
    assert account["account_id"] == ACCOUNT_ID
    expected_keys = sorted(
        (
            {"key_id": keys[n], "key_manager": "CUSTOMER", "origin": "AWS_KMS",
             "key_spec": SPECS[n], "key_months": six(Fraction(_key_hours(n, 2), OCTOBER)),
             "cost": six(Fraction(_key_hours(n, 2), OCTOBER))}
            for n in HELD
        ),
        key=lambda k: k["key_id"],
    )  # fmt: skip
    assert account["keys"] == expected_keys
    assert {k["key_id"]: k["key_months"] for k in account["keys"]}[keys["sym"]] == "2.903226"
    lines = [
        {"operation": op, "price_class": klass, "count": n,
         "cost": six(Fraction(Decimal(PAID.get(klass, "0")) * n / 10_000))}
        for (op, klass), n in sorted(REQUESTS.items())
    ]  # fmt: skip
    assert account["requests"] == lines
    assert account["free_tier_requests"] == 25  # every request of a free-tier class
    total = sum(Decimal(k["cost"]) for k in expected_keys) + Decimal("0.001277")
    assert account["total"] == str(total) == "5.487837"


def test_every_figure_at_a_price_table_of_ones_own(
    workload: tuple[CofreServer, dict[str, str]], tmp_path: Path
) -> None:
    server, keys = workload
    table = tmp_path / "prices.json"
    table.write_text(json.dumps({
        "currency": "EUR", "key_month": "2.50", "billed_rotations": 1,
        "free_requests_per_month": 10, "requests": {"hmac": {"per_10000": "1.00"}},
    }))  # fmt: skip
    report = _report(server, "--price-table", str(table), "--account-id", ACCOUNT_ID)
    assert report["currency"] == "EUR"
    (account,) = report["accounts"]
    costs = {k["key_id"]: (k["key_months"], k["cost"]) for k in account["keys"]}
    for name in HELD:
        held = Fraction(_key_hours(name, 1), OCTOBER)
        assert costs[keys[name]] == (six(held), six(held * Fraction(5, 2)))
    # 10 free, the dearest free-tier class first (hmac, at 1.00), then by operation:
    # GenerateMac 2, CancelKeyDeletion 1, CreateKey 4, Decrypt 3 of 5
    free = {("GenerateMac", "hmac"): 2, ("CancelKeyDeletion", "standard"): 1,
            ("CreateKey", "standard"): 4, ("Decrypt", "standard"): 3}  # fmt: skip
    price = {**PAID, "standard": "0.03", "hmac": "1.00"}
    expected: list[dict[str, Any]] = [
        {"operation": op, "price_class": klass, "count": n,
         "cost": six(Fraction(Decimal(price[klass]) * (n - free.get((op, klass), 0)) / 10_000))}
        for (op, klass), n in sorted(REQUESTS.items())
    ]  # fmt: skip
    assert account["requests"] == expected
    assert account["free_tier_requests"] == 10
    total = sum(Decimal(c) for _, c in costs.values()) + sum(Decimal(r["cost"]) for r in expected)
    assert account["total"] == str(total)


def test_another_account_has_nothing(workload: tuple[CofreServer, dict[str, str]]) -> None:
    server, _ = workload
    assert _report(server, "--account-id", "999988887777")["accounts"] == []
