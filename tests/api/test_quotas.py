"""Request quotas as AWS's (ADR 20): a client above its account's rate gets
``ThrottlingException`` (HTTP 400, AWS's message), boto3's standard retry mode gets
through, other accounts go on unaffected, and the limit holds across the workers of a
node. Rates are set small with ``cofre quotas set``; the defaults are AWS's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.support.server import (
    ACCESS_KEY_ID,
    ACCOUNT_ID,
    REGION,
    SECRET_ACCESS_KEY,
    CofreServer,
)
from tests.support.signing import signed_json

COFRE = str(Path(sys.executable).with_name("cofre"))
TENANT = "444455556666"
KMS_MESSAGE = (
    "You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls."
)


def cofre(server: CofreServer, *args: str) -> Any:
    env = dict(os.environ)
    env.update(
        AWS_ACCESS_KEY_ID=ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY=SECRET_ACCESS_KEY,
        AWS_CONFIG_FILE="/dev/null",
        AWS_SHARED_CREDENTIALS_FILE="/dev/null",
        AWS_ENDPOINT_URL=server.url,
        AWS_DEFAULT_REGION=REGION,
    )
    env.pop("AWS_PROFILE", None)
    done = subprocess.run([COFRE, *args], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


ONCE = Config(retries={"mode": "standard", "total_max_attempts": 1})  # no retry at all


def set_rate(server: CofreServer, account: str, quota: str, rate: str) -> None:
    """Set a rate, and give the other worker the change feed's second to follow."""
    cofre(server, "quotas", "set", "--account-id", account, "--quota", quota, "--rate", rate)
    time.sleep(1.0)


def burst(call: Any, count: int) -> tuple[int, list[ClientError]]:
    """``count`` calls back to back: how many passed, and the throttled ones' errors."""
    passed, throttled = 0, []
    for _ in range(count):
        try:
            call()
            passed += 1
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ThrottlingException", error.response
            throttled.append(error)
    return passed, throttled


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CofreServer]:
    tmp = tmp_path_factory.mktemp("quotas")
    srv = CofreServer(tmp / "data", workers=2, extra_args=("--quotas", "on")).start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def tenant(server: CofreServer) -> Any:
    created = cofre(server, "accounts", "create", "--account-id", TENANT)
    return boto3.client(
        "kms",
        endpoint_url=server.url,
        region_name=REGION,
        aws_access_key_id=created["AccessKeyId"],
        aws_secret_access_key=created["SecretAccessKey"],
        config=ONCE,
    )


def test_over_the_rate_is_throttled_across_workers(server: CofreServer) -> None:
    kms = server.client("kms", config=ONCE)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    set_rate(server, ACCOUNT_ID, "kms:symmetric", "5")
    started = time.monotonic()
    passed, throttled = burst(lambda: kms.encrypt(KeyId=key_id, Plaintext=b"q"), 40)
    elapsed = time.monotonic() - started
    assert throttled, "nothing was throttled"
    # One bucket for the node (both workers): a second's worth, then the rate. A limit
    # split per worker or one bucket per process would let about twice as many through.
    assert passed <= 5 + 5 * elapsed + 2
    error = throttled[0].response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Message"] == KMS_MESSAGE
    set_rate(server, ACCOUNT_ID, "kms:symmetric", "default")


def test_standard_retries_get_through(server: CofreServer) -> None:
    set_rate(server, ACCOUNT_ID, "kms:symmetric", "4")
    try:
        patient = server.client(
            "kms", config=Config(retries={"mode": "standard", "max_attempts": 10})
        )
        key_id = patient.create_key()["KeyMetadata"]["KeyId"]
        for _ in range(16):  # four seconds' worth at the rate
            patient.encrypt(KeyId=key_id, Plaintext=b"retry")
    finally:
        set_rate(server, ACCOUNT_ID, "kms:symmetric", "default")


