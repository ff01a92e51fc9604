"""Every call through a real server leaves a CloudTrail record (issue 4): its shape for
allowed, denied, failed and unauthenticated calls of KMS, SSM, IAM and STS; no secret in
any stored record; GetKeyLastUsage; background events; failing closed; kill -9."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.conftest import BACKENDS
from tests.support import audit_db
from tests.support.backends import backend_database
from tests.support.iam import allow, make_user
from tests.support.server import (
    ACCESS_KEY_ID,
    ACCOUNT_ID,
    CLOCK_ENV,
    COFRE,
    REGION,
    CofreServer,
)

ROOT_ARN = f"arn:aws:iam::{ACCOUNT_ID}:root"
JOURNAL_FILE_BYTES = 8192  # the own server's journal files: a few dozen calls each


def _settle(server: CofreServer) -> None:
    """Let the server bring its audit journals into the chain (LookupEvents does)."""
    server.client("cloudtrail").lookup_events(MaxResults=1)


def _journals(server: CofreServer) -> bytes:
    """The raw bytes of the server's audit journals."""
    folder = server.data_dir / "audit-journal"
    return b"".join(path.read_bytes() for path in sorted(folder.glob("*.journal")))


def _events(server: CofreServer) -> dict[str, list[dict[str, Any]]]:
    """Stored records by requestID."""
    _settle(server)
    found: dict[str, list[dict[str, Any]]] = {}
    for event in audit_db.stored_events(server.data_dir, server.database):
        found.setdefault(event.get("requestID", ""), []).append(event)
    return found


def _record(server: CofreServer, response_or_error: Any) -> dict[str, Any]:
    if isinstance(response_or_error, ClientError):
        request_id = response_or_error.response["ResponseMetadata"]["RequestId"]
    else:
        request_id = response_or_error["ResponseMetadata"]["RequestId"]
    [event] = _events(server)[request_id]
    return event


def _fails(call: Any, **params: Any) -> ClientError:
    with pytest.raises(ClientError) as info:
        call(**params)
    return info.value


def test_kms_calls_have_cloudtrail_records(server: CofreServer) -> None:
    kms = server.client("kms")
    created = kms.create_key(Description="audited")
    arn = created["KeyMetadata"]["Arn"]
    context = {"app": "billing"}
    encrypted = kms.encrypt(KeyId=arn, Plaintext=b"top secret", EncryptionContext=context)

    event = _record(server, created)
    assert event["eventName"] == "CreateKey" and event["readOnly"] is False
    assert event["requestParameters"]["description"] == "audited"
    assert event["responseElements"]["keyMetadata"]["arn"] == arn

    event = _record(server, encrypted)
    assert event["eventVersion"] == "1.11"
    assert event["userIdentity"] == {
        "type": "Root",
        "principalId": ACCOUNT_ID,
        "arn": ROOT_ARN,
        "accountId": ACCOUNT_ID,
        "accessKeyId": ACCESS_KEY_ID,
    }
    assert event["eventSource"] == "kms.amazonaws.com" and event["eventName"] == "Encrypt"
    assert event["awsRegion"] == REGION and event["sourceIPAddress"] == "127.0.0.1"
    assert event["userAgent"].startswith("Boto3/")
    assert event["requestParameters"] == {"keyId": arn, "encryptionContext": context}
    assert event["responseElements"] is None  # read-only: no response, as CloudTrail
    assert event["readOnly"] is True and event["eventType"] == "AwsApiCall"
    assert event["resources"] == [{"accountId": ACCOUNT_ID, "type": "AWS::KMS::Key", "ARN": arn}]
    assert event["recipientAccountId"] == ACCOUNT_ID and event["managementEvent"] is True
    assert "errorCode" not in event

    # by alias: the record names the key behind it (resources come from authorization)
    kms.create_alias(AliasName="alias/audited-" + arn[-12:], TargetKeyId=arn)
    by_alias = kms.encrypt(KeyId="alias/audited-" + arn[-12:], Plaintext=b"x")
    assert _record(server, by_alias)["resources"][0]["ARN"] == arn

    kms.disable_key(KeyId=arn)
    failed = _fails(kms.encrypt, KeyId=arn, Plaintext=b"x")
    event = _record(server, failed)
    assert event["errorCode"] == "DisabledException" and event["errorMessage"]
    assert event["resources"][0]["ARN"] == arn
    kms.enable_key(KeyId=arn)

    missing = _fails(kms.describe_key, KeyId="alias/nothing-here")
    assert _record(server, missing)["errorCode"] == "NotFoundException"


