"""The quota table and the token bucket arithmetic (ADR 20)."""

from __future__ import annotations

import pytest

from cofre.core import quotas


@pytest.mark.parametrize(
    ("spec", "quota"),
    [
        ("SYMMETRIC_DEFAULT", quotas.SYMMETRIC),
        ("RSA_2048", quotas.RSA),
        ("RSA_4096", quotas.RSA),
        ("ECC_NIST_P256", quotas.ECC),
        ("ECC_SECG_P256K1", quotas.ECC),
        ("SM2", quotas.ECC),
        ("HMAC_256", quotas.HMAC),
    ],
)
def test_a_key_spec_counts_against_its_kind(spec: str, quota: str) -> None:
    assert quotas.key_kind_quota(spec) == quota


def test_defaults_by_region_and_operation() -> None:
    assert quotas.default_rate(quotas.SYMMETRIC, "us-east-1") == 50_000
    assert quotas.default_rate(quotas.SYMMETRIC, "eu-central-1") == 20_000
    assert quotas.default_rate(quotas.SYMMETRIC, "sa-east-1") == 10_000
    assert quotas.default_rate(quotas.RSA, "us-east-1") == 1000
    assert quotas.default_rate("kms:CreateKey", "us-east-1") == 5
    assert quotas.default_rate("ssm:GetParameter", "us-east-1") == 40
    assert quotas.default_rate("kms:NoSuchThing", "us-east-1") is None
    assert quotas.fixed_quota("kms", "CreateKey") == "kms:CreateKey"
    assert quotas.fixed_quota("ssm", "GetParametersByPath") == quotas.SSM_READS
    assert quotas.fixed_quota("ssm", "DescribeParameters") is None  # no published quota
    assert quotas.fixed_quota("iam", "CreateUser") is None
    names = [q.name for q in quotas.catalogue("us-east-1")]
    assert len(names) == len(set(names)) and all(quotas.is_quota(n) for n in names)


def test_a_bucket_holds_a_second_and_refills_at_the_rate() -> None:
    assert quotas.capacity(0.25) == 1.0
    assert quotas.capacity(40) == 40
    assert quotas.refill(0.0, 10.0, 10.5, 4.0) == 2.0
    assert quotas.refill(3.0, 10.0, 100.0, 4.0) == 4.0  # never more than a second's worth
    assert quotas.refill(1.0, 10.0, 9.0, 4.0) == 1.0  # a clock that goes back adds nothing