def test_other_accounts_are_not_throttled(server: CofreServer, tenant: Any) -> None:
    kms = server.client("kms", config=ONCE)
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    tenant_key = tenant.create_key()["KeyMetadata"]["KeyId"]
    set_rate(server, ACCOUNT_ID, "kms:symmetric", "2")
    try:
        _, throttled = burst(lambda: kms.encrypt(KeyId=key_id, Plaintext=b"a"), 20)
        assert throttled
        passed, throttled = burst(lambda: tenant.encrypt(KeyId=tenant_key, Plaintext=b"b"), 20)
        assert passed == 20 and not throttled
    finally:
        set_rate(server, ACCOUNT_ID, "kms:symmetric", "default")


def test_quotas_by_key_kind_and_control_plane(server: CofreServer) -> None:
    kms = server.client("kms", config=ONCE)
    rsa = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    symmetric = kms.create_key()["KeyMetadata"]["KeyId"]
    set_rate(server, ACCOUNT_ID, "kms:rsa", "1")
    try:
        _, throttled = burst(
            lambda: kms.sign(KeyId=rsa, Message=b"m", SigningAlgorithm="RSASSA_PSS_SHA_256"),
            10,
        )
        assert throttled  # RSA keys: their own rate
        passed, _ = burst(lambda: kms.encrypt(KeyId=symmetric, Plaintext=b"s"), 10)
        assert passed == 10  # the symmetric rate is untouched
    finally:
        set_rate(server, ACCOUNT_ID, "kms:rsa", "default")
    # A control-plane quota at AWS's default: CreateKey, 5 a second.
    _, throttled = burst(lambda: kms.create_key(Description="burst"), 25)
    assert throttled


def test_parameter_store_has_its_own_quota(server: CofreServer) -> None:
    ssm = server.client("ssm", config=ONCE)
    time.sleep(1.0)  # PutParameter: 3 a second by default
    ssm.put_parameter(Name="/quota/p", Value="v", Type="String")
    set_rate(server, ACCOUNT_ID, "ssm:GetParameter", "1")
    try:
        _, throttled = burst(lambda: ssm.get_parameter(Name="/quota/p"), 10)
        assert throttled
        assert throttled[0].response["Error"]["Message"] == "Rate exceeded"
    finally:
        set_rate(server, ACCOUNT_ID, "ssm:GetParameter", "default")


def test_quotas_list_and_bad_input(server: CofreServer) -> None:
    set_rate(server, ACCOUNT_ID, "kms:CreateAlias", "0.5")
    try:
        listed = cofre(server, "quotas", "list")
        by_name = {q["Quota"]: q for q in listed["Quotas"]}
        assert listed["Enabled"] is True
        assert by_name["kms:CreateAlias"]["Rate"] == 0.5
        assert by_name["kms:CreateAlias"]["Overridden"] is True
        assert by_name["kms:CreateKey"]["Rate"] == 5
        assert by_name["kms:symmetric"]["DefaultRate"] == 50_000  # us-east-1
        assert by_name["ssm:GetParameter"]["DefaultRate"] == 40
    finally:
        set_rate(server, ACCOUNT_ID, "kms:CreateAlias", "default")
    for payload in (
        {"AccountId": ACCOUNT_ID, "Quota": "kms:NoSuchQuota", "Rate": "5"},
        {"AccountId": ACCOUNT_ID, "Quota": "kms:symmetric", "Rate": "-1"},
        {"AccountId": ACCOUNT_ID, "Quota": "kms:symmetric", "Rate": "fast"},
    ):
        body, headers = signed_json(server, "CofreAdmin.SetQuota", payload, service="cofre")
        answer = httpx.post(f"{server.url}/", content=body, headers=headers)
        assert answer.status_code == 400
        assert answer.json()["__type"] == "ValidationException"


def test_quotas_off(tmp_path: Path) -> None:
    srv = CofreServer(tmp_path / "data", extra_args=("--quotas", "off")).start()
    try:
        kms = srv.client("kms", config=ONCE)
        passed, throttled = burst(lambda: kms.create_key(Description="no quota"), 12)
        assert passed == 12 and not throttled
    finally:
        srv.stop()