def test_denied_and_unauthenticated_calls_are_recorded(server: CofreServer) -> None:
    kms = server.client("kms")
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    user = make_user(server, allow("kms:DescribeKey"))
    denied = _fails(user.client(server).encrypt, KeyId=arn, Plaintext=b"x")
    event = _record(server, denied)
    assert event["errorCode"] == "AccessDeniedException"
    assert event["userIdentity"]["type"] == "IAMUser"
    assert event["userIdentity"]["userName"] == user.name
    assert event["userIdentity"]["arn"] == user.arn

    wrong = server.client("kms", aws_secret_access_key="not-the-secret-" + "x" * 25)
    error = _fails(wrong.list_keys)
    event = _record(server, error)
    assert event["errorCode"] == "InvalidSignatureException"
    assert event["userIdentity"] == {
        "type": "Unknown",
        "accountId": ACCOUNT_ID,
        "accessKeyId": ACCESS_KEY_ID,
    }
    unknown = server.client("kms", aws_access_key_id="AKIAUNKNOWNUNKNOWN00")
    event = _record(server, _fails(unknown.list_keys))
    assert event["errorCode"] == "UnrecognizedClientException"
    assert event["recipientAccountId"] == ""  # nobody's: in the chain, in no lookup


def test_iam_sts_and_ssm_calls_are_recorded(server: CofreServer) -> None:
    iam = server.client("iam")
    name = "audited-" + str(time.monotonic_ns())
    created = iam.create_user(UserName=name)
    event = _record(server, created)
    assert (event["eventSource"], event["eventName"]) == ("iam.amazonaws.com", "CreateUser")
    assert event["requestParameters"] == {"userName": name}
    key = iam.create_access_key(UserName=name)
    event = _record(server, key)
    assert "secretAccessKey" not in json.dumps(event)
    identity = server.client("sts").get_caller_identity()
    event = _record(server, identity)
    assert (event["eventSource"], event["readOnly"]) == ("sts.amazonaws.com", True)

    ssm = server.client("ssm")
    put = ssm.put_parameter(Name=f"/audit/{name}", Value="s3cr3t-value", Type="SecureString")
    event = _record(server, put)
    assert event["eventSource"] == "ssm.amazonaws.com" and event["eventName"] == "PutParameter"
    assert event["requestParameters"]["name"] == f"/audit/{name}"
    assert "value" not in event["requestParameters"]
    got = ssm.get_parameter(Name=f"/audit/{name}", WithDecryption=True)
    event = _record(server, got)
    assert event["requestParameters"] == {"name": f"/audit/{name}", "withDecryption": True}
    assert any(r["type"] == "AWS::SSM::Parameter" for r in event["resources"])
    missing = _fails(ssm.get_parameter, Name="/audit/none")
    assert _record(server, missing)["errorCode"] == "ParameterNotFound"


