"""CloudTrail records built from calls: their shape, and that no secret survives redaction.

The shapes follow the CloudTrail record reference and the KMS examples (Encrypt,
EnableKeyRotation, RotateKey as an AwsServiceEvent). The redaction property runs every
operation of the kms, ssm, iam and sts models, both directions, with random values where
every blob, sensitive or denied member carries a marker: neither the marker nor its base64
may appear in the serialised record.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.loaders import Loader
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cofre.core.audit.chain import canonical_json, index_event
from cofre.core.audit.events import (
    SERVICE_EVENT,
    AuditCall,
    build_event,
    is_read_only,
    key_usages,
    recipients,
)
from cofre.core.audit.redact import DENIED_MEMBERS, ModelRedactor, redact
from cofre.core.audit.resources import resource_arns
from cofre.core.iam.principals import Caller

ACCOUNT = "111122223333"
OTHER = "444455556666"
REGION = "us-west-2"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OTHER_KEY = f"arn:aws:kms:{REGION}:{OTHER}:key/0987dcba-09fe-87dc-65ba-ab0987654321"
T = datetime(2025, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)
MODELS: dict[str, Mapping[str, Any]] = {
    name: Loader().load_service_model(name, "service-2") for name in ("kms", "ssm", "iam", "sts")
}
REDACTOR = ModelRedactor(MODELS.get)
ROOT = Caller(ACCOUNT, f"arn:aws:iam::{ACCOUNT}:root", "AKIAROOT", REGION, "10.0.0.1", "aws-cli/2")
ALICE = Caller(
    ACCOUNT,
    f"arn:aws:iam::{ACCOUNT}:user/Alice",
    "AKIAALICE",
    REGION,
    "10.0.0.2",
    "boto3/1.34",
    user_name="Alice",
    principal_id="AIDAALICE",
)
SESSION = Caller(
    ACCOUNT,
    f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/my-session",
    "ASIASESSION",
    REGION,
    principal_id="AROAADMIN:my-session",
    role_arn=f"arn:aws:iam::{ACCOUNT}:role/ops/Admin",
)


def _call(**changes: Any) -> AuditCall:
    base: dict[str, Any] = {
        "time": T,
        "service": "kms",
        "operation": "Encrypt",
        "region": REGION,
        "caller": ALICE,
        "request_id": "req-1",
        "params": {"KeyId": KEY, "Plaintext": b"secret", "EncryptionContext": {"Dept": "IT"}},
        "output": {
            "KeyId": KEY,
            "CiphertextBlob": b"blob",
            "EncryptionAlgorithm": "SYMMETRIC_DEFAULT",
        },
        "resources": (KEY,),
    }
    base.update(changes)
    return AuditCall(**base)


# the record's shape -----------------------------------------------------------------------
def test_encrypt_by_an_iam_user() -> None:
    event = build_event(_call(), "ev-1", redactor=REDACTOR)
    assert event == {
        "eventVersion": "1.11",
        "userIdentity": {
            "type": "IAMUser",
            "principalId": "AIDAALICE",
            "arn": f"arn:aws:iam::{ACCOUNT}:user/Alice",
            "accountId": ACCOUNT,
            "accessKeyId": "AKIAALICE",
            "userName": "Alice",
        },
        "eventTime": "2025-03-14T09:26:53Z",
        "eventSource": "kms.amazonaws.com",
        "eventName": "Encrypt",
        "awsRegion": REGION,
        "sourceIPAddress": "10.0.0.2",
        "userAgent": "boto3/1.34",
        "requestParameters": {"keyId": KEY, "encryptionContext": {"Dept": "IT"}},
        "responseElements": None,  # cryptographic operations log no response
        "requestID": "req-1",
        "eventID": "ev-1",
        "readOnly": True,
        "resources": [{"accountId": ACCOUNT, "type": "AWS::KMS::Key", "ARN": KEY}],
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": ACCOUNT,
        "eventCategory": "Management",
    }


def test_write_operation_logs_its_response() -> None:
    output = {"KeyMetadata": {"KeyId": "k", "Arn": KEY, "AWSAccountId": ACCOUNT, "CreationDate": T}}
    event = build_event(
        _call(operation="CreateKey", params={"Description": "d"}, output=output, caller=ROOT),
        "ev",
        redactor=REDACTOR,
    )
    assert event["readOnly"] is False
    assert event["responseElements"] == {
        "keyMetadata": {
            "keyId": "k",
            "arn": KEY,
            "aWSAccountId": ACCOUNT,
            "creationDate": "2025-03-14T09:26:53Z",
        }
    }
    assert event["userIdentity"]["type"] == "Root"
    assert "userName" not in event["userIdentity"]
    assert index_event(event).username == "root"


def test_error_and_no_response() -> None:
    event = build_event(
        _call(
            operation="CreateKey",
            output=None,
            error_code="AccessDeniedException",
            error_message="User: x is not authorized",
        ),
        "ev",
        redactor=REDACTOR,
    )
    assert event["errorCode"] == "AccessDeniedException"
    assert event["errorMessage"] == "User: x is not authorized"
    assert event["responseElements"] is None


def test_assumed_role_session_context() -> None:
    event = build_event(_call(caller=SESSION, session_created_at=T), "ev", redactor=REDACTOR)
    identity = event["userIdentity"]
    assert identity["type"] == "AssumedRole"
    assert identity["principalId"] == "AROAADMIN:my-session"
    assert identity["sessionContext"] == {
        "sessionIssuer": {
            "type": "Role",
            "principalId": "AROAADMIN",
            "arn": f"arn:aws:iam::{ACCOUNT}:role/ops/Admin",
            "accountId": ACCOUNT,
            "userName": "Admin",
        },
        "attributes": {"mfaAuthenticated": "false", "creationDate": "2025-03-14T09:26:53Z"},
    }
    assert index_event(event).username == "my-session"


def test_unauthenticated_call() -> None:
    call = _call(caller=None, access_key_id="AKIAUNKNOWN", source_ip="10.9.9.9", user_agent="x",
                 output=None, error_code="UnrecognizedClientException")  # fmt: skip
    event = build_event(call, "ev", redactor=REDACTOR)
    assert event["userIdentity"] == {"type": "Unknown", "accessKeyId": "AKIAUNKNOWN"}
    assert event["recipientAccountId"] == ""
    assert event["sourceIPAddress"] == "10.9.9.9"
    assert recipients(call) == [""]


def test_service_event_as_aws_writes_rotation() -> None:
    call = AuditCall(
        T, "kms", "RotateKey", REGION, None, event_type=SERVICE_EVENT, account_id=ACCOUNT,
        resources=(KEY,), extra={"rotationType": "AUTOMATIC", "keyId": KEY.rsplit("/", 1)[1]},
    )  # fmt: skip
    event = build_event(call, "ev", redactor=REDACTOR)
    assert event["userIdentity"] == {"accountId": ACCOUNT, "invokedBy": "AWS Internal"}
    assert event["sourceIPAddress"] == event["userAgent"] == "AWS Internal"
    assert event["requestParameters"] is None and event["responseElements"] is None
    assert event["eventType"] == "AwsServiceEvent"
    assert event["serviceEventDetails"]["rotationType"] == "AUTOMATIC"
    assert event["readOnly"] is False
    assert "requestID" not in event


def test_cross_account_use_goes_to_both_accounts() -> None:
    call = _call(params={"KeyId": OTHER_KEY}, output={"KeyId": OTHER_KEY}, resources=(OTHER_KEY,))
    assert recipients(call) == [ACCOUNT, OTHER]
    mine = build_event(call, "ev-1", redactor=REDACTOR, shared_event_id="shared")
    theirs = build_event(call, "ev-2", redactor=REDACTOR, recipient=OTHER, shared_event_id="shared")
    assert mine["userIdentity"]["type"] == "IAMUser"
    assert theirs["userIdentity"] == {
        "type": "AWSAccount",
        "principalId": "AIDAALICE",
        "accountId": ACCOUNT,
    }
    assert theirs["recipientAccountId"] == OTHER and mine["recipientAccountId"] == ACCOUNT
    assert mine["sharedEventID"] == theirs["sharedEventID"] == "shared"
    assert [u.key_arn for u in key_usages(call, "ev-1", ACCOUNT)] == []
    assert [u.event_id for u in key_usages(call, "ev-2", OTHER)] == ["ev-2"]
    denied = _call(resources=(OTHER_KEY,), output=None, error_code="AccessDeniedException")
    assert recipients(denied) == [ACCOUNT]  # AWS logs denied cross-account calls there only


def test_call_via_a_service() -> None:
    caller = Caller(ACCOUNT, ALICE.principal_arn, "AKIAALICE", REGION, via_service="ssm")
    event = build_event(_call(caller=caller), "ev", redactor=REDACTOR)
    assert event["sourceIPAddress"] == event["userAgent"] == "ssm.amazonaws.com"
    assert event["userIdentity"]["invokedBy"] == "ssm.amazonaws.com"


def test_read_only_table() -> None:
    assert is_read_only("kms", "Decrypt") and is_read_only("kms", "ListKeys")
    assert is_read_only("ssm", "GetParameter") and is_read_only("sts", "AssumeRole")
    assert not is_read_only("kms", "CreateKey") and not is_read_only("ssm", "PutParameter")


def test_key_usage_only_for_successful_cryptographic_calls() -> None:
    assert [u.operation for u in key_usages(_call(), "ev", ACCOUNT)] == ["Encrypt"]
    assert key_usages(_call(error_code="DisabledException"), "ev", ACCOUNT) == []
    assert key_usages(_call(operation="DescribeKey"), "ev", ACCOUNT) == []


def test_resource_arns_best_effort() -> None:
    key_id = KEY.rsplit("/", 1)[1]
    assert resource_arns("kms", REGION, ACCOUNT, {"KeyId": key_id}, None) == (KEY,)
    assert resource_arns("kms", REGION, ACCOUNT, {"KeyId": "alias/x"}, {"KeyId": KEY}) == (KEY,)
    assert resource_arns("kms", REGION, ACCOUNT, {"KeyId": "alias/x"}, None) == ()
    created = {"KeyMetadata": {"Arn": KEY, "KeyId": key_id}}
    assert resource_arns("kms", REGION, ACCOUNT, {}, created) == (KEY,)
    assert resource_arns("ssm", REGION, ACCOUNT, {"KeyId": key_id}, None) == ()
    mrk = "mrk-1234abcd12ab34cd56ef1234567890ab"  # a multi-Region key id (ReplicateKey)
    replicated = {"ReplicaKeyMetadata": {}}
    assert resource_arns("kms", REGION, ACCOUNT, {"KeyId": mrk}, replicated) == (
        f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{mrk}",
    )


def test_no_redactor_logs_no_parameters() -> None:
    event = build_event(_call(), "ev")
    assert event["requestParameters"] is None


def test_ssm_value_and_sts_token_are_dropped() -> None:
    put = redact(
        MODELS["ssm"],
        "PutParameter",
        {"Name": "/a", "Value": "hunter2", "Type": "SecureString"},
        "input",
    )
    assert put == {"name": "/a", "type": "SecureString"}
    creds = {
        "Credentials": {
            "AccessKeyId": "ASIA",
            "SecretAccessKey": "s",
            "SessionToken": "t",
            "Expiration": T,
        }
    }
    assumed = redact(MODELS["sts"], "AssumeRole", creds, "output")
    assert assumed == {"credentials": {"accessKeyId": "ASIA", "expiration": "2025-03-14T09:26:53Z"}}
    assert redact(MODELS["kms"], "Encrypt", {"Unknown": "x", "KeyId": "k"}, "input") == {
        "keyId": "k"
    }


# the property: no secret survives ------------------------------------------------------------
MARK = "M4RK-s3cr3t-Z"
MARK_B64 = base64.b64encode(MARK.encode()).decode()[:-4]  # the stable part at offset 0
_SCALAR_KINDS = ("string", "integer", "long", "boolean", "float", "double", "timestamp")


def _fill(
    shapes: Mapping[str, Any], name: str, rng: random.Random, depth: int, secret: bool
) -> Any:
    shape = shapes[name]
    kind = shape["type"]
    secret = secret or bool(shape.get("sensitive")) or kind == "blob"
    if kind == "structure":
        out: dict[str, Any] = {}
        if depth < 5:
            for member, ref in shape.get("members", {}).items():
                if rng.random() < 0.8:
                    hidden = secret or bool(ref.get("sensitive")) or member in DENIED_MEMBERS
                    out[member] = _fill(shapes, ref["shape"], rng, depth + 1, hidden)
        out["NotInTheModel"] = MARK
        return out
    if kind == "list":
        return [_fill(shapes, shape["member"]["shape"], rng, depth + 1, secret) for _ in range(2)]
    if kind == "map":
        key = (MARK if secret else "k") + str(rng.randrange(100))
        return {key: _fill(shapes, shape["value"]["shape"], rng, depth + 1, secret)}
    if kind == "blob":
        return MARK.encode() + rng.randbytes(rng.randrange(8))
    if kind == "timestamp":
        return T
    if kind in ("integer", "long"):
        return rng.randrange(1000)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind in ("float", "double"):
        return 1.5
    text = "".join(rng.choice("abcxyz/_-") for _ in range(rng.randrange(1, 10)))
    return MARK + text if secret else text


def _operations() -> list[tuple[str, str]]:
    return [(service, op) for service, model in MODELS.items() for op in model["operations"]]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32))
def test_no_marked_secret_survives_any_operation(seed: int) -> None:
    rng = random.Random(seed)
    kept = 0
    for service, operation in _operations():
        spec = MODELS[service]["operations"][operation]
        shapes = MODELS[service]["shapes"]
        params = _fill(shapes, spec["input"]["shape"], rng, 0, False) if "input" in spec else {}
        output = _fill(shapes, spec["output"]["shape"], rng, 0, False) if "output" in spec else {}
        call = _call(
            service=service, operation=operation, params=params, output=output, read_only=False
        )
        text = canonical_json(build_event(call, "ev", redactor=REDACTOR)).decode()
        assert MARK not in text, (service, operation)
        assert MARK_B64 not in text, (service, operation)
        kept += text.count('Parameters":{') + text.count('Elements":{')
    assert kept > 100  # most operations log something: the property is not vacuous


@pytest.mark.parametrize("where", ["EncryptionContext", "Description"])
def test_marker_where_it_may_be_logged_is_found(where: str) -> None:
    """The detector works: a marker in a member AWS logs does show up."""
    params = {"KeyId": KEY, "EncryptionContext": {"k": "v"}, "Description": "d"}
    params[where] = {"k": MARK} if where == "EncryptionContext" else MARK
    operation = "Encrypt" if where == "EncryptionContext" else "CreateKey"
    text = canonical_json(
        build_event(_call(operation=operation, params=params), "ev", redactor=REDACTOR)
    )
    assert MARK in text.decode()
