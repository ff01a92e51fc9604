"""``cofre serve --log-format json``: every line of the output is one JSON object; each
answered call has an access line with its request id, account, operation, outcome and
latency; no line holds a plaintext, a ciphertext, a secret key or a parameter value."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from tests.support.server import ACCOUNT_ID, SECRET_ACCESS_KEY, CofreServer


@pytest.mark.parametrize("workers", [1, 2])
def test_json_lines_with_an_access_line_per_call(tmp_path: Path, workers: int) -> None:
    srv = CofreServer(
        tmp_path / "data", workers=workers, log_level="info", extra_args=("--log-format", "json")
    )
    srv.start()
    try:
        kms = srv.client("kms")
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        plaintext = b"json-log-plaintext-never-logged"
        blob = kms.encrypt(KeyId=key_id, Plaintext=plaintext)["CiphertextBlob"]
        ids = {kms.decrypt(CiphertextBlob=blob)["ResponseMetadata"]["RequestId"]}
        with pytest.raises(ClientError) as failed:
            kms.describe_key(KeyId="alias/json-log-missing")
        ids.add(failed.value.response["ResponseMetadata"]["RequestId"])
        ssm = srv.client("ssm")
        ssm.put_parameter(Name="/json/log", Value="parameter-value-never-logged", Type="String")
        time.sleep(0.5)
    finally:
        srv.stop()
    text = srv.log.read_text()
    lines = [line for line in text.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line parses
    access = [r for r in records if r.get("logger") == "cofre.access"]
    by_id = {r["request_id"]: r for r in access}
    assert ids <= set(by_id)
    denied = by_id[failed.value.response["ResponseMetadata"]["RequestId"]]
    assert denied["outcome"] == "NotFoundException"
    assert denied["operation"] == "DescribeKey" and denied["service"] == "kms"
    assert denied["account"] == ACCOUNT_ID and denied["status"] == 400
    assert isinstance(denied["latency_ms"], float)
    operations = {(r["service"], r["operation"], r["outcome"]) for r in access}
    assert ("kms", "Encrypt", "ok") in operations
    assert ("ssm", "PutParameter", "ok") in operations
    for secret in (
        plaintext.decode(),
        base64.b64encode(plaintext).decode(),
        base64.b64encode(blob).decode(),
        SECRET_ACCESS_KEY,
        "parameter-value-never-logged",
    ):
        assert secret not in text