def test_no_secret_reaches_the_trail(server: CofreServer) -> None:
    kms = server.client("kms")
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    secrets = [b"plaintext-marker-" + str(time.monotonic_ns()).encode()]
    blob = kms.encrypt(KeyId=arn, Plaintext=secrets[0])["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == secrets[0]
    secrets.append(kms.generate_data_key(KeyId=arn, KeySpec="AES_256")["Plaintext"])
    secrets.append(kms.generate_random(NumberOfBytes=32)["Plaintext"])
    value = "ssm-secret-" + str(time.monotonic_ns())
    ssm = server.client("ssm")
    ssm.put_parameter(Name="/audit/secret" + value[-6:], Value=value, Type="SecureString")
    ssm.get_parameter(Name="/audit/secret" + value[-6:], WithDecryption=True)
    secrets.append(value.encode())
    user = make_user(server)
    secrets.append(user.secret_access_key.encode())
    journals = _journals(server)  # what the records went through on their way
    assert secrets[0] not in journals
    for operation in ("Encrypt", "Decrypt", "GenerateDataKey", "GenerateRandom", "GetParameter"):
        assert b'\\"%s\\"' % operation.encode() in journals  # the calls' contexts
    _settle(server)
    bodies = b"\n".join(audit_db.stored_bodies(server.data_dir, server.database)) + journals
    assert bodies.count(b'"requestID"') >= 8
    for secret in secrets:
        for form in (secret, base64.b64encode(secret), base64.b64encode(secret)[:-4]):
            assert form not in bodies
    if server.database is None:  # and nothing in the raw database file either
        raw = (server.data_dir / "cofre.db").read_bytes()
        wal = server.data_dir / "cofre.db-wal"
        raw += wal.read_bytes() if wal.exists() else b""
        for secret in secrets:
            assert secret not in raw and base64.b64encode(secret) not in raw


def test_get_key_last_usage_answers_from_the_trail(server: CofreServer) -> None:
    kms = server.client("kms")
    key = kms.create_key()["KeyMetadata"]
    unused = kms.get_key_last_usage(KeyId=key["KeyId"])
    assert unused["KeyLastUsage"] == {} and unused["KeyId"] == key["KeyId"]
    assert unused["KeyCreationDate"] == key["CreationDate"]
    assert unused["TrackingStartDate"] >= key["CreationDate"]
    encrypted = kms.encrypt(KeyId=key["Arn"], Plaintext=b"x")
    used = kms.get_key_last_usage(KeyId=key["Arn"])["KeyLastUsage"]
    event = _record(server, encrypted)
    assert used["Operation"] == "Encrypt"
    assert used["CloudTrailEventId"] == event["eventID"]
    assert used["KmsRequestId"] == encrypted["ResponseMetadata"]["RequestId"]
    kms.create_alias(AliasName="alias/usage-" + key["KeyId"][:8], TargetKeyId=key["KeyId"])
    error = _fails(kms.get_key_last_usage, KeyId="alias/usage-" + key["KeyId"][:8])
    assert error.response["Error"]["Code"] in ("NotFoundException", "ValidationException")


def test_lookup_events_finds_the_calls(server: CofreServer) -> None:
    kms = server.client("kms")
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    encrypted = kms.encrypt(KeyId=arn, Plaintext=b"x")
    cloudtrail = server.client("cloudtrail")
    events = cloudtrail.lookup_events(
        LookupAttributes=[{"AttributeKey": "ResourceName", "AttributeValue": arn}]
    )["Events"]
    assert [e["EventName"] for e in events] == ["Encrypt", "CreateKey"]
    body = json.loads(events[0]["CloudTrailEvent"])
    assert body["requestID"] == encrypted["ResponseMetadata"]["RequestId"]


# background events, failing closed, kill -9: a server of their own -----------------------
@pytest.fixture(params=BACKENDS)
def own_server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CofreServer]:
    with backend_database(request.param) as database:
        env = {
            CLOCK_ENV: str(tmp_path / "clock"),
            "COFRE_JOB_INTERVAL": "0.2",
            "COFRE_AUDIT_JOURNAL_FILE_BYTES": str(JOURNAL_FILE_BYTES),  # files fill fast
        }
        srv = CofreServer(tmp_path / "data", database=database, env=env).start()
        try:
            yield srv
        finally:
            srv.stop()


def _wait_for(predicate: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = predicate()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("timed out")


def test_background_work_is_recorded_as_service_events(own_server: CofreServer) -> None:
    kms = own_server.client("kms")
    rotated = kms.create_key()["KeyMetadata"]
    kms.enable_key_rotation(KeyId=rotated["KeyId"], RotationPeriodInDays=90)
    deleted = kms.create_key()["KeyMetadata"]
    kms.schedule_key_deletion(KeyId=deleted["KeyId"], PendingWindowInDays=7)

    def service_events() -> list[dict[str, Any]]:
        stored = audit_db.stored_events(own_server.data_dir, own_server.database)
        return [e for e in stored if e["eventType"] == "AwsServiceEvent"]

    with own_server.clock_offset(91 * 86400):
        found = _wait_for(lambda: len(service_events()) >= 2 and service_events())
    by_name = {e["eventName"]: e for e in found}
    assert by_name["RotateKey"]["resources"][0]["ARN"] == rotated["Arn"]
    assert by_name["DeleteKey"]["resources"][0]["ARN"] == deleted["Arn"]
    event = by_name["RotateKey"]
    assert event["userIdentity"] == {"accountId": ACCOUNT_ID, "invokedBy": "AWS Internal"}
    assert event["sourceIPAddress"] == "AWS Internal"
    assert event["serviceEventDetails"] == {"keyId": rotated["KeyId"]}
    assert event["recipientAccountId"] == ACCOUNT_ID and event["readOnly"] is False


def test_an_unwritable_trail_fails_calls_closed(own_server: CofreServer) -> None:
    kms, ssm = own_server.client("kms"), own_server.client("ssm")
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    keys_before = len(kms.list_keys()["Keys"])
    # read-only calls are journaled first, into space their journal file reserved: a
    # full disk stops them once a new file is needed; the chain's table refusing rows
    # stops the others (their records commit with their effect)
    audit_db.block_audit(own_server.data_dir, own_server.database, True)
    try:
        with own_server.full_disk():
            answered = 0
            for _ in range(8 * JOURNAL_FILE_BYTES // 300):  # every file full several times
                try:
                    kms.encrypt(KeyId=arn, Plaintext=b"x")
                except ClientError as failed:
                    error = failed
                    break
                answered += 1
            else:
                raise AssertionError("calls went on being answered with the disk full")
            assert answered <= 2 * JOURNAL_FILE_BYTES // 300, answered  # a file per worker
            assert error.response["Error"]["Code"] == "KMSInternalException"
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 500
            error = _fails(kms.encrypt, KeyId=arn, Plaintext=b"x")
            assert error.response["Error"]["Code"] == "KMSInternalException"
            error = _fails(ssm.get_parameter, Name="/closed/none")
            assert error.response["Error"]["Code"] == "InternalServerError"
        assert _fails(kms.create_key).response["Error"]["Code"] == "KMSInternalException"
        error = _fails(ssm.put_parameter, Name="/closed/p", Value="v", Type="String")
        assert error.response["Error"]["Code"] == "InternalServerError"
        assert _fails(kms.disable_key, KeyId=arn).response["Error"]["Code"] == (
            "KMSInternalException"
        )
    finally:
        audit_db.block_audit(own_server.data_dir, own_server.database, False)
    # nothing the failed calls would have done happened
    assert len(kms.list_keys()["Keys"]) == keys_before
    assert kms.describe_key(KeyId=arn)["KeyMetadata"]["Enabled"] is True
    assert kms.encrypt(KeyId=arn, Plaintext=b"x")["KeyId"] == arn
    assert _fails(ssm.get_parameter, Name="/closed/p").response["Error"]["Code"] == (
        "ParameterNotFound"
    )


def test_every_acknowledged_call_survives_kill_9(own_server: CofreServer) -> None:
    kms = own_server.client("kms")
    arn = kms.create_key()["KeyMetadata"]["Arn"]
    acknowledged: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def work(create: bool) -> None:
        client = own_server.client("kms")
        while not stop.is_set():
            try:
                if create:
                    response = client.create_key(Description="load")
                else:
                    response = client.encrypt(KeyId=arn, Plaintext=b"x" * 64)
            except Exception:  # the server is gone
                return
            with lock:
                acknowledged.append(response["ResponseMetadata"]["RequestId"])

    threads = [threading.Thread(target=work, args=(n == 0,)) for n in range(6)]
    for thread in threads:
        thread.start()
    _wait_for(lambda: len(acknowledged) > 300, timeout=60)
    own_server.kill()
    stop.set()
    for thread in threads:
        thread.join(timeout=30)
    own_server.start()
    recorded = set(_events(own_server))
    with lock:
        missing = [rid for rid in acknowledged if rid not in recorded]
    assert not missing, f"{len(missing)} of {len(acknowledged)} acknowledged calls unrecorded"
    own_server.stop()
    command = [COFRE, "audit", "verify", "--data-dir", str(own_server.data_dir)]
    if own_server.database:
        command += ["--database", own_server.database]
    env = {**os.environ, "COFRE_ROOT_KEY": own_server.root_key}
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_each_record_names_its_own_user_agent_and_region(server: CofreServer) -> None:
    """Calls of one credential from clients that differ in user agent or Region keep
    their own in their records (the server reuses what it learns of a caller)."""
    arn = server.client("kms").create_key()["KeyMetadata"]["Arn"]
    answers = []
    for agent in ("first-app/1.0", "second-app/2.0", "first-app/1.0"):
        kms = server.client("kms", config=Config(user_agent_extra=agent))
        answers.append((agent, kms.encrypt(KeyId=arn, Plaintext=b"x")))
    west = server.client("kms", region_name="eu-west-1")
    missing = _fails(west.encrypt, KeyId=arn, Plaintext=b"x")  # that key is in us-east-1
    _settle(server)
    for agent, answer in answers:
        assert _record(server, answer)["userAgent"].endswith(agent)
    assert _record(server, missing)["awsRegion"] == "eu-west-1"
